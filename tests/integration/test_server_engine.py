"""The REST API against the real notebook layer and engine: export a notebook, draw its
graph, start a local run and watch it finish, read its logs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

CELLS = [
    ("n = 3", ["parameters"]),
    ("%%step load\nnumbers = list(range(n))\nprint('loaded', numbers)", []),
    ("%%step square --memory 512M\nsquares = [x * x for x in numbers]", []),
    ("%%step total\nresult = sum(squares)\nprint('total', result)", []),
]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch) -> Path:
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    nb = nbformat.v4.new_notebook()
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = jp_root_dir / "demo" / "squares.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def data(response: Any) -> Any:
    return json.loads(response.body)


def post(jp_fetch, route: str, body: Any) -> Any:
    return jp_fetch("jupyter-flow", route, method="POST", body=json.dumps(body))


async def test_export_writes_a_runnable_module(jp_fetch, notebook):
    result = data(await post(jp_fetch, "export", {"path": "demo/squares.ipynb"}))
    assert result["flow"] == "SquaresFlow"
    assert result["module_path"] == "demo/squares_flow.py"
    assert [s["name"] for s in result["steps"]] == ["load", "square", "total"]
    assert result["steps"][1]["resources"]["memory_mb"] == 512
    assert result["steps"][2]["inputs"] == ["squares"]
    module = notebook.parent / "squares_flow.py"
    assert module.read_text() == result["source"]
    assert "def total(squares)" in result["source"]


async def test_export_of_a_broken_notebook_names_the_cell(jp_fetch, notebook):
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("%%step load\nz = 1"))
    nbformat.write(nb, notebook)
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "export", {"path": "demo/squares.ipynb"})
    assert info.value.code == 422
    body = json.loads(info.value.response.body)
    assert body["location"]["index"] == 5
    assert not (notebook.parent / "squares_flow.py").exists()


async def test_graph_of_unsaved_edits(jp_fetch, notebook):
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[3].source = "%%step total --gpu 1\nresult = sum(squares) + n"
    graph = data(await post(jp_fetch, "graph", {"path": "demo/squares.ipynb", "content": nb}))
    total = graph["steps"][2]
    assert total["resources"]["gpu"] == 1
    assert sorted(total["inputs"]) == ["n", "squares"]
    assert ["square", "total"] in graph["edges"]
    assert graph["parameters"] == {"n": 3}


@pytest.fixture
def wait_for_end(jp_fetch, jp_serverapp):
    """Poll the run's status as the panel does; then let its process exit."""

    async def wait(flow: str, run_id: str, **params: str) -> dict[str, Any]:
        query = {"path": "demo/squares.ipynb", **params}
        for _ in range(600):
            summary = data(await jp_fetch("jupyter-flow", "runs", flow, run_id, params=query))
            if summary["status"] not in ("starting", "running"):
                launch = jp_serverapp.web_app.settings["jupyter_flow_launcher"].get(run_id)
                await asyncio.to_thread(launch.wait, 60)
                return summary
            await asyncio.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish: {summary}")

    return wait


async def test_start_a_local_run_and_watch_it_finish(jp_fetch, notebook, wait_for_end):
    started = await post(
        jp_fetch, "run", {"path": "demo/squares.ipynb", "backend": "local", "parameters": {"n": 5}}
    )
    assert started.code == 202
    run = data(started)
    summary = await wait_for_end(run["flow"], run["id"])
    assert summary["status"] == "done", summary
    assert [s["status"] for s in summary["steps"]] == ["done", "done", "done"]
    assert summary["params"]["n"] in (5, "5")
    logs = data(
        await jp_fetch(
            "jupyter-flow",
            "runs",
            run["flow"],
            run["id"],
            "logs",
            params={"path": "demo/squares.ipynb"},
        )
    )
    assert "total 30" in logs["logs"]
    listed = data(
        await jp_fetch(
            "jupyter-flow", "runs", params={"path": "demo/squares.ipynb", "flow": "SquaresFlow"}
        )
    )
    assert [r["id"] for r in listed["runs"]] == [run["id"]]
    assert (notebook.parent / ".jupyter_flow").is_dir()


async def test_a_run_in_a_chosen_store_location(jp_fetch, notebook, jp_root_dir, wait_for_end):
    body = {"path": "demo/squares.ipynb", "root": "../stores/team"}
    run = data(await post(jp_fetch, "run", body))
    summary = await wait_for_end(run["flow"], run["id"], root="../stores/team")
    assert summary["status"] == "done"
    assert (jp_root_dir / "stores" / "team").is_dir()
    default = data(await jp_fetch("jupyter-flow", "runs", params={"path": "demo/squares.ipynb"}))
    assert default["runs"] == []


async def test_a_store_location_outside_the_root_is_refused(jp_fetch, notebook):
    for root in ("../../elsewhere", "/tmp"):
        with pytest.raises(HTTPClientError) as info:
            await post(jp_fetch, "run", {"path": "demo/squares.ipynb", "root": root})
        assert info.value.code == 403


async def test_a_failing_step_is_reported_with_its_error(jp_fetch, notebook, wait_for_end):
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[3].source = "%%step total\nresult = sum(squares) / 0"
    nbformat.write(nb, notebook)
    run = data(await post(jp_fetch, "run", {"path": "demo/squares.ipynb"}))
    summary = await wait_for_end(run["flow"], run["id"])
    assert summary["status"] == "failed"
    statuses = {s["name"]: s["status"] for s in summary["steps"]}
    assert statuses["total"] == "failed"
    logs = data(
        await jp_fetch(
            "jupyter-flow",
            "runs",
            run["flow"],
            run["id"],
            "logs",
            params={"path": "demo/squares.ipynb", "step": "total"},
        )
    )
    assert "ZeroDivisionError" in logs["logs"]
