"""Global random state in the kernel: who drew from which generator, starting where.

In the kernel a step's draws from a global generator (``random``, numpy's legacy
``np.random.*`` that ``train_test_split`` uses without ``random_state``, torch's default
generator) depend on every earlier draw of the session; in the flow every task starts from
the state the prelude's seeds set. So every cell is watched with cheap state fingerprints
(a hash of the state, microseconds): the last cell that drew from each generator, and the
fingerprint the last seed statement outside steps leaves. A step that drew is then one of
``self-seeded`` (its code seeds it), ``from-seed`` (it started from a seed's state, as a
flow task will), ``diverged`` (someone drew since the seed) or ``unseeded``. Only
generators whose module is already imported are looked at; nothing here may fail a cell.
"""

from __future__ import annotations

import ast
import ctypes
import sys
import types
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ..notebook.observations import RandomUse
from ..notebook.prelude import module_aliases, prelude_statements, seeded_generators


@dataclass(frozen=True)
class Generator:
    name: str  # as in notebook.prelude.SEEDS: "random" | "numpy" | "torch"
    module: str  # looked at only once this is in sys.modules
    get: Callable[[], Any]
    set: Callable[[Any], None]
    fingerprint: Callable[[Any], int]  # of a state from ``get``
    quick: Callable[[], int] | None = None  # a cheaper fingerprint of the current state


def _random_get() -> Any:
    return sys.modules["random"].getstate()


def _random_set(state: Any) -> None:
    sys.modules["random"].setstate(state)


def _numpy_get() -> Any:
    return sys.modules["numpy"].random.get_state(legacy=False)


def _numpy_set(state: Any) -> None:
    sys.modules["numpy"].random.set_state(state)


def _numpy_fp(state: Any) -> int:
    inner = state["state"]
    return hash((inner["key"].tobytes(), inner["pos"], state["has_gauss"], state["gauss"]))


_MT_BYTES = 624 * 4 + 4  # numpy's mt19937_state: the key, then the position
_MT_ADDRESS: dict[int, tuple[int, Any]] = {}  # id(bit generator) -> (state address, it)


def _numpy_quick() -> int:
    """The legacy generator's raw state bytes, read in place (2 µs, not the 70 µs of
    ``get_state``). It leaves out the cached second normal of ``np.random.randn``, which
    the full fingerprint of step starts and seeds includes."""
    bitgen = sys.modules["numpy"].random.mtrand._rand._bit_generator
    known = _MT_ADDRESS.get(id(bitgen))
    if known is None:
        if type(bitgen).__name__ != "MT19937":
            return _numpy_fp(_numpy_get())
        known = _MT_ADDRESS[id(bitgen)] = (bitgen.ctypes.state_address, bitgen)
    return hash(ctypes.string_at(known[0], _MT_BYTES))


def _torch_get() -> Any:
    return sys.modules["torch"].random.get_rng_state()


def _torch_set(state: Any) -> None:
    sys.modules["torch"].random.set_rng_state(state)


def _torch_fp(state: Any) -> int:
    return hash(state.numpy().tobytes())


GENERATORS = (
    Generator("random", "random", _random_get, _random_set, hash),
    Generator("numpy", "numpy", _numpy_get, _numpy_set, _numpy_fp, _numpy_quick),
    Generator("torch", "torch", _torch_get, _torch_set, _torch_fp),
)


def active() -> list[Generator]:
    return [g for g in GENERATORS if g.module in sys.modules]


def fingerprints() -> dict[str, int]:
    return {g.name: g.fingerprint(g.get()) for g in active()}


def quick_fingerprints() -> dict[str, int]:
    """What every cell pays: enough to see that a generator moved."""
    return {g.name: g.quick() if g.quick else g.fingerprint(g.get()) for g in active()}


def states() -> dict[str, Any]:
    return {g.name: g.get() for g in active()}


def restore(saved: dict[str, Any]) -> None:
    for g in active():
        if g.name in saved:
            g.set(saved[g.name])


@dataclass
class History:
    """One generator in this session."""

    seed_fp: int | None = None  # the state right after the last seed outside steps
    seed: str | None = None  # that seed statement's source
    drawn_by: str | None = None  # who changed the state since (None: still the seed's)
    step_seed: str | None = None  # a step that seeded it itself since that seed


def _module_names(ns: MutableMapping[str, Any]) -> dict[str, str]:
    return {
        name: value.__name__
        for name, value in list(ns.items())
        if isinstance(value, types.ModuleType) and not name.startswith("_")
    }


