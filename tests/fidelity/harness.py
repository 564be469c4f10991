"""One notebook of the corpus through the kernel and every export path: its verdict.

In a fresh copy of the notebook's folder: the kernel runs it (the truth), the notebook is
saved, then ``%flow export`` (kernel), ``jupyter flow export``, ``jupyter nbconvert --to flow``,
the Lab Export route and ``%flow run`` (kernel) each give a module or a refusal; an agreed
module is run once with ``python MODULE run``; its values and ``%flow run``'s are compared
with the kernel's.
"""

from __future__ import annotations

import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_flow.notebook.api import flow_name_for, module_path_for

from . import paths
from .kernel import CellError, KernelSession, error_of, text_of
from .server import LabServer
from .verdict import Export, RunResult, classify_exports, classify_runs, refusal_or_crash

CORPUS = Path(__file__).resolve().parent / "notebooks"
META = "jupyter_flow_fidelity"


@dataclass(frozen=True)
class Spec:
    """What a corpus notebook's metadata says the harness compares and expects."""

    name: str
    compare: tuple[str, ...]
    expect: str | None
    fails_at: int | None  # the cell whose step fails in the kernel too


@dataclass(frozen=True)
class Result:
    notebook: str
    verdict: str
    detail: str
    paths: str
    seconds: float
    expect: str | None
    kernel_seconds: float = 0.0  # Run All in the kernel (the corpus aims at < 3 s)


def notebooks() -> list[Path]:
    """The corpus: one folder per notebook, named as the notebook."""
    return sorted(p for p in CORPUS.iterdir() if (p / f"{p.name}.ipynb").exists())


def read_spec(notebook: Path) -> Spec:
    import json

    meta = json.loads(notebook.read_text())["metadata"][META]
    return Spec(notebook.stem, tuple(meta["compare"]), meta.get("expect"), meta.get("fails_at"))


def _check_kernel(spec: Spec, errors: list[CellError]) -> None:
    """The corpus itself is right: only the declared failing cell fails in the kernel."""
    wanted = [spec.fails_at] if spec.fails_at else []
    if [e.index for e in errors] != wanted:
        shown = "; ".join(f"cell {e.index}: {e.ename}: {e.evalue}" for e in errors) or "none"
        raise RuntimeError(
            f"corpus notebook {spec.name} is broken: kernel errors {shown}, expected {wanted}"
        )


def _magic_export(kernel: KernelSession, notebook: Path, out: Path) -> Export:
    out.parent.mkdir(parents=True, exist_ok=True)
    cell = kernel.cell(f"%flow export {notebook.name} -o {out}")
    return _kernel_export("magic", cell, out)


def _kernel_export(path: str, cell: Any, module: Path) -> Export:
    found = error_of(cell)
    if found is None:
        if module.exists():
            return Export(path, "module", module=module.read_bytes())
        return Export(path, "crash", f"no error and no module: {text_of(cell)}")
    ename, evalue, tb = found
    if ename != "UsageError":
        return Export(path, "crash", f"{ename}: {evalue}\n{tb}")
    return refusal_or_crash(path, evalue)


def _flow_run(kernel: KernelSession, module: Path, keep: Path) -> tuple[Export, str | None]:
    """(e) ``%flow run``: the module it exported (or its refusal) and, when the export went
    through but the run failed, the error the kernel showed."""
    module.unlink(missing_ok=True)
    cell = kernel.cell("%flow run")
    found = error_of(cell)
    if not module.exists():
        return _kernel_export("run", cell, module), None
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(module, keep)
    export = Export("run", "module", module=keep.read_bytes())
    if found is None:
        return export, None
    ename, evalue, tb = found
    return export, (evalue if ename == "UsageError" else f"{ename}: {evalue}\n{tb}")


def run_notebook(source: Path, work_root: Path, server: LabServer) -> Result:
    """The verdict for one corpus folder (copied under ``work_root``, inside the server's
    root)."""
    started = time.monotonic()
    work = work_root / source.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work)
    notebook = work / f"{source.name}.ipynb"
    spec = read_spec(notebook)
    fid = work / ".fidelity"
    fid.mkdir()
    module = Path(module_path_for(str(notebook)))
    name = module.name
    flow = flow_name_for(str(notebook))
    names = list(spec.compare)

    with KernelSession(notebook) as kernel:
        ran = time.monotonic()
        errors = kernel.run_all()  # and saved: the terminal paths start at once
        kernel_seconds = time.monotonic() - ran
        cli = paths.start_cli(notebook, fid / "cli" / name)
        nbconvert = paths.start_nbconvert(notebook, fid / "nbconvert")
        _check_kernel(spec, errors)
        kernel.dump_values(names, fid / "kernel.pkl")
        magic = _magic_export(kernel, notebook, fid / "magic" / name)
        lab = paths.export_lab(server, notebook, module, fid / "lab" / name)
        run_export, run_error = _flow_run(kernel, module, fid / "run" / name)
        if run_export.kind == "module" and run_error is None:
            kernel.dump_run(work / ".jupyter_flow", flow, names, fid / "run.pkl")
        exports = [
            magic,
            paths.finish_export("cli", cli, fid / "cli" / name),
            paths.finish_export(
                "nbconvert", nbconvert, fid / "nbconvert" / name, traceback_ok=True
            ),
            lab,
            run_export,
        ]
        outcome = classify_exports(exports)
        if outcome is None:
            runs = [_module_run(kernel, exports, module, flow, names), _run_result(run_error, fid)]
            outcome = classify_runs(
                exports, runs, _kernel_values(spec, fid), kernel_failed_cell=spec.fails_at
            )
    return Result(
        spec.name,
        outcome.verdict,
        outcome.detail,
        outcome.paths,
        round(time.monotonic() - started, 1),
        spec.expect,
        round(kernel_seconds, 2),
    )


def _kernel_values(spec: Spec, fid: Path) -> dict[str, Any]:
    with (fid / "kernel.pkl").open("rb") as fh:
        payload = pickle.load(fh)
    if payload["missing"]:
        raise RuntimeError(f"corpus notebook {spec.name}: the kernel has no {payload['missing']}")
    values: dict[str, Any] = payload["values"]
    return values


def _module_run(
    kernel: KernelSession, exports: list[Export], module: Path, flow: str, names: list[str]
) -> RunResult:
    """``python MODULE run`` of the agreed module in the notebook's folder (its own store);
    its final values read back in the kernel with ``jupyter_flow.client``, as a user would."""
    agreed = exports[0].module
    assert agreed is not None
    module.write_bytes(agreed)
    fid = module.parent / ".fidelity"
    store = fid / "store"
    code, out, err = paths.finish(paths.start_module_run(module, store))
    if code != 0:
        return RunResult("module", "failed", (err or out)[-4000:])
    kernel.dump_run(store, flow, names, fid / "module.pkl")
    return paths.read_payload("module", fid / "module.pkl")


def _run_result(run_error: str | None, fid: Path) -> RunResult:
    if run_error is not None:
        return RunResult("run", "failed", run_error)
    return paths.read_payload("run", fid / "run.pkl")
