"""Names that share objects across steps: ``b = a`` or ``data = [a, b]`` bound by one step.

In the kernel, a later ``for d in data: d["x"] = 1`` changes ``a`` and ``b`` too, and
``a["x"] = 1`` changes what ``data`` holds. The graph builder records each such binding with
the writer every member had then; a member is still shared while its writer is that one or
the linking step (nothing rebound it since). A step that changes one member then writes all
of them, and gets them all from the linking step, whose task stores them together (so they
keep sharing objects after store and load, as in the kernel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol


class Writer(Protocol):
    @property
    def step(self) -> str | None: ...


class Sharing:
    def __init__(self) -> None:
        self.links: dict[str, tuple[str, Mapping[str, Writer]]] = {}  # bound -> (step, members)
        self.linked_by: dict[str, set[str]] = {}  # member -> names whose link holds it

    def record(self, step: str, bound: str, members: Mapping[str, Writer]) -> None:
        """``bound`` (set by ``step``) shares objects with the other members."""
        if len(members) < 2:
            return
        self.links[bound] = (step, members)
        for other in members:
            if other != bound:
                self.linked_by.setdefault(other, set()).add(bound)

    def groups(
        self, name: str, writer_of: Callable[[str], Writer | None]
    ) -> list[tuple[str, list[str]]]:
        """``(linking step, members still sharing)`` of each link ``name`` still belongs to:
        what ``name`` holds, and what holds ``name``."""
        holders = [self.links[h] for h in sorted(self.linked_by.get(name, ()))]
        if name in self.links:
            holders.append(self.links[name])
        found = []
        for step, members in holders:

            def shares(
                member: str, step: str = step, members: Mapping[str, Writer] = members
            ) -> bool:
                writer = writer_of(member)
                return writer is not None and (writer.step == step or writer is members.get(member))

            if name in members and shares(name):
                found.append((step, [m for m in sorted(members) if shares(m)]))
        return found
