"""The harness's own judgement: exact comparison and classification, on made-up outcomes.

A harness that calls everything REPRODUCED would pass the corpus; these pin that it does not.
"""

from __future__ import annotations

import pickle
import runpy

import numpy as np
import pandas as pd

from .compare import differences
from .kernel import CANON
from .verdict import Export, RunResult, classify_exports, classify_runs, refusal_or_crash

canon = runpy.run_path(str(CANON))["canon"]
MODULE = b"flow = Flow('X')\n"
PATHS = ("magic", "cli", "nbconvert", "lab", "run")


def test_values_must_match_exactly() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    assert differences(frame, frame.copy()) == []
    assert differences(frame, frame[["b", "a"]])[0].startswith(": columns")
    assert "dtypes" in differences(frame, frame.astype({"a": "float64"}))[0]
    tagged = frame.copy()
    tagged.attrs["split"] = "train"
    assert "attrs" in differences(frame, tagged)[0]
    changed = frame.copy()
    changed.loc[1, "b"] = 1.5000000001
    assert "1 values differ" in differences(frame, changed, "df")[0]
    assert differences(np.array([1.0, np.nan]), np.array([1.0, np.nan])) == []
    assert "array int64" in differences(np.arange(3), np.arange(3).astype("int32"))[0]
    assert differences(0.1 + 0.2, 0.3) != []
    assert differences([1, {"k": (2, 3)}], [1, {"k": (2, 4)}]) == [
        "[1]['k'][1]: 3 in the kernel, 4 in the flow"
    ]
    assert "type" in differences(1, 1.0)[0]


def test_objects_compare_by_type_and_state_whatever_module_they_live_in() -> None:
    from sklearn.ensemble import RandomForestClassifier

    class Encoder:
        def __init__(self, codes: dict[str, int]) -> None:
            self.codes = codes

    kernel = canon(Encoder({"a": 0}))
    assert differences(kernel, canon(Encoder({"a": 0}))) == []
    assert differences(kernel, canon(Encoder({"a": 1}))) != []
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    fitted = [canon(RandomForestClassifier(3, random_state=s).fit(X, y)) for s in (0, 0, 1)]
    assert differences(fitted[0], fitted[1]) == []
    assert differences(fitted[0], fitted[2]) != []
    unfitted = canon(RandomForestClassifier(3))  # its __len__ raises: canon must not
    assert differences(unfitted, fitted[0]) != []
    pickle.loads(pickle.dumps(fitted[0]))  # what the kernel sends is plain data


def exports(*kinds: str, modules: tuple[bytes, ...] = ()) -> list[Export]:
    out = []
    for i, (path, kind) in enumerate(zip(PATHS, kinds, strict=True)):
        if kind == "module":
            out.append(Export(path, "module", module=modules[i] if modules else MODULE))
        elif kind == "refused":
            out.append(Export(path, "refused", "cell 4, line 2 ('%%step fit'): draws"))
        else:
            out.append(Export(path, "crash", "Traceback (most recent call last):\nKeyError: 'x'"))
    return out


def test_every_path_must_agree() -> None:
    refused = classify_exports(exports(*["refused"] * 5))
    assert refused is not None and refused.verdict == "REFUSED"
    split = classify_exports(exports("refused", "module", "module", "module", "module"))
    assert split is not None and split.verdict == "CRASH" and "paths disagree" in split.detail
    other = (MODULE, MODULE, MODULE + b"# x\n", MODULE, MODULE)
    differ = classify_exports(exports(*["module"] * 5, modules=other))
    assert differ is not None and differ.verdict == "CRASH" and "nbconvert" in differ.detail
    crash = classify_exports(exports("module", "crash", "module", "module", "module"))
    assert crash is not None and crash.verdict == "CRASH"
    assert classify_exports(exports(*["module"] * 5)) is None  # the runs decide


def test_refusals_must_name_a_cell() -> None:
    assert refusal_or_crash("cli", "error: cell 3, line 1 ('%%step a'): bad").kind == "refused"
    assert refusal_or_crash("magic", "failed in step 'combine':").kind == "crash"
    tb = "Traceback (most recent call last):\n  File x\nAttributeError: no __len__"
    assert refusal_or_crash("cli", tb).kind == "crash"
    nbconvert = "Traceback (most recent call last):\njupyter_flow.errors.NotebookError: cell 2: x"
    assert refusal_or_crash("nbconvert", nbconvert, traceback_ok=True).kind == "refused"


def test_runs_decide_between_reproduced_silent_and_crash() -> None:
    ok = exports(*["module"] * 5)
    kernel = {"score": 0.75, "df": pd.DataFrame({"a": [1]})}
    same = [
        RunResult("module", "done", values=dict(kernel)),
        RunResult("run", "done", values=kernel),
    ]
    assert classify_runs(ok, same, kernel, kernel_failed_cell=None).verdict == "REPRODUCED"
    other = {**kernel, "score": 0.5}
    runs = [RunResult("module", "done", values=other), RunResult("run", "done", values=kernel)]
    silent = classify_runs(ok, runs, kernel, kernel_failed_cell=None)
    assert silent.verdict == "SILENT-DIFFERENCE" and "score: 0.75 in the kernel" in silent.detail
    lost = [RunResult("module", "done", values={"score": 0.75}), same[1]]
    missing = classify_runs(ok, lost, kernel, kernel_failed_cell=None)
    assert missing.verdict == "SILENT-DIFFERENCE" and "'df' missing" in missing.detail
    failed = [RunResult("module", "failed", "error: step 'fit' failed"), same[1]]
    assert classify_runs(ok, failed, kernel, kernel_failed_cell=None).verdict == "CRASH"


def test_a_step_failing_in_the_kernel_too_must_fail_at_that_cell() -> None:
    ok = exports(*["module"] * 5)
    located = [
        RunResult("module", "failed", "step 'validate' failed (cell 5, line 4: 'raise')"),
        RunResult("run", "failed", "failed in step 'validate' (cell 5, line 4)"),
    ]
    assert classify_runs(ok, located, {}, kernel_failed_cell=5).verdict == "REFUSED"
    bare = [located[0], RunResult("run", "failed", "failed in step 'validate':")]
    unlocated = classify_runs(ok, bare, {}, kernel_failed_cell=5)
    assert unlocated.verdict == "CRASH" and "names no cell" in unlocated.detail
    done = [located[0], RunResult("run", "done")]
    assert classify_runs(ok, done, {}, kernel_failed_cell=5).verdict == "CRASH"
