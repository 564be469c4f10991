"""The REST API under /jupyter-flow/, in-process (pytest-jupyter ``jp_fetch``).

The notebook API and the run client are replaced by the small fakes in ``test_server_fakes`` so
these tests pin the HTTP contract: authentication, authorization, XSRF, path confinement,
located 4xx errors, and what each endpoint answers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.server import launcher as launcher_module
from tests.integration.server_auth import login_cookie

from .test_server_fakes import FakeRun, fake_analyze, fake_export, fake_list_runs

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch):
    """Install the fakes as jupyter_flow.notebook.api and jupyter_flow.client."""
    import jupyter_flow.notebook as notebook_pkg

    api = types.ModuleType("jupyter_flow.notebook.api")
    api.analyze = fake_analyze  # type: ignore[attr-defined]
    api.export_notebook = fake_export  # type: ignore[attr-defined]
    client = types.ModuleType("jupyter_flow.client")
    client.list_runs = fake_list_runs  # type: ignore[attr-defined]
    client.Run = FakeRun  # type: ignore[attr-defined]
    client.new_run_id = lambda: "r-new"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jupyter_flow.notebook.api", api)
    monkeypatch.setattr(notebook_pkg, "api", api, raising=False)
    monkeypatch.setitem(sys.modules, "jupyter_flow.client", client)
    monkeypatch.setattr(sys.modules["jupyter_flow"], "client", client, raising=False)


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook(jp_root_dir) -> Path:
    return write_notebook(
        jp_root_dir / "work" / "taxi.ipynb",
        "import math",
        "%%step load\nx = 1",
        "%%step train --cpu 2\ny = x + 1",
    )


def body_of(response: Any) -> dict[str, Any]:
    return json.loads(response.body)


async def fails(fetch_coro: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await fetch_coro
    error = info.value
    assert error.response is not None
    text = error.response.body.decode()
    assert "Traceback" not in text
    return error.code, json.loads(text)


def post(jp_fetch, route: str, data: Any, **kwargs: Any) -> Any:
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return jp_fetch("jupyter-flow", route, method="POST", body=body, **kwargs)


# ---------------------------------------------------------------- export


async def test_export_writes_the_module_beside_the_notebook(jp_fetch, notebook):
    response = await post(jp_fetch, "export", {"path": "work/taxi.ipynb"})
    data = body_of(response)
    assert data["module_path"] == "work/taxi_flow.py"
    assert [s["name"] for s in data["steps"]] == ["load", "train"]
    assert data["edges"] == [["load", "train"]]
    assert data["problems"] == [] and data["notes"] == []
    assert (notebook.parent / "taxi_flow.py").read_text() == data["source"]


async def test_export_answers_what_it_could_not_check(jp_fetch, notebook, monkeypatch):
    """The notes of notebook.api's verdict reach the Lab button (which shows each one)."""
    from jupyter_flow.server import services

    real = services.export_notebook
    note = "cells 2 and 3 were not run with the extension: ..."

    def noted(path: str) -> Any:
        return types.SimpleNamespace(**vars(real(path)), notes=(note,))

    monkeypatch.setattr(services, "export_notebook", noted)
    data = body_of(await post(jp_fetch, "export", {"path": "work/taxi.ipynb"}))
    assert data["notes"] == [note] and data["module_path"] == "work/taxi_flow.py"


