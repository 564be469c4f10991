"""The flow model that exported modules import: ``Flow``, its ``step`` decorator, parameters.

A step is a plain function. Its parameter names are the artifacts it reads, ``outputs=``
names what it returns, so the DAG is derived from signatures and a hand-edited module stays
a valid flow. Nothing here runs anything: running lives in ``jupyter_flow.runtime``.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import FlowDefinitionError, ParameterError, StepLocation
from .resources import Resources, make_resources, parse_duration
from .secret_params import WHERE_FROM, Secret

if TYPE_CHECKING:
    from ..client import Run
    from .dag import Dag

F = TypeVar("F", bound=Callable[..., Any])

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FOREACH = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([A-Za-z_][A-Za-z0-9_]*)\s*$")
RESERVED_NAMES = frozenset({"flow", "run", "self"})


@dataclass(frozen=True)
class Foreach:
    """``foreach="item in items"``: one task per element of ``items``, bound to ``item``."""

    item: str
    items: str

    @classmethod
    def parse(cls, text: str, *, location: StepLocation | None = None) -> Foreach:
        match = _FOREACH.match(text)
        if not match:
            raise FlowDefinitionError(
                f"foreach {text!r} is not of the form 'ITEM in LIST'",
                location=location,
                hint='write e.g. foreach="params in grid"',
            )
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.item} in {self.items}"


@dataclass(frozen=True)
class Parameter:
    """A flow parameter: its default fixes its type for ``--param`` conversion."""

    name: str
    default: Any

    @property
    def type_name(self) -> str:
        return "secret" if self.secret else type(self.default).__name__

    @property
    def secret(self) -> Secret | None:
        return self.default if isinstance(self.default, Secret) else None

    def refuse_value(self) -> ParameterError:
        """A secret's value is never given: it would be stored (and on a command line,
        shown by ``ps`` to every user of the machine)."""
        env = self.secret.env if self.secret else "?"
        return ParameterError(
            f"parameter {self.name!r} is a secret: its value is read from ${env} in each "
            "task and is never given as a parameter (it would be stored in plain text)",
            hint=f"set {env} instead: {WHERE_FROM}",
        )

    def convert(self, text: str) -> Any:
        """Convert a command-line string to this parameter's type."""
        default = self.default
        try:
            if isinstance(default, bool):
                lowered = text.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if isinstance(default, int):
                return int(text)
            if isinstance(default, float):
                return float(text)
            if isinstance(default, list | dict | tuple):
                value = json.loads(text)
                expected = list if isinstance(default, tuple) else type(default)
                if not isinstance(value, expected):
                    raise ValueError(text)
                return tuple(value) if isinstance(default, tuple) else value
            if isinstance(default, str):
                return text
            if default is None:
                try:
                    return json.loads(text)
                except ValueError:
                    return text
        except ValueError:
            pass
        else:
            raise ParameterError(
                f"parameter {self.name!r} has a default of type {self.type_name}, "
                "which cannot be set from the command line",
                hint="use a str, int, float, bool, list or dict default",
            )
        examples = {"bool": "true or false", "list": "[1, 2, 3]", "dict": '{"a": 1}'}
        raise ParameterError(
            f"parameter {self.name!r} expects a {self.type_name}, got {text!r}",
            hint=f"e.g. --param {self.name}={examples.get(self.type_name, repr(default))}",
        )


@dataclass(frozen=True)
class StepSpec:
    """One step as declared: the function plus everything the runtime needs to know."""

    name: str
    func: Callable[..., Any] = field(compare=False, repr=False)
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    resources: Resources = Resources()
    retries: int = 0
    timeout: float | None = None
    catch: bool = False
    image: str | None = None
    packages: tuple[str, ...] = ()
    foreach: Foreach | None = None
    after: tuple[str, ...] = ()
    order: int = 0

    @property
    def reads(self) -> tuple[str, ...]:
        """Artifact names this step needs from upstream (the foreach list, not its item)."""
        names = [n for n in self.inputs if not (self.foreach and n == self.foreach.item)]
        if self.foreach and self.foreach.items not in names:
            names.append(self.foreach.items)
        return tuple(names)

    @property
    def location(self) -> StepLocation:
        return StepLocation(self.name)


def _as_names(value: str | Iterable[str] | None, what: str, loc: StepLocation) -> tuple[str, ...]:
    if value is None:
        return ()
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value)
    for name in names:
        if not isinstance(name, str) or not _IDENT.match(name):
            raise FlowDefinitionError(
                f"{what} name {name!r} is not a Python identifier", location=loc
            )
    if len(set(names)) != len(names):
        raise FlowDefinitionError(f"{what} names {names} repeat a name", location=loc)
    return tuple(names)


