"""Bad input answers 400/413 with a located JSON error, never "Unhandled error" (issue 13,
item 6): a NUL byte in a path, JSON nested 10^5 deep, a body over the limit; a notebook
posted to the graph with big outputs is analysed from its sources alone."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "demo/squares.ipynb"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch) -> Path:
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%%step load\nnumbers = list(range(4))"),
        nbformat.v4.new_code_cell("%%step square\nsquares = [x * x for x in numbers]"),
    ]
    path = jp_root_dir / "demo" / "squares.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


async def _status(jp_fetch, route: str, *, method: str = "POST", body: bytes = b"", **params):
    try:
        if method == "GET":
            response = await jp_fetch("jupyter-flow", route, params=params)
        else:
            response = await jp_fetch(
                "jupyter-flow", route, method="POST", body=body, params=params
            )
    except HTTPClientError as err:
        assert err.response is not None
        problem = json.loads(err.response.body)
        assert problem["message"] and "Unhandled" not in problem["message"]
        return err.code, problem["message"]
    return response.code, ""


@pytest.mark.parametrize("route", ["export", "graph", "run", "schedules"])
async def test_a_nul_byte_in_a_path_is_a_bad_request(jp_fetch, notebook, route):
    body = json.dumps({"path": "demo/squa\x00res.ipynb", "cron": "0 * * * *"}).encode()
    code, message = await _status(jp_fetch, route, body=body)
    assert code == 400 and "NUL" in message
    # in a query string tornado drops control characters: the path then names no notebook
    code, message = await _status(jp_fetch, "graph", method="GET", path="demo/\x00.ipynb")
    assert code == 404 and "does not exist" in message


@pytest.mark.parametrize("route", ["export", "graph", "run"])
async def test_json_nested_too_deep_is_a_bad_request(jp_fetch, notebook, route):
    code, message = await _status(jp_fetch, route, body=b"[" * 100_000 + b"]" * 100_000)
    assert code == 400 and "nests too deeply" in message


async def test_a_body_over_the_limit_is_refused_with_413(jp_fetch, notebook, monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOW_MAX_BODY_MB", "1")
    big = json.dumps({"path": NB, "content": {"cells": [], "pad": "x" * (2 << 20)}}).encode()
    code, message = await _status(jp_fetch, "graph", body=big)
    assert code == 413 and "over this server's limit of 1 MB" in message


async def test_the_graph_of_a_notebook_with_big_outputs_is_read_from_its_sources(
    jp_fetch, notebook
):
    nb = json.loads(notebook.read_text())
    png = base64.b64encode(os.urandom(6 << 20)).decode()  # an 8 MB "plot" in each cell
    for cell in nb["cells"]:
        cell["outputs"] = [
            {"output_type": "display_data", "data": {"image/png": png}, "metadata": {}}
        ]
    body = json.dumps({"path": NB, "content": nb}).encode()
    response = await jp_fetch("jupyter-flow", "graph", method="POST", body=body)
    graph = json.loads(response.body)
    assert [s["name"] for s in graph["steps"]] == ["load", "square"]