async def test_export_problem_is_a_located_422_and_writes_nothing(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", "%%step load\nx = 1", "%%step 2nd\ny = 2")
    code, data = await fails(post(jp_fetch, "export", {"path": "bad.ipynb"}))
    assert code == 422
    assert data["location"]["kind"] == "cell"
    assert data["location"]["index"] == 2
    assert "2nd" in data["message"]
    assert data["problems"][0]["location"]["index"] == 2
    assert not (jp_root_dir / "bad_flow.py").exists()


# ---------------------------------------------------------------- graph


async def test_graph_of_the_saved_notebook(jp_fetch, notebook):
    response = await jp_fetch("jupyter-flow", "graph", params={"path": "work/taxi.ipynb"})
    data = body_of(response)
    assert [s["name"] for s in data["steps"]] == ["load", "train"]
    assert data["steps"][1]["cell_index"] == 3
    assert data["path"] == "work/taxi.ipynb"
    assert data["module_path"] == "work/taxi_flow.py"


async def test_graph_of_unsaved_content_sent_by_the_frontend(jp_fetch, notebook):
    unsaved = nbformat.v4.new_notebook()
    unsaved.cells = [nbformat.v4.new_code_cell("%%step only\nz = 3")]
    response = await post(jp_fetch, "graph", {"path": "work/taxi.ipynb", "content": unsaved})
    assert [s["name"] for s in body_of(response)["steps"]] == ["only"]


async def test_graph_of_a_notebook_not_yet_saved_to_disk(jp_fetch, jp_root_dir):
    unsaved = {"cells": [{"cell_type": "code", "source": "%%step a\n", "metadata": {}}]}
    response = await post(jp_fetch, "graph", {"path": "Untitled.ipynb", "content": unsaved})
    assert [s["name"] for s in body_of(response)["steps"]] == ["a"]


async def test_graph_reports_problems_without_failing(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", "%%step 9lives\nx = 1")
    response = await jp_fetch("jupyter-flow", "graph", params={"path": "bad.ipynb"})
    problems = body_of(response)["problems"]
    assert problems[0]["location"]["index"] == 1


@pytest.mark.parametrize(
    "content", ["not a notebook", [1, 2], {"cells": "nope"}], ids=["string", "list", "cells"]
)
async def test_graph_rejects_content_that_is_not_a_notebook(jp_fetch, notebook, content):
    body = {"path": "work/taxi.ipynb", "content": content}
    code, data = await fails(post(jp_fetch, "graph", body))
    assert code == 400
    assert "notebook" in data["message"]


# ---------------------------------------------------------------- paths


ESCAPES = [
    ("../outside.ipynb", 403),
    ("work/../../outside.ipynb", 403),
    ("/etc/passwd.ipynb", 403),
    ("link/secret.ipynb", 403),
    ("missing.ipynb", 404),
    ("work/taxi.py", 400),
    ("", 400),
]


@pytest.fixture
def escape_targets(jp_root_dir, notebook, tmp_path):
    outside = tmp_path / "outside"
    write_notebook(outside / "secret.ipynb", "%%step s\n")
    write_notebook(jp_root_dir.parent / "outside.ipynb", "%%step s\n")
    (jp_root_dir / "link").symlink_to(outside, target_is_directory=True)
    (notebook.parent / "taxi.py").write_text("x = 1\n")


@pytest.mark.parametrize(("path", "status"), ESCAPES)
async def test_export_refuses_paths_outside_the_root(jp_fetch, escape_targets, path, status):
    code, data = await fails(post(jp_fetch, "export", {"path": path}))
    assert code == status
    assert data["message"]


@pytest.mark.parametrize(("path", "status"), ESCAPES)
async def test_graph_refuses_paths_outside_the_root(jp_fetch, escape_targets, path, status):
    code, _ = await fails(jp_fetch("jupyter-flow", "graph", params={"path": path}))
    assert code == status


@pytest.mark.parametrize(("path", "status"), ESCAPES[:4])
async def test_runs_refuse_paths_outside_the_root(jp_fetch, escape_targets, path, status):
    code, _ = await fails(jp_fetch("jupyter-flow", "runs", params={"path": path}))
    assert code == status


async def test_unsaved_graph_refuses_a_path_outside_the_root(jp_fetch, notebook):
    content = {"cells": []}
    code, _ = await fails(post(jp_fetch, "graph", {"path": "../x.ipynb", "content": content}))
    assert code == 403


# ---------------------------------------------------------------- bad bodies


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", "path"),
        ('{"path": 3}', "path"),
    ],
)
@pytest.mark.parametrize("route", ["export", "graph", "run"])
async def test_bad_bodies_are_400_json(jp_fetch, notebook, route, body, needle):
    code, data = await fails(post(jp_fetch, route, body))
    assert code == 400
    assert needle in data["message"]
    assert data["error"] == "BadRequest"


# ---------------------------------------------------------------- runs


async def test_runs_list_for_a_notebook(jp_fetch, notebook):
    response = await jp_fetch(
        "jupyter-flow", "runs", params={"path": "work/taxi.ipynb", "flow": "FakeFlow"}
    )
    runs = body_of(response)["runs"]
    assert [r["id"] for r in runs] == ["r1"]
    assert runs[0]["root"] == str(notebook.parent / ".jupyter_flow")


async def test_runs_list_filters_by_flow(jp_fetch, notebook):
    response = await jp_fetch("jupyter-flow", "runs", params={"flow": "OtherFlow"})
    assert body_of(response)["runs"] == []


@pytest.mark.parametrize(
    "params",
    [{"status": "sleepy"}, {"limit": "many"}, {"limit": "-1"}, {"flow": "no/such"}],
)
async def test_runs_list_rejects_bad_queries(jp_fetch, notebook, params):
    code, _ = await fails(jp_fetch("jupyter-flow", "runs", params=params))
    assert code == 400


async def test_run_detail(jp_fetch, notebook):
    response = await jp_fetch("jupyter-flow", "runs", "FakeFlow", "r1")
    data = body_of(response)
    assert data["status"] == "done"
    assert data["steps"][0]["tasks_done"] == 1


async def test_unknown_run_is_a_404_with_a_message(jp_fetch, notebook):
    code, data = await fails(jp_fetch("jupyter-flow", "runs", "FakeFlow", "nope"))
    assert code == 404
    assert "nope" in data["message"]
    assert data["hint"]


async def test_log_tail(jp_fetch, notebook):
    response = await jp_fetch(
        "jupyter-flow", "runs", "FakeFlow", "r1", "logs", params={"step": "load", "tail": "3"}
    )
    assert body_of(response)["logs"].splitlines() == [
        "load line 497",
        "load line 498",
        "load line 499",
    ]


