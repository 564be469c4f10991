"""The DAG derived from step signatures, validated with errors that name the step.

Rule (the same in the kernel and in the flow): a step reads the value of a name written by
the latest step *defined* before it, else the flow parameter of that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import FlowDefinitionError, StepLocation

if TYPE_CHECKING:
    from .spec import Flow, StepSpec

PARAMS = "_parameters"  # pseudo-step that "writes" the flow parameters


@dataclass(frozen=True)
class Dag:
    """Steps in topological order (ties broken by definition order) and where inputs come from."""

    flow_name: str
    order: tuple[str, ...]
    upstream: Mapping[str, tuple[str, ...]]  # step -> steps it waits for
    sources: Mapping[str, Mapping[str, str]]  # step -> input name -> producing step or PARAMS
    final: Mapping[str, str]  # artifact name -> step holding its final value

    def downstream_of(self, step: str) -> set[str]:
        """``step`` and every step that (transitively) waits for it."""
        found = {step}
        for name in self.order:
            if any(up in found for up in self.upstream[name]):
                found.add(name)
        return found

    def ancestors(self, step: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.upstream[step])
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(self.upstream[name])
        return seen


def _suggest(name: str, choices: list[str]) -> str:
    import difflib  # only for an error message

    close = difflib.get_close_matches(name, choices, n=1)
    listing = ", ".join(sorted(choices)) or "none"
    prefix = f"did you mean {close[0]!r}? " if close else ""
    return f"{prefix}available names: {listing}"


def build_dag(flow: Flow) -> Dag:
    steps: list[StepSpec] = sorted(flow.steps.values(), key=lambda s: s.order)
    if not steps:
        raise FlowDefinitionError(
            f"flow {flow.name!r} has no steps", hint="decorate functions with @flow.step"
        )
    by_name = {s.name: s for s in steps}
    upstream: dict[str, list[str]] = {}
    sources: dict[str, dict[str, str]] = {}
    for i, step in enumerate(steps):
        loc = StepLocation(step.name)
        deps: list[str] = []
        sources[step.name] = {}
        for name in step.reads:
            producer = next((s.name for s in reversed(steps[:i]) if name in s.outputs), None)
            if producer is None:
                if name in flow.parameters:
                    sources[step.name][name] = PARAMS
                    continue
                later = next((s.name for s in steps[i + 1 :] if name in s.outputs), None)
                if later:
                    raise FlowDefinitionError(
                        f"reads {name!r}, which is only written by the later step {later!r}",
                        location=loc,
                        hint=f"move step {later!r} above {step.name!r}",
                    )
                available = sorted({o for s in steps[:i] for o in s.outputs} | set(flow.parameters))
                what = "foreach list" if step.foreach and name == step.foreach.items else "input"
                raise FlowDefinitionError(
                    f"unknown {what} {name!r}: no earlier step writes it and no parameter has "
                    "that name",
                    location=loc,
                    hint=_suggest(name, available),
                )
            sources[step.name][name] = producer
            if producer not in deps:
                deps.append(producer)
        for name in step.after:
            if name not in by_name:
                raise FlowDefinitionError(
                    f"after={name!r} names no step",
                    location=loc,
                    hint=_suggest(name, list(by_name)),
                )
            if name == step.name:
                raise FlowDefinitionError("a step cannot run after itself", location=loc)
            if name not in deps:
                deps.append(name)
        upstream[step.name] = deps

    order = _toposort(steps, upstream)
    dag = Dag(
        flow_name=flow.name,
        order=order,
        upstream={k: tuple(v) for k, v in upstream.items()},
        sources=sources,
        final={},
    )
    final = _check_writers(dag, steps)
    return Dag(dag.flow_name, dag.order, dag.upstream, dag.sources, final)


def _toposort(steps: list[StepSpec], upstream: dict[str, list[str]]) -> tuple[str, ...]:
    remaining = {s.name: set(upstream[s.name]) for s in steps}
    order: list[str] = []
    while remaining:
        ready = [s.name for s in steps if s.name in remaining and not remaining[s.name]]
        if not ready:
            cycle = sorted(remaining)
            raise FlowDefinitionError(
                f"the steps {', '.join(cycle)} wait for each other (a cycle)",
                location=StepLocation(cycle[0]),
                hint="remove an after= (--after) that points to a later step",
            )
        name = ready[0]
        order.append(name)
        del remaining[name]
        for deps in remaining.values():
            deps.discard(name)
    return tuple(order)


def _check_writers(dag: Dag, steps: list[StepSpec]) -> dict[str, str]:
    """Two writers of one name must be ordered; the final value is the last writer's."""
    writers: dict[str, list[str]] = {}
    for step in steps:
        for name in step.outputs:
            writers.setdefault(name, []).append(step.name)
    ancestors = {s.name: dag.ancestors(s.name) for s in steps}
    final: dict[str, str] = {}
    for name, names in writers.items():
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if a not in ancestors[b] and b not in ancestors[a]:
                    raise FlowDefinitionError(
                        f"steps {a!r} and {b!r} both write {name!r} and neither runs after the "
                        "other, so its final value would depend on timing",
                        location=StepLocation(b),
                        hint=f"rename one output, or order them with after={a!r}",
                    )
        final[name] = max(names, key=dag.order.index)
    return final
