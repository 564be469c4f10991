"""The tail of a killed task's output that the store lacks, found in the engine's log."""

from __future__ import annotations

from jupyter_flow.runtime.log_merge import merged, missing_tail


def test_the_lines_after_the_last_upload_are_the_tail_in_order() -> None:
    engine = ["loading", "step 1", "warn A", "step 2", "step 3", "last words"]
    stored = {"stdout": "step 1\nstep 2\n", "stderr": "warn A\n"}
    tail = missing_tail(engine, stored)
    assert tail.lines == ("step 3", "last words")
    assert merged(stored, tail) == {"stdout": "step 1\nstep 2\nstep 3\nlast words\n"}


def test_a_store_with_everything_gets_nothing_and_repeated_lines_are_not_doubled() -> None:
    engine = ["epoch done", "epoch done", "epoch done"]
    assert not missing_tail(engine, {"stdout": "epoch done\n" * 3, "stderr": ""})
    tail = missing_tail(engine, {"stdout": "epoch done\n" * 2, "stderr": ""})
    assert tail.lines == ("epoch done",)


def test_an_empty_store_gets_the_whole_engine_log() -> None:
    tail = missing_tail(["pip: no space left", "exit"], {"stdout": "", "stderr": ""})
    assert tail.lines == ("pip: no space left", "exit")
    assert merged({}, tail) == {"stdout": "pip: no space left\nexit\n"}


def test_a_line_cut_by_the_upload_is_finished_not_repeated() -> None:
    stored = {"stdout": "one\ntw", "stderr": ""}
    tail = missing_tail(["one", "two", "three"], stored)
    assert (tail.rest, tail.rest_stream, tail.lines) == ("o", "stdout", ("three",))
    assert merged(stored, tail)["stdout"] == "one\ntwo\nthree\n"
    assert tail.shown == ("one", "two", "three")


def test_a_masked_stored_line_matches_its_unmasked_twin_which_is_never_shown() -> None:
    engine = ["token is hf_abc123", "working", "killed here"]
    stored = {"stdout": "token is ********\nworking\n", "stderr": ""}
    tail = missing_tail(engine, stored)
    assert tail.lines == ("killed here",)
    assert tail.shown == ("token is ********", "working", "killed here")


def test_an_engine_line_the_store_lacks_before_its_end_is_neither_copied_nor_shown() -> None:
    engine = ["key: hf_a", "bc123 (a value with a newline)", "working", "killed here"]
    stored = {"stdout": "key: ******** (a value with a newline)\nworking\n", "stderr": ""}
    tail = missing_tail(engine, stored)
    assert tail.lines == ("killed here",)
    assert "hf_a" not in "".join(tail.shown)


def test_a_rotated_engine_log_is_joined_where_it_starts() -> None:
    stored = {"stdout": "".join(f"line {i}\n" for i in range(10)), "stderr": ""}
    tail = missing_tail([f"line {i}" for i in range(6, 12)], stored)
    assert tail.lines == ("line 10", "line 11")
