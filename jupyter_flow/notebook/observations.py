"""What the kernel observed when a step cell ran, kept beside the notebook (the sidecar).

Static analysis cannot see ``add_features(df)`` change ``df``, nor which global random state a
step started from; the kernel can. So the kernel writes one JSON file per step cell under
``<notebook folder>/.jupyter_flow/observed/``, and every export path reads it: the verdict of
``jupyter flow export``, nbconvert and the Lab button is the kernel's. The file is keyed by the
step's name and code, not by the notebook: a renamed notebook keeps its observations, a changed
step cell loses them (it was not observed as it is now), and editing the ``%%step`` line's
options (``--outputs``) keeps them. Pure: no kernel, no IPython.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from ..errors import NotebookError
from .cells import Cell, ParsedCell, StepCell, split_cell_magic

VERSION = 1
FOLDER = Path(".jupyter_flow") / "observed"

Verdict = Literal["self-seeded", "from-seed", "diverged", "unseeded"]
VERDICTS: frozenset[str] = frozenset(get_args(Verdict))


@dataclass(frozen=True)
class RandomUse:
    """How a step that drew from one global generator started, in the kernel."""

    verdict: Verdict
    seed: str | None = None  # source of the seed statement the state came from
    after: str | None = None  # who drew since that seed: "step 'a' (In [5])", "cell In [4]"


@dataclass(frozen=True)
class Observation:
    """One step cell, as the kernel last ran it."""

    step: str
    changed: tuple[str, ...] = ()  # changed in place out of sight (aliases included)
    random: tuple[tuple[str, RandomUse], ...] = ()  # generator -> how the step used it
    packages: tuple[str, ...] | None = None  # what ``--packages auto`` resolved to
    notebook: str | None = None
    observed_at: float = 0.0
    execution_count: int | None = None
    ran_on: str | None = None  # ``--on X``: it ran elsewhere, so nothing was watched here
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # unknown keys, kept

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.extra,
            "version": VERSION,
            "step": self.step,
            "notebook": self.notebook,
            "observed_at": self.observed_at,
            "execution_count": self.execution_count,
            "changed": list(self.changed),
            "random": {
                gen: {"verdict": use.verdict, "seed": use.seed, "after": use.after}
                for gen, use in self.random
            },
        }
        if self.packages is not None:
            out["packages"] = list(self.packages)
        if self.ran_on is not None:
            out["ran_on"] = self.ran_on
        return out

    @classmethod
    def from_json(cls, data: Any) -> Observation | None:
        """None for anything this version cannot trust (another version, a damaged file)."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        step, changed, rand = data.get("step"), data.get("changed", []), data.get("random", {})
        if not isinstance(step, str) or not _strings(changed) or not isinstance(rand, dict):
            return None
        uses = []
        for gen, use in rand.items():
            if not isinstance(use, dict) or use.get("verdict") not in VERDICTS:
                return None
            seed, after = use.get("seed"), use.get("after")
            if not all(v is None or isinstance(v, str) for v in (seed, after)):
                return None
            uses.append((str(gen), RandomUse(use["verdict"], seed, after)))
        packages = data.get("packages")
        if packages is not None and not _strings(packages):
            return None
        count = data.get("execution_count")
        when = data.get("observed_at") or 0.0
        known = {"version", "step", "notebook", "observed_at", "execution_count", "changed"}
        return cls(
            step=step,
            changed=tuple(changed),
            random=tuple(uses),
            packages=None if packages is None else tuple(packages),
            notebook=data.get("notebook") if isinstance(data.get("notebook"), str) else None,
            observed_at=float(when) if isinstance(when, int | float) else 0.0,
            execution_count=count if isinstance(count, int) else None,
            ran_on=data.get("ran_on") if isinstance(data.get("ran_on"), str) else None,
            extra={
                k: v for k, v in data.items() if k not in known | {"random", "packages", "ran_on"}
            },
        )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def normalize_body(body: str) -> str:
    """The cell body as the key sees it: no trailing spaces on lines, no trailing blank lines
    (what editors and JupyterLab change without the code changing)."""
    return "\n".join(line.rstrip() for line in body.split("\n")).rstrip("\n")


def step_key(step: str, body: str) -> str:
    """The sidecar key of a step cell: its name and its body after the ``%%step`` line."""
    text = f"{step}\n{normalize_body(body)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def folder_for(notebook_dir: str | os.PathLike[str]) -> Path:
    return Path(notebook_dir) / FOLDER