async def test_log_tail_rejects_a_bad_tail(jp_fetch, notebook):
    code, _ = await fails(
        jp_fetch("jupyter-flow", "runs", "FakeFlow", "r1", "logs", params={"tail": "x"})
    )
    assert code == 400


async def test_backends(jp_fetch, notebook):
    data = body_of(await jp_fetch("jupyter-flow", "backends", params={"path": "work/taxi.ipynb"}))
    local = next(b for b in data["backends"] if b["name"] == "local")
    assert local["usable"] is True
    assert data["default"] == "local"
    assert data["root"].endswith(".jupyter_flow")


# ---------------------------------------------------------------- start a run


@pytest.fixture
def failing_launch(monkeypatch):
    """The launched process prints its arguments and exits 3 (no engine needed)."""

    def command(module, *, root, run_id, backend, params):
        script = "import sys; print('launched', sys.argv[1:]); sys.exit(3)"
        return [sys.executable, "-c", script, str(module), backend, *params.values()]

    monkeypatch.setattr(launcher_module, "command", command)


async def test_start_run_answers_at_once_and_reports_a_launch_failure(
    jp_fetch, notebook, failing_launch, jp_serverapp
):
    body = {"path": "work/taxi.ipynb", "backend": "local", "parameters": {"n": 5}}
    response = await post(jp_fetch, "run", body)
    assert response.code == 202
    started = body_of(response)
    assert started["id"] == "r-new"
    assert started["pathspec"] == "FakeFlow/r-new"
    assert (notebook.parent / "taxi_flow.py").exists()
    launch = jp_serverapp.web_app.settings["jupyter_flow_launcher"].get("r-new")
    assert await asyncio.to_thread(launch.wait, 30) == 3
    detail = body_of(
        await jp_fetch(
            "jupyter-flow", "runs", "FakeFlow", "r-new", params={"path": "work/taxi.ipynb"}
        )
    )
    assert detail["status"] == "failed"
    assert "launched" in detail["launch_log"]
    assert "5" in detail["launch_log"]
    logs = body_of(
        await jp_fetch(
            "jupyter-flow", "runs", "FakeFlow", "r-new", "logs", params={"path": "work/taxi.ipynb"}
        )
    )
    assert "launched" in logs["logs"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"backend": "mainframe"}, "unknown backend"),
        ({"parameters": [1]}, "parameters"),
        ({"parameters": {"bad name": 1}}, "parameter name"),
        ({"parameters": {"n": {"deep": 1}}}, "must be a string"),
    ],
)
async def test_start_run_rejects_bad_requests(jp_fetch, notebook, extra, needle):
    code, data = await fails(post(jp_fetch, "run", {"path": "work/taxi.ipynb", **extra}))
    assert code == 400
    assert needle in data["message"]


# ---------------------------------------------------------------- auth

ROUTES = [
    ("GET", "graph"),
    ("POST", "graph"),
    ("POST", "export"),
    ("GET", "runs"),
    ("GET", "runs/FakeFlow/r1"),
    ("GET", "runs/FakeFlow/r1/logs"),
    ("GET", "runs/FakeFlow/r1/artifacts"),
    ("GET", "runs/FakeFlow/r1/artifacts/load/numbers"),
    ("POST", "run"),
    ("GET", "backends"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_unauthenticated_requests_are_refused(jp_fetch, notebook, method, route):
    body = json.dumps({"path": "work/taxi.ipynb"}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-flow",
            route,
            method=method,
            body=body,
            headers={"Authorization": ""},
            params={"path": "work/taxi.ipynb"},
        )
    assert info.value.code == 403
    assert not (notebook.parent / "taxi_flow.py").exists()


@pytest.mark.parametrize("route", ["export", "run", "graph"])
async def test_cookie_session_without_xsrf_token_is_refused(jp_fetch, notebook, route):
    cookie = await login_cookie(jp_fetch)
    with pytest.raises(HTTPClientError) as info:
        await post(
            jp_fetch,
            route,
            {"path": "work/taxi.ipynb"},
            headers={"Authorization": "", "Cookie": cookie},
        )
    assert info.value.code == 403
    assert not (notebook.parent / "taxi_flow.py").exists()


async def test_cookie_session_with_xsrf_token_is_accepted(jp_fetch, notebook):
    cookie = await login_cookie(jp_fetch)
    xsrf = "2|abcd1234|0123456789abcdef0123456789abcdef|1700000000"
    response = await post(
        jp_fetch,
        "export",
        {"path": "work/taxi.ipynb"},
        headers={"Authorization": "", "Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert body_of(response)["module_path"] == "work/taxi_flow.py"


async def test_authorizer_decides(read_only_server, jp_fetch, notebook):
    await jp_fetch("jupyter-flow", "graph", params={"path": "work/taxi.ipynb"})
    for route in ("export", "run"):
        with pytest.raises(HTTPClientError) as info:
            await post(jp_fetch, route, {"path": "work/taxi.ipynb"})
        assert info.value.code == 403
    assert not (notebook.parent / "taxi_flow.py").exists()
