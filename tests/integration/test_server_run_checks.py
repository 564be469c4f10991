"""Starting a run from JupyterLab is checked before anything starts, against the real
notebook layer and engine: the backends route says which backends work here (and what to
install for the others), a value of the wrong type or a secret sent as a parameter is a
400 naming the parameter, and a secret value reaches the run through its environment only
(not its argv, not its launch log, not the store)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.client import Run

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "demo/login.ipynb"
ENV = "JF_TEST_LOGIN_TOKEN"
SECRET_VALUE = "s3cr3t-Value-0451"
CELLS = [
    (
        f'from jupyter_flow import secret\ntoken = secret("{ENV}")\nn = 3\nrate = 1.0',
        ["parameters"],
    ),
    (
        "%%step login\nimport time\ntime.sleep(1.5)\nsize = len(token) * n\n"
        "print('token length', len(token), 'rate', rate)",
        [],
    ),
]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch) -> Path:
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    monkeypatch.delenv(ENV, raising=False)  # the server's environment lacks it
    nb = nbformat.v4.new_notebook()
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = jp_root_dir / NB
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def data(response: Any) -> Any:
    return json.loads(response.body)


async def start(jp_fetch, **body: Any) -> Any:
    payload = {"path": NB, "backend": "local", **body}
    return await jp_fetch("jupyter-flow", "run", method="POST", body=json.dumps(payload))


async def refused(jp_fetch, **body: Any) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, **body)
    assert info.value.code == 400, info.value
    answer: dict[str, Any] = json.loads(info.value.response.body)
    assert "Traceback" not in json.dumps(answer)
    return answer


async def backends(jp_fetch) -> dict[str, Any]:
    answer = data(await jp_fetch("jupyter-flow", "backends", params={"path": NB}))
    return {b["name"]: b for b in answer["backends"]}


async def test_backends_say_what_works_here_and_what_to_install(jp_fetch, notebook, monkeypatch):
    every = await backends(jp_fetch)
    assert set(every) == {"local", "kubernetes", "batch"}
    assert all(b["usable"] for b in every.values())  # this machine has every SDK
    assert "secret-env" in every["local"]["capabilities"]
    assert "gpu" in every["kubernetes"]["capabilities"]
    assert "gpu" not in every["local"]["capabilities"]

    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as on a machine without it
    every = await backends(jp_fetch)
    kube = every["kubernetes"]
    assert kube["usable"] is False
    assert kube["reason"] == "the 'kubernetes' package is not installed here"
    assert kube["hint"] == "pip install 'jupyter-flow[kubernetes]'"
    assert every["local"]["usable"] and every["batch"]["usable"]

    answer = await refused(jp_fetch, backend="kubernetes")
    assert answer["message"] == (
        "backend 'kubernetes' cannot run here: the 'kubernetes' package is not installed here"
    )
    assert "pip install 'jupyter-flow[kubernetes]'" in answer["hint"]


async def test_graph_describes_a_secret_by_its_variable_and_types_every_parameter(
    jp_fetch, notebook
):
    body = json.dumps({"path": NB, "content": nbformat.read(notebook, as_version=4)})
    graph = data(await jp_fetch("jupyter-flow", "graph", method="POST", body=body))
    assert graph["parameters"] == {"token": {"secret": ENV}, "n": 3, "rate": 1.0}
    assert graph["parameter_types"] == {"token": "secret", "n": "int", "rate": "float"}


@pytest.mark.parametrize(
    ("params", "message", "hint"),
    [
        (
            {"n": "abc"},
            "parameter 'n' expects a int (its default is 3), got 'abc'",
            "enter e.g. 42, or leave the default",
        ),
        (
            {"rate": "fast"},
            "parameter 'rate' expects a float (its default is 1.0), got 'fast'",
            "enter e.g. 0.5",
        ),
        ({"seed": "1"}, "unknown parameter 'seed'", "this flow's parameters: token, n, rate"),
        ({"token": "x"}, "parameter 'token' is a secret", "send it in 'secrets'"),
    ],
)
async def test_a_parameter_the_run_would_refuse_is_a_400_naming_it(
    jp_fetch, notebook, params, message, hint
):
    answer = await refused(jp_fetch, parameters=params, secrets={"token": SECRET_VALUE})
    assert answer["message"].startswith(message)
    assert hint in answer["hint"]
    assert not list((notebook.parent / ".jupyter_flow").glob("runs/**/run.json"))


async def test_secrets_that_cannot_reach_the_tasks_are_refused(jp_fetch, notebook):
    answer = await refused(jp_fetch)  # no value, and the server's environment lacks it
    assert answer["message"] == (
        f"secret parameter 'token' reads ${ENV}, which is not set in the Jupyter server's "
        "environment"
    )
    assert "enter its value in the Run dialog" in answer["hint"]
    answer = await refused(jp_fetch, backend="kubernetes", secrets={"token": SECRET_VALUE})
    assert "does not reach tasks on 'kubernetes'" in answer["message"]
    assert "[kubernetes] secrets" in answer["hint"]
    answer = await refused(jp_fetch, secrets={"n": "4"})
    assert answer["message"] == "'n' in 'secrets' is not a secret"


async def _argv_and_environ(pid: int) -> tuple[bytes, bytes]:
    """What ``ps`` shows every user (argv), and the environment (this user only), once
    the driver has exec'd (before, /proc shows an empty command line)."""
    proc = Path(f"/proc/{pid}")
    for _ in range(100):
        argv = (proc / "cmdline").read_bytes()
        if b"--run-id" in argv:
            return argv, (proc / "environ").read_bytes()
        await asyncio.sleep(0.02)
    raise AssertionError(f"the driver never showed its command line: {argv!r}")


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


async def test_a_secret_reaches_the_run_by_its_environment_only(jp_fetch, notebook, jp_serverapp):
    started = data(
        await start(jp_fetch, parameters={"n": "2", "rate": "0.5"}, secrets={"token": SECRET_VALUE})
    )
    launch = jp_serverapp.web_app.settings["jupyter_flow_launcher"].get(started["id"])
    argv, environ = await _argv_and_environ(launch.process.pid)
    assert launch.wait(120) == 0, launch.log_tail()
    assert b"--param\x00n=2" in argv and b"rate=0.5" in argv
    assert SECRET_VALUE.encode() not in argv
    assert f"{ENV}={SECRET_VALUE}".encode() in environ.split(b"\x00")

    store = notebook.parent / ".jupyter_flow"
    run = Run(started["pathspec"], root=str(store))
    assert run.status == "done"
    assert run.data.size == len(SECRET_VALUE) * 2  # the task read the value
    assert "token length 17 rate 0.5" in run.logs()
    assert SECRET_VALUE.encode() not in _all_bytes(store)  # records, index, logs, launch log
    summary = data(
        await jp_fetch("jupyter-flow", "runs", "LoginFlow", started["id"], params={"path": NB})
    )
    assert SECRET_VALUE not in json.dumps(summary)


async def test_an_empty_secret_is_read_from_the_servers_environment(
    jp_fetch, notebook, jp_serverapp, monkeypatch
):
    monkeypatch.setenv(ENV, "from-the-server-env")
    started = data(await start(jp_fetch, secrets={"token": ""}))  # empty: not given
    launch = jp_serverapp.web_app.settings["jupyter_flow_launcher"].get(started["id"])
    assert launch.wait(120) == 0, launch.log_tail()
    run = Run(started["pathspec"], root=str(notebook.parent / ".jupyter_flow"))
    assert run.data.size == len("from-the-server-env") * 3
