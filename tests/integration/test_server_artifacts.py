"""The run page's artifacts over HTTP, against a real Jupyter server and real runs: the
list from the records, and previews (a DataFrame's first rows, a figure as PNG, an array,
a foreach item) loaded in a child process, never in the server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.preview import ROWS, preview
from jupyter_flow.runtime.loader import load_flow

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "demo/report.ipynb"
MODULE = """
from jupyter_flow import Flow

flow = Flow("ReportFlow", parameters={"keys": [0, 1, 2]})

@flow.step(outputs=("table", "grid"))
def load(keys):
    import numpy as np
    import pandas as pd
    table = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"] * 10, "temp": range(30)})
    return table, np.arange(12).reshape(3, 4)

@flow.step(outputs="plot")
def draw(table):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(2, 2))
    axes.plot(table["temp"])
    return figure

@flow.step(foreach="k in keys", outputs="word")
def each(k):
    return "item-" + str(k) * 3
"""


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def finished(jp_root_dir, monkeypatch) -> str:
    """A notebook's folder with the flow module and one finished run in its store."""
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    folder = jp_root_dir / "demo"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / NB)
    (folder / "report_flow.py").write_text(MODULE)
    run = load_flow(folder / "report_flow.py").run(root=str(folder / ".jupyter_flow"))
    assert run.status == "done"
    return run.id


async def get(jp_fetch, *parts: str, **params: Any) -> Any:
    answer = await jp_fetch("jupyter-flow", *parts, params={"path": NB, **params})
    return json.loads(answer.body)


async def test_the_list_names_every_output_without_loading_values(jp_fetch, finished):
    listed = (await get(jp_fetch, "runs", "ReportFlow", finished, "artifacts"))["artifacts"]
    by_name = {(a["step"], a["name"], a["index"]): a for a in listed}
    assert set(by_name) == {
        ("load", "table", 0),
        ("load", "grid", 0),
        ("draw", "plot", 0),
        ("each", "word", 0),
        ("each", "word", 1),
        ("each", "word", 2),
    }
    assert by_name[("load", "table", 0)]["type"] == "pandas.DataFrame"
    assert by_name[("each", "word", 2)]["foreach"] is True
    assert by_name[("each", "word", 2)]["final"] is True


async def test_a_dataframe_previews_as_its_first_rows(jp_fetch, finished):
    shown = await get(jp_fetch, "runs", "ReportFlow", finished, "artifacts", "load", "table")
    assert shown["kind"] == "table" and shown["shape"] == [30, 2]
    assert shown["columns"] == ["city", "temp"] and len(shown["rows"]) == ROWS
    assert shown["rows"][1] == ["Lima", "1"] and shown["truncated"] is True


async def test_a_figure_previews_as_a_png(jp_fetch, finished):
    shown = await get(jp_fetch, "runs", "ReportFlow", finished, "artifacts", "draw", "plot")
    assert shown["kind"] == "image"
    assert base64.b64decode(shown["png"])[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_foreach_item_and_an_array(jp_fetch, finished):
    item = await get(
        jp_fetch, "runs", "ReportFlow", finished, "artifacts", "each", "word", index="2"
    )
    assert item["kind"] == "text" and item["text"] == "'item-222'"
    grid = await get(jp_fetch, "runs", "ReportFlow", finished, "artifacts", "load", "grid")
    assert grid["shape"] == [3, 4] and "11" in grid["text"]


async def test_unknown_artifacts_and_tasks_are_404_or_said(jp_fetch, finished):
    with pytest.raises(HTTPClientError) as info:
        await get(jp_fetch, "runs", "ReportFlow", finished, "artifacts", "load", "nope")
    assert info.value.code == 404
    assert "no artifact 'nope'" in info.value.response.body.decode()
    missing = await get(
        jp_fetch, "runs", "ReportFlow", finished, "artifacts", "each", "word", index="7"
    )
    assert missing["kind"] == "error" and "no task each/7" in missing["message"]


def test_previews_are_bounded() -> None:
    long = preview("x" * 100_000)
    assert long["kind"] == "text" and long["truncated"] and len(long["text"]) < 5000
    nested = preview({"a": list(range(10_000))})
    assert len(nested["text"]) < 1000
    assert preview(b"\x89PNG\r\n\x1a\n" + b"0" * (2 << 20))["kind"] == "text"  # too big


def test_a_value_that_cannot_be_loaded_is_an_error_answer(tmp_path: Path) -> None:
    """A run whose module is gone: its class cannot be unpickled; the child says so."""
    import subprocess
    import sys

    module = tmp_path / "gone_flow.py"
    module.write_text(
        "from jupyter_flow import Flow\nflow = Flow('GoneFlow')\n"
        "class Thing:\n    pass\n"
        "@flow.step(outputs='thing')\ndef make():\n    return Thing()\n"
    )
    store = tmp_path / "store"
    run = load_flow(module).run(root=str(store))
    module.unlink()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_flow.preview",
            str(store),
            run.pathspec,
            "make",
            "0",
            "thing",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    answer = json.loads(done.stdout)
    assert answer["kind"] == "error" and "thing" in answer["message"], answer
