"""Schedules over HTTP with the real schedule API (local target): create from a notebook,
list with next fire times, pause, resume, delete; cron preview; located 4xx errors."""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "proj/squares.ipynb"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch):
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 3")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("%%step load\nnumbers = list(range(n))"),
        nbformat.v4.new_code_cell("%%step total\nresult = sum(numbers)"),
    ]
    path = jp_root_dir / NB
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def data(response: Any) -> Any:
    return json.loads(response.body)


async def fails(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await call
    assert info.value.response is not None
    return info.value.code, json.loads(info.value.response.body)


def create(jp_fetch, **fields: Any) -> Any:
    body = {"path": NB, "cron": "0 6 * * 1-5", "timezone": "Europe/Berlin", **fields}
    return jp_fetch("jupyter-flow", "schedules", method="POST", body=json.dumps(body))


async def test_create_list_pause_resume_delete(jp_fetch, notebook):
    created = await create(jp_fetch, parameters={"n": 7})
    assert created.code == 201
    schedule = data(created)
    assert schedule["name"] == "squares-flow"
    assert schedule["flow"]["name"] == "SquaresFlow"
    assert schedule["params"] == {"n": "7"}
    assert len(schedule["next_fire_times"]) == 5
    assert schedule["next_fire_times"][0].endswith(("+01:00", "+02:00"))
    assert (notebook.parent / "squares_flow.py").exists()

    listed = data(await jp_fetch("jupyter-flow", "schedules", params={"path": NB}))
    assert [s["name"] for s in listed["schedules"]] == ["squares-flow"]
    assert "local" in listed["targets"]
    other = data(
        await jp_fetch("jupyter-flow", "schedules", params={"path": NB, "flow": "OtherFlow"})
    )
    assert other["schedules"] == []

    paused = data(
        await jp_fetch(
            "jupyter-flow",
            "schedules",
            "squares-flow",
            "pause",
            method="POST",
            body="{}",
            params={"path": NB},
        )
    )
    assert paused["paused"] is True
    assert paused["next_fire_times"] == []
    resumed = data(
        await jp_fetch(
            "jupyter-flow",
            "schedules",
            "squares-flow",
            "resume",
            method="POST",
            body="{}",
            params={"path": NB},
        )
    )
    assert resumed["paused"] is False

    deleted = await jp_fetch(
        "jupyter-flow", "schedules", "squares-flow", method="DELETE", params={"path": NB}
    )
    assert data(deleted) == {"deleted": "squares-flow"}
    listed = data(await jp_fetch("jupyter-flow", "schedules", params={"path": NB}))
    assert listed["schedules"] == []


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"cron": "every day"}, "cron expression"),
        ({"cron": ""}, "'cron' is required"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"target": "mainframe"}, "unknown schedule"),
        ({"parameters": {"nope": 1}}, "nope"),
        ({"name": "Bad Name"}, "not valid"),
    ],
)
async def test_bad_schedules_are_refused_with_a_message(jp_fetch, notebook, fields, needle):
    code, body = await fails(create(jp_fetch, **fields))
    assert code == 400
    assert needle in body["message"]
    listed = data(await jp_fetch("jupyter-flow", "schedules", params={"path": NB}))
    assert listed["schedules"] == []


async def test_a_second_schedule_of_the_same_name_is_refused(jp_fetch, notebook):
    await create(jp_fetch)
    code, body = await fails(create(jp_fetch))
    assert code == 400
    assert "already exists" in body["message"]


async def test_unknown_schedule_is_404(jp_fetch, notebook):
    code, body = await fails(
        jp_fetch("jupyter-flow", "schedules", "ghost", method="DELETE", params={"path": NB})
    )
    assert code == 404
    assert "ghost" in body["message"]


async def test_cron_preview(jp_fetch, notebook):
    preview = data(
        await jp_fetch(
            "jupyter-flow", "cron", params={"cron": "30  6 * * 1", "timezone": "UTC", "n": "3"}
        )
    )
    assert preview["cron"] == "30 6 * * 1"
    assert len(preview["next"]) == 3
    assert all(t.endswith("06:30:00+00:00") for t in preview["next"])
    code, body = await fails(jp_fetch("jupyter-flow", "cron", params={"cron": "61 * * * *"}))
    assert code == 400
    assert body["hint"]


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "schedules"),
        ("POST", "schedules"),
        ("DELETE", "schedules/x"),
        ("POST", "schedules/x/pause"),
        ("GET", "cron"),
    ],
)
async def test_schedule_routes_need_authentication(jp_fetch, notebook, method, route):
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-flow", route, method=method, body=body, headers={"Authorization": ""}
        )
    assert info.value.code == 403


async def test_schedule_paths_are_confined(jp_fetch, notebook):
    code, _ = await fails(create(jp_fetch, path="../outside.ipynb"))
    assert code == 403
    code, _ = await fails(jp_fetch("jupyter-flow", "schedules", params={"path": "/etc/x.ipynb"}))
    assert code == 403
