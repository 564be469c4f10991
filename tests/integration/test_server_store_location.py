"""Every route that takes a store ``root`` confines it (issue 13, item 1): a folder or a
``file://`` URL must be inside the server root, a remote URL must be one the server's
settings name. Before, ``file:///elsewhere`` skipped the check on every route, and a GET
even created a store there."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "demo/squares.ipynb"
CELLS = [
    "%%step load\nnumbers = list(range(4))",
    "%%step square\nsquares = [x * x for x in numbers]",
]

# (method, route, where the root goes): every route that reads a store root
ROUTES = [
    ("GET", "runs", "query"),
    ("GET", "runs/SquaresFlow/20260101-000000-abcdef12", "query"),
    ("GET", "runs/SquaresFlow/20260101-000000-abcdef12/logs", "query"),
    ("GET", "runs/SquaresFlow/20260101-000000-abcdef12/artifacts", "query"),
    ("GET", "runs/SquaresFlow/20260101-000000-abcdef12/artifacts/load/numbers", "query"),
    ("POST", "runs/SquaresFlow/20260101-000000-abcdef12/cancel", "query"),
    ("GET", "backends", "query"),
    ("POST", "run", "body"),
    ("GET", "schedules", "query"),
    ("GET", "schedules/nightly/history", "query"),
    ("POST", "schedules/nightly/pause", "body"),
    ("POST", "schedules/nightly/run-now", "body"),
]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch) -> Path:
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    monkeypatch.delenv("JUPYTER_FLOW_ALLOWED_ROOTS", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    path = jp_root_dir / "demo" / "squares.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


async def _call(jp_fetch, method: str, route: str, where: str, root: str) -> int:
    params: dict[str, Any] = {"path": NB}
    body: dict[str, Any] = {"path": NB}
    if where == "query":
        params["root"] = root
    else:
        body["root"] = root
    try:
        if method == "GET":
            response = await jp_fetch("jupyter-flow", *route.split("/"), params=params)
        else:
            response = await jp_fetch(
                "jupyter-flow",
                *route.split("/"),
                method="POST",
                params=params,
                body=json.dumps(body),
            )
    except HTTPClientError as err:
        return err.code
    return response.code


@pytest.mark.parametrize(("method", "route", "where"), ROUTES, ids=[r[1] for r in ROUTES])
async def test_a_store_outside_the_root_is_refused_on_every_route(
    jp_fetch, notebook, tmp_path_factory, method, route, where
):
    outside = tmp_path_factory.mktemp("outside") / f"store-{uuid.uuid4().hex[:6]}"
    for root in (
        f"file://{outside}",
        f"FILE://{outside}",
        "file://../../elsewhere",
        str(outside),
        "s3://someone-elses-bucket/flows",
        "gs://bucket/flows",
    ):
        code = await _call(jp_fetch, method, route, where, root)
        assert code == 403, (root, code)
    assert not outside.exists()  # nothing was created there


async def test_a_file_url_inside_the_root_is_the_folder_it_names(jp_fetch, notebook, jp_root_dir):
    inside = jp_root_dir / "stores" / "team"
    for root in (f"file://{inside}", "../stores/team"):
        response = await jp_fetch("jupyter-flow", "runs", params={"path": NB, "root": root})
        assert response.code == 200
    assert inside.is_dir()


async def test_a_remote_store_is_taken_when_the_server_allows_it(jp_fetch, notebook, monkeypatch):
    url = "s3://team-bucket/flows"
    monkeypatch.setenv("JUPYTER_FLOW_ALLOWED_ROOTS", f"s3://other, {url}/")
    code = await _call(jp_fetch, "GET", "backends", "query", url)
    assert code == 200
    refused = await _call(jp_fetch, "GET", "backends", "query", "s3://team-bucket/other")
    assert refused == 403
