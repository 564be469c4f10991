"""What the driver hands an executor: one task attempt, fully described, JSON-serializable.

A remote task needs nothing else: the store URL, where the code is, which step, which
artifacts are its inputs. The same spec runs in a local worker or in a container
(``python -m jupyter_flow.task SPEC_JSON``); remote executors hand it over as a blob in the
store (``to_blob``), since a join's spec grows with its branches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..flow.resources import Resources
from ..store.records import Artifact, from_json, plain

GROUP_FIELDS = ("group", "group_id", "items")


@dataclass(frozen=True)
class Input:
    """One input of a task: a single artifact, or a join (list in foreach item order)."""

    name: str
    artifacts: tuple[Artifact, ...]
    join: bool = False
    item: int | None = None  # foreach: take element ``item`` of the (single) artifact


@dataclass(frozen=True)
class CodeRef:
    """Where the flow module is: a local file, or a code package in the store."""

    module_path: str
    module_name: str
    package_key: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    flow: str
    run_id: str
    step: str
    index: int
    attempt: int
    store_url: str
    code: CodeRef
    inputs: tuple[Input, ...]
    outputs: tuple[str, ...]
    resources: Resources = Resources()
    timeout: float | None = None
    image: str | None = None
    packages: tuple[str, ...] = ()
    foreach_count: int | None = None  # how many tasks the step has (foreach)
    split: tuple[str, ...] = ()  # outputs a later foreach iterates: saved item by item
    environment: str | None = None  # blob of the resolved packages (``environments``)

    @property
    def task_id(self) -> str:
        return f"{self.run_id}/{self.step}/{self.index}/{self.attempt}"

    @property
    def label(self) -> str:
        return self.step if self.foreach_count is None else f"{self.step}[{self.index}]"

    def to_json(self) -> str:
        raw = plain(self)  # asdict without its deep copies: a spec is sent for every task
        for inp in raw["inputs"]:  # keep specs small: omit the unset group fields
            for artifact in inp["artifacts"]:
                for key in GROUP_FIELDS:
                    if artifact[key] is None:
                        del artifact[key]
        for key in ("split", "environment"):  # unset: not in the spec (nor in its key)
            if not raw[key]:
                del raw[key]
        return json.dumps(raw, separators=(",", ":"), sort_keys=True)

    def to_blob(self) -> tuple[str, bytes]:
        """The spec as a blob and its SHA-256 key (what ``bootstrap.store_spec`` stores)."""
        import hashlib  # remote tasks only: ~3 ms of a local run's start-up otherwise

        data = self.to_json().encode()
        return hashlib.sha256(data).hexdigest(), data

    @classmethod
    def from_json(cls, text: str) -> TaskSpec:
        raw = json.loads(text)
        raw["code"] = CodeRef(**raw["code"])
        raw["resources"] = Resources(**raw["resources"])
        raw["inputs"] = tuple(
            Input(
                name=i["name"],
                artifacts=tuple(from_json(Artifact, a) for a in i["artifacts"]),
                join=i["join"],
                item=i["item"],
            )
            for i in raw["inputs"]
        )
        raw["outputs"] = tuple(raw["outputs"])
        raw["packages"] = tuple(raw["packages"])
        raw["split"] = tuple(raw.get("split", ()))
        return cls(**raw)