def write(notebook_dir: str | os.PathLike[str], key: str, obs: Observation) -> Path:
    """Write atomically (temporary file + rename); raises ``OSError`` (read-only folder)."""
    folder = folder_for(notebook_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obs.to_json(), fh, indent=1, sort_keys=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read(notebook_dir: str | os.PathLike[str], key: str) -> Observation | None:
    """The observation of one step cell, or None (never observed, unreadable, other version)."""
    try:
        text = (folder_for(notebook_dir) / f"{key}.json").read_text(encoding="utf-8")
        return Observation.from_json(json.loads(text))
    except (OSError, ValueError):
        return None


# -- applying observations to an export ----------------------------------------------------
GENERATOR_LABELS = {
    "random": "Python's random module",
    "numpy": "numpy's global random generator",
    "torch": "torch's default generator",
    "tensorflow": "tensorflow's global generator",
}
LOCAL_GENERATORS = {
    "random": "rng = random.Random(0)",
    "numpy": "rng = np.random.default_rng(0), or random_state=0 for scikit-learn",
    "torch": "g = torch.Generator().manual_seed(0), passed as generator=g",
}


def random_hint(generator: str) -> str:
    local = LOCAL_GENERATORS.get(generator, "a generator of its own")
    return f"seed inside the step, or give it a local generator ({local})"


RERUN_HINT = "re-run the notebook top to bottom (Restart Kernel and Run All), save, export again"


def cell_key(parsed: StepCell) -> str:
    """The key of a parsed step cell, as the kernel computed it from the magic's body."""
    split = split_cell_magic(parsed.cell.source)
    body = split[2] if split is not None else parsed.cell.source
    return step_key(parsed.options.name, body)


def load(
    cells: Iterable[ParsedCell], notebook_dir: str | os.PathLike[str]
) -> dict[str, Observation]:
    """The sidecar entries of the notebook's step cells that exist (key -> observation)."""
    found: dict[str, Observation] = {}
    for parsed in cells:
        if isinstance(parsed, StepCell):
            key = cell_key(parsed)
            obs = read(notebook_dir, key)
            if obs is not None:
                found[key] = obs
    return found


def apply(
    cells: list[ParsedCell], observed: Mapping[str, Observation]
) -> tuple[list[ParsedCell], dict[str, Observation], list[Cell]]:
    """Cells with what the kernel saw (names changed out of sight as in-place mutations,
    ``--packages auto`` as the pins it resolved); the observation of each step by name; and
    the step cells never observed as they are now."""
    out: list[ParsedCell] = []
    by_step: dict[str, Observation] = {}
    unseen: list[Cell] = []
    can_observe = "observed" in {f.name for f in fields(StepCell)}
    for parsed in cells:
        if not isinstance(parsed, StepCell):
            out.append(parsed)
            continue
        obs = observed.get(cell_key(parsed))
        if obs is None:
            unseen.append(parsed.cell)
            out.append(parsed)
            continue
        if obs.ran_on is None:
            by_step[parsed.options.name] = obs
        else:
            unseen.append(parsed.cell)  # its pins count; what it changed was not watched
        changes: dict[str, Any] = {}
        if can_observe and obs.changed:
            changes["observed"] = obs.changed
        if obs.packages is not None and "auto" in parsed.packages:
            pins = [p for p in parsed.packages if p != "auto"]
            changes["packages"] = tuple(dict.fromkeys([*pins, *obs.packages]))
        out.append(replace(parsed, **changes) if changes else parsed)
    return out, by_step, unseen


def unseen_note(unseen: list[Cell]) -> str | None:
    if not unseen:
        return None
    numbers = [str(c.index) for c in unseen]
    listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
    were = "was" if len(numbers) == 1 else "were"
    return (
        f"{'cell' if len(numbers) == 1 else 'cells'} {listed} {were} not run with the extension "
        "(or changed since): changes made inside function calls and draws from global random "
        "generators cannot be checked; run them in a kernel with %load_ext jupyter_flow, save, "
        "and export again"
    )


_IN_CELL = re.compile(r"cell In \[(?P<count>\d+)\] \((?P<first>'.*'|\".*\")\)$")


def _where(after: str, steps: Mapping[str, Cell], cells: Sequence[Cell]) -> str:
    """The kernel's label in notebook terms: ``step 'a' (In [5])`` -> ``step 'a' (cell 3)``,
    ``cell In [4] ('df.sample(3)')`` -> ``cell 5 ('df.sample(3)')`` when one cell starts so."""
    if after.startswith("step '"):
        name = after[len("step '") :].split("'", 1)[0]
        if name in steps:
            return f"step {name!r} (cell {steps[name].index})"
    found = _IN_CELL.match(after)
    if found is not None:
        try:
            first = ast.literal_eval(found["first"])
        except (ValueError, SyntaxError):
            return after
        matches = [c for c in cells if first and c.first_line.strip()[: len(first)] == first]
        if len(matches) == 1:
            return f"cell {matches[0].index} ({first!r}, In [{found['count']}])"
    return after


def check_random(
    used: Mapping[str, Observation],
    steps: Mapping[str, Cell],
    seeds: Mapping[str, tuple[str, Cell]],
    cells: Sequence[Cell] = (),
) -> tuple[list[NotebookError], list[str]]:
    """Problems and notes of the steps that drew from a global generator in the kernel.

    ``seeds``: generator -> (source, cell) of the prelude's last seed of it, i.e. the state
    every flow task starts from."""
    problems: list[NotebookError] = []
    notes: list[str] = []
    for name, obs in used.items():
        cell = steps.get(name)
        if cell is None:
            continue
        for gen, use in obs.random:
            label = GENERATOR_LABELS.get(gen, f"the global {gen} generator")
            seed = seeds.get(gen)
            if use.verdict == "diverged":
                who = _where(use.after or "another cell", steps, cells)
                since = (
                    f"drew from after {_seed_where(use.seed, seed)} seeded it"
                    if use.seed
                    else "seeded inside the step and drew from"
                )
                problems.append(
                    cell.error(
                        f"step {name!r} draws from {label}, which {who} {since}; in the flow "
                        f"every task starts from the prelude's state, so {name!r} would get "
                        "other numbers",
                        line=1,
                        hint=random_hint(gen),
                    )
                )
            elif use.verdict == "from-seed" and (seed is None or seed[0] != use.seed):
                now = (
                    f"seeds it with {seed[0]!r} (cell {seed[1].index})"
                    if seed is not None
                    else "no longer seeds it outside the steps"
                )
                problems.append(
                    cell.error(
                        f"step {name!r} drew from {label} right after {use.seed!r} when it ran "
                        f"in the kernel, but the notebook now {now}",
                        line=1,
                        hint=RERUN_HINT,
                    )
                )
            elif use.verdict == "unseeded" and seed is not None:
                problems.append(
                    cell.error(
                        f"step {name!r} drew from {label} unseeded when it ran in the kernel, "
                        f"but the notebook now seeds it ({seed[0]!r}, cell {seed[1].index})",
                        line=1,
                        hint=RERUN_HINT,
                    )
                )
            elif use.verdict == "unseeded":
                notes.append(
                    f"step {name!r} (cell {cell.index}) draws from {label}, which nothing "
                    "seeds: its numbers differ from run to run, in the kernel as in the flow"
                )
    return problems, notes


def _seed_where(source: str | None, seed: tuple[str, Cell] | None) -> str:
    if seed is not None and seed[0] == source:
        return f"cell {seed[1].index}"
    return repr(source)


class _Step(Protocol):
    """What ``check_changed`` reads of a graph step."""

    @property
    def name(self) -> str: ...
    @property
    def cell(self) -> Cell: ...
    @property
    def outputs(self) -> tuple[str, ...]: ...
    @property
    def sources(self) -> tuple[tuple[str, str], ...]: ...


def check_changed(steps: Sequence[_Step], used: Mapping[str, Observation]) -> list[NotebookError]:
    """A safety net under the graph: a name the kernel saw a step change out of sight must
    reach what comes after as that step's output, or the flow computes something else.
    (The graph treats observed names as in-place changes; this says so if it did not.)"""
    order = {s.name: i for i, s in enumerate(steps)}
    problems: list[NotebookError] = []
    for at, step in enumerate(steps):
        obs = used.get(step.name)
        for name in obs.changed if obs is not None else ():
            if name in step.outputs:
                continue
            stale = [
                (later.name, src)
                for later in steps[at + 1 :]
                for read, src in later.sources
                if read == name and order.get(src, -1) < at
            ]
            final = any(name in s.outputs for s in steps[at:])
            if stale or not final:
                what = (
                    f"the flow gives step {stale[0][0]!r} the value from before it"
                    if stale
                    else "the flow's final value would not have that change"
                )
                problems.append(
                    step.cell.error(
                        f"step {step.name!r} changed {name!r} in place when it ran in the "
                        f"kernel (a function call?), which its code does not show; {what}",
                        line=1,
                        hint=f"add {name!r} to the --outputs of step {step.name!r} (or write "
                        "the change visibly in the cell), save, and export again",
                    )
                )
    return problems