class Tracker:
    """IPython ``pre_run_cell``/``post_run_cell`` callbacks over every cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.history: dict[str, History] = {}
        self.broken = False
        self.label: str | None = None  # set by %%step while it runs: "step 'a' (In [5])"
        self._before: dict[str, int] = {}
        self._imports: dict[str, str] = {}  # names the input history's imports bound
        self._scanned = 0  # how many history entries ``_imports`` has read

    def _aliases(self) -> dict[str, str]:
        """What the session's names stand for, as notebook.prelude reads imports: modules in
        the namespace, and ``from numpy.random import seed`` from any earlier cell."""
        cells = self.shell.user_ns.get("In") or []
        for raw in cells[self._scanned :]:
            if isinstance(raw, str) and "import" in raw:
                try:
                    self._imports.update(module_aliases(ast.parse(raw)))
                except SyntaxError:
                    pass
        self._scanned = len(cells)
        return {**self._imports, **_module_names(self.shell.user_ns)}

    def register(self) -> None:
        try:
            self._catch_up()
            self._before = quick_fingerprints()  # the loading cell's own post hook
        except Exception as err:
            self._disable(err)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def _catch_up(self) -> None:
        """Seeds run before ``%load_ext``: the last one per generator, from the input
        history; whether the state is still the seed's is told by its fingerprint."""
        cells = self.shell.user_ns.get("In") or []
        last: dict[str, tuple[str, int]] = {}
        for raw in cells:
            if isinstance(raw, str) and "seed" in raw:
                last.update(self._seed_states(raw, transformed=True))
        now = fingerprints()
        for gen, (source, seed_fp) in last.items():
            drawn = None if now.get(gen) == seed_fp else "a cell run before %load_ext jupyter_flow"
            self.history[gen] = History(seed_fp, source, drawn)

    def _disable(self, err: Exception) -> None:
        self.broken = True
        print(
            f"jupyter_flow: random-state tracking is off for this kernel ({err!r}); "
            "steps run from now on are not recorded for export",
            file=sys.stderr,
        )

    def pre_run_cell(self, info: Any = None) -> None:
        if self.broken:
            return
        try:
            self.label = None
            self._before = quick_fingerprints()
        except Exception as err:
            self._disable(err)

    def post_run_cell(self, result: Any = None) -> None:
        if self.broken:
            return
        try:
            self._after(result)
        except Exception as err:
            self._disable(err)

    def _after(self, result: Any) -> None:
        quick = quick_fingerprints()
        moved = [g for g, fp in quick.items() if self._before.get(g) != fp]
        if not moved:
            return
        after = {g: fp for g, fp in fingerprints().items() if g in moved}
        count = getattr(result, "execution_count", None)
        raw = getattr(getattr(result, "info", None), "raw_cell", "") or ""
        first = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        who = self.label or f"cell In [{count}] ({first[:40]!r})"
        seeds = {} if self.label or "seed" not in raw else self._seed_states(raw)
        for gen in moved:
            hist = self.history.setdefault(gen, History())
            if gen in seeds:
                hist.seed, hist.seed_fp = seeds[gen]
                hist.drawn_by = None if after[gen] == hist.seed_fp else who
                hist.step_seed = None
            else:
                hist.drawn_by = who

    def _seed_states(self, raw: str, *, transformed: bool = False) -> dict[str, tuple[str, int]]:
        """Generator -> (source, fingerprint right after it) of the last seed statement of an
        untagged cell: that seed re-run on the side (state saved and restored)."""
        ns = self.shell.user_ns
        code = raw if transformed else self.shell.transform_cell(raw)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return {}
        last: dict[str, str] = {}
        for _, stmt in prelude_statements(tree, code, self._aliases(), constants=ns):
            if stmt.kind == "seed" and stmt.generator:
                last[stmt.generator] = stmt.source
        found: dict[str, tuple[str, int]] = {}
        by_name = {g.name: g for g in active()}
        for gen, source in last.items():
            g = by_name.get(gen)
            if g is None:
                continue
            saved = g.get()
            try:
                exec(compile(source, "<seed>", "exec"), ns)  # the user's own seed statement
                found[gen] = (source, g.fingerprint(g.get()))
            except Exception:
                continue
            finally:
                g.set(saved)
        return found

    # -- a %%step cell
    def step_start(self) -> tuple[dict[str, Any], dict[str, int]]:
        """States and fingerprints as the step starts (foreach items restart from them)."""
        if self.broken:
            return {}, {}
        try:
            saved = states()
            return saved, {g.name: g.fingerprint(saved[g.name]) for g in active()}
        except Exception as err:
            self._disable(err)
            return {}, {}

    def seeded(self, saved: dict[str, Any]) -> dict[str, Any]:
        """The states of generators seeded outside steps in this session: those a flow task
        always starts from the same way (an unseeded one starts anywhere, task to task)."""
        return {
            gen: state
            for gen, state in saved.items()
            if gen in self.history and self.history[gen].seed_fp is not None
        }

    def step_uses(
        self, start: dict[str, int], code: str, label: str
    ) -> tuple[tuple[str, RandomUse], ...] | None:
        """How the step used each generator it drew from; None when tracking is off."""
        if self.broken:
            return None
        try:
            self.label = label
            after = fingerprints()
            drew = [g for g, fp in after.items() if start.get(g) != fp]
            if not drew:
                return ()
            try:
                seeded = seeded_generators(ast.parse(code), self._aliases())
            except SyntaxError:
                seeded = set()
            uses = tuple((gen, self._verdict(gen, start.get(gen), seeded)) for gen in drew)
            for gen in seeded & set(drew):
                self.history.setdefault(gen, History()).step_seed = label
            return uses
        except Exception as err:
            self._disable(err)
            return None

    def _verdict(self, gen: str, start: int | None, seeded: set[str]) -> RandomUse:
        if gen in seeded:
            return RandomUse("self-seeded")
        hist = self.history.get(gen)
        if hist is not None and hist.step_seed is not None:
            return RandomUse("diverged", None, hist.step_seed)  # its state is that step's
        if hist is None or hist.seed_fp is None:
            return RandomUse("unseeded")
        if start == hist.seed_fp:
            return RandomUse("from-seed", hist.seed)
        return RandomUse("diverged", hist.seed, hist.drawn_by)
