"""Import a flow module from a file and find its ``Flow``.

The module is imported under its file's stem (``taxi_flow.py`` -> ``taxi_flow``) with its
folder first on ``sys.path``, so objects of classes it defines pickle under a name that a
notebook can import again, and its sibling project modules import as they would for the user.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..errors import FlowDefinitionError, FlowError
from ..flow.spec import Flow

_loaded: dict[tuple[str, float], ModuleType] = {}


def module_name_for(path: str | Path) -> str:
    return Path(path).stem.replace("-", "_").replace(".", "_")


def import_module_file(path: str | Path, name: str | None = None) -> ModuleType:
    """Import (once per file version) the module at ``path``."""
    file = Path(path).resolve()
    if not file.is_file():
        raise FlowDefinitionError(
            f"flow module {str(path)!r} does not exist",
            hint="pass the path of a Python file that defines `flow = Flow(...)`",
        )
    cache_key = (str(file), file.stat().st_mtime)
    if cache_key in _loaded:
        return _loaded[cache_key]
    name = name or module_name_for(file)
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise FlowDefinitionError(f"cannot import {file} as a Python module")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except FlowError:
        raise
    except SyntaxError as err:
        _restore(name, previous)
        raise FlowDefinitionError(
            f"{file.name}, line {err.lineno}: syntax error: {err.msg}",
            hint="fix the module (or re-export it from its notebook)",
        ) from None
    except Exception as err:
        _restore(name, previous)
        import traceback  # only for a module that fails to import

        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-3))
        raise FlowDefinitionError(
            f"importing {file.name} failed: {type(err).__name__}: {err}",
            hint=f"the module's top level must import cleanly:\n{tb}",
        ) from None
    _loaded[cache_key] = module
    return module


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def find_flow(module: ModuleType, flow_name: str | None = None) -> Flow:
    flows = [v for v in vars(module).values() if isinstance(v, Flow)]
    if flow_name:
        flows = [f for f in flows if f.name == flow_name]
    if len(flows) != 1:
        found = ", ".join(f.name for f in flows) or "none"
        raise FlowDefinitionError(
            f"{getattr(module, '__file__', module.__name__)} must define exactly one Flow"
            + (f" named {flow_name!r}" if flow_name else "")
            + f" (found: {found})",
            hint='define it as `flow = Flow("MyFlow")` at module level',
        )
    flow = flows[0]
    if flow.module_file is None:
        file = getattr(module, "__file__", None)
        flow.module_file = str(Path(file).resolve()) if file else None
    return flow


def load_flow(path: str | Path, flow_name: str | None = None) -> Flow:
    return find_flow(import_module_file(path), flow_name)