class Flow:
    """A named flow: parameters plus the steps registered with ``@flow.step``."""

    def __init__(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        module_file: str | None = None,
    ) -> None:
        if not _IDENT.match(name):
            raise FlowDefinitionError(
                f"flow name {name!r} is not an identifier", hint="use e.g. TaxiFlow"
            )
        self.name = name
        self.parameters: dict[str, Parameter] = {}
        for key, default in (parameters or {}).items():
            if not _IDENT.match(key):
                raise FlowDefinitionError(f"parameter name {key!r} is not an identifier")
            self.parameters[key] = Parameter(key, default)
        self.steps: dict[str, StepSpec] = {}
        self.prelude_function: Callable[[], Any] | None = None
        if module_file is None:
            caller = sys._getframe(1).f_globals
            module_file = caller.get("__file__")
        self.module_file: str | None = str(Path(module_file).resolve()) if module_file else None

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, steps={list(self.steps)})"

    def step(
        self,
        func: F | None = None,
        *,
        name: str | None = None,
        cpu: str | float | None = None,
        memory: str | int | None = None,
        gpu: int | str | None = None,
        retries: int = 0,
        timeout: str | float | None = None,
        catch: bool = False,
        image: str | None = None,
        packages: str | Sequence[str] | None = None,
        foreach: str | None = None,
        outputs: str | Sequence[str] | None = None,
        after: str | Sequence[str] | None = None,
    ) -> Any:
        """Register a step. Usable bare (``@flow.step``) or with options."""

        def register(fn: F) -> F:
            step_name = name or fn.__name__
            loc = StepLocation(step_name)
            if not _IDENT.match(step_name):
                raise FlowDefinitionError("step name is not an identifier", location=loc)
            if step_name in self.steps:
                raise FlowDefinitionError(
                    "two steps have this name", location=loc, hint="rename one of them"
                )
            signature = inspect.signature(fn)
            inputs = []
            for param in signature.parameters.values():
                if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                    raise FlowDefinitionError(
                        f"parameter {param.name!r} is *args/**kwargs or positional-only",
                        location=loc,
                        hint="a step's parameters are the artifact names it reads",
                    )
                inputs.append(param.name)
            each = Foreach.parse(foreach, location=loc) if foreach else None
            if each and each.item not in inputs:
                raise FlowDefinitionError(
                    f"foreach item {each.item!r} is not a parameter of the step function",
                    location=loc,
                    hint=f"add {each.item!r} to the function's parameters",
                )
            if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
                raise FlowDefinitionError(
                    f"retries={retries!r} must be a whole number >= 0", location=loc
                )
            pkgs = packages.split() if isinstance(packages, str) else list(packages or ())
            spec = StepSpec(
                name=step_name,
                func=fn,
                inputs=tuple(inputs),
                outputs=_as_names(outputs, "output", loc),
                resources=make_resources(cpu, memory, gpu, location=loc),
                retries=retries,
                timeout=parse_duration(timeout, location=loc),
                catch=bool(catch),
                image=image,
                packages=tuple(pkgs),
                foreach=each,
                after=_as_names(after, "after", loc),
                order=len(self.steps),
            )
            self.steps[step_name] = spec
            return fn

        if func is not None:
            return register(func)
        return register

    def prelude(self, func: F) -> F:
        """Register the function every task attempt calls before it loads its inputs.

        It holds what the notebook sets outside its steps (seeds, options): workers are
        reused across tasks and the kernel's state does not exist in a task, so each task
        starts from it, as every step in the notebook started from it.
        """
        where = getattr(func, "__name__", repr(func))
        if self.prelude_function is not None:
            first = getattr(self.prelude_function, "__name__", repr(self.prelude_function))
            raise FlowDefinitionError(
                f"flow {self.name!r} has two preludes, {first!r} and {where!r}",
                hint="a flow has one @flow.prelude: merge them into one function",
            )
        if not callable(func):
            raise FlowDefinitionError(f"@flow.prelude decorates a function, not {where}")
        try:
            required = [
                p.name
                for p in inspect.signature(func).parameters.values()
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
        except (TypeError, ValueError):
            required = []
        if required:
            raise FlowDefinitionError(
                f"the prelude {where!r} takes arguments ({', '.join(required)})",
                hint="a prelude takes no arguments: it only sets state (seeds, options)",
            )
        self.prelude_function = func
        return func

    def dag(self) -> Dag:
        """The validated DAG (raises ``FlowDefinitionError`` with the step named)."""
        from .dag import build_dag

        return build_dag(self)

    def resolve_parameters(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated by overrides; string overrides are converted to the default's type."""
        values = {p.name: p.default for p in self.parameters.values()}
        for key, value in (overrides or {}).items():
            if key not in self.parameters:
                known = ", ".join(self.parameters) or "none"
                raise ParameterError(
                    f"unknown parameter {key!r}", hint=f"this flow's parameters: {known}"
                )
            if self.parameters[key].secret:
                raise self.parameters[key].refuse_value()
            values[key] = self.parameters[key].convert(value) if isinstance(value, str) else value
        return values

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        root: str | None = None,
        executor: str | None = None,
        max_workers: int | None = None,
        echo: bool = False,
    ) -> Run:
        """Run the flow and return the finished run; raises ``RunFailed`` if a step fails.

        Step functions are imported from this flow's module file by the workers, so the
        flow must be defined in a module (not typed into a REPL).
        """
        from ..runtime.api import run_flow

        return run_flow(
            self, params=params, root=root, executor=executor, max_workers=max_workers, echo=echo
        )

    def resume(
        self,
        run_id: str | None = None,
        *,
        from_step: str | None = None,
        root: str | None = None,
        executor: str | None = None,
        max_workers: int | None = None,
        echo: bool = False,
    ) -> Run:
        """Continue a run (default: the latest), reusing its finished tasks; with
        ``from_step``, recompute that step and everything downstream of it."""
        from ..runtime.api import LATEST, run_flow

        return run_flow(
            self,
            root=root,
            executor=executor,
            max_workers=max_workers,
            echo=echo,
            resume=run_id or LATEST,
            resume_step=from_step,
        )

    def main(self, argv: Sequence[str] | None = None) -> None:
        """``python my_flow.py run|resume|show|graph|runs|logs``."""
        from ..cli import flow_main

        flow_main(self, argv)
