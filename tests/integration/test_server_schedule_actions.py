"""Run now and History of a schedule over HTTP, with the real schedule API (local target):
the run a Run now starts appears in the history and reaches ``done``; unknown schedules are
404; a browser session without the XSRF token cannot start a run; ``limit`` is respected."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.schedule.store import ScheduleStore
from tests.integration.server_auth import login_cookie
from tests.integration.test_server_schedules import (  # noqa: F401 - fixtures
    NB,
    create,
    data,
    fails,
    jp_server_config,
    notebook,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NAME = "squares-flow"
RUN_TIMEOUT = 90.0


def run_now(jp_fetch, name: str = NAME, **kwargs: Any) -> Any:
    return jp_fetch(
        "jupyter-flow",
        "schedules",
        name,
        "run-now",
        method="POST",
        body=kwargs.pop("body", "{}"),
        params={"path": NB},
        **kwargs,
    )


def history(jp_fetch, name: str = NAME, headers: Any = None, **params: Any) -> Any:
    query = {"path": NB, **params}
    route = ("jupyter-flow", "schedules", name, "history")
    return jp_fetch(*route, params=query, **({"headers": headers} if headers else {}))


async def entries(jp_fetch, **params: Any) -> list[dict[str, Any]]:
    answer = data(await history(jp_fetch, **params))
    assert answer["name"] == NAME
    return list(answer["entries"])


async def wait_for_done(jp_fetch, run_id: str) -> dict[str, Any]:
    """Poll the history until the run-now entry of ``run_id`` has ended; it must be done."""
    deadline = time.monotonic() + RUN_TIMEOUT
    entry: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        mine = [e for e in await entries(jp_fetch) if e["run_id"] == run_id]
        if mine:
            entry = mine[0]
            if entry["status"] not in ("starting", "running"):
                break
        await asyncio.sleep(0.5)
    assert entry is not None, f"run {run_id} never appeared in the history"
    assert entry["status"] == "done", entry
    return entry


async def make_schedule(jp_fetch) -> dict[str, Any]:
    """The notebook's flow scheduled on the local target (needs the ``notebook`` fixture)."""
    created = data(await create(jp_fetch))
    assert created["name"] == NAME
    assert created["target"] == "local"
    return dict(created)


@pytest.mark.usefixtures("notebook")
async def test_run_now_starts_a_run_that_the_history_shows_done(jp_fetch):
    await make_schedule(jp_fetch)
    assert await entries(jp_fetch) == []
    started = await run_now(jp_fetch)
    assert started.code == 202
    answer = data(started)
    assert answer["name"] == NAME
    flow, _, run_id = answer["run"].partition("/")
    assert flow == "SquaresFlow"
    assert run_id

    entry = await wait_for_done(jp_fetch, run_id)
    assert entry["trigger"] == "run-now"
    assert entry["schedule"] == NAME
    assert entry["reason"] == ""
    assert entry["finished"] is not None
    assert entry["fire_time"] <= entry["finished"]
    # the run itself is in the store, done, with the schedule's parameters
    run = data(await jp_fetch("jupyter-flow", "runs", flow, run_id, params={"path": NB}))
    assert run["status"] == "done"


@pytest.mark.usefixtures("notebook")
async def test_history_is_newest_first_and_respects_limit(jp_fetch):
    schedule = await make_schedule(jp_fetch)
    store = ScheduleStore(schedule["root"])
    base = time.time() - 3600
    for i in range(5):
        store.record_fire(NAME, base + 60 * i, "skipped", reason=f"fire {i}")
    assert [e["reason"] for e in await entries(jp_fetch)] == [f"fire {i}" for i in range(4, -1, -1)]
    limited = await entries(jp_fetch, limit="2")
    assert [e["reason"] for e in limited] == ["fire 4", "fire 3"]
    assert all(e["trigger"] == "cron" and e["status"] == "skipped" for e in limited)
    code, body = await fails(history(jp_fetch, limit="many"))
    assert code == 400
    assert "limit" in body["message"]


@pytest.mark.usefixtures("notebook")
async def test_history_limit_defaults_to_20_and_is_capped(jp_fetch):
    schedule = await make_schedule(jp_fetch)
    store = ScheduleStore(schedule["root"])
    base = time.time() - 86400
    for i in range(205):
        store.record_fire(NAME, base + i, "skipped")
    assert len(await entries(jp_fetch)) == 20
    assert len(await entries(jp_fetch, limit="1000")) == 200


@pytest.mark.parametrize("call", [run_now, history])
@pytest.mark.usefixtures("notebook")
async def test_unknown_schedule_is_404(jp_fetch, call):
    code, body = await fails(call(jp_fetch, "ghost"))
    assert code == 404
    assert "ghost" in body["message"]


@pytest.mark.usefixtures("notebook")
async def test_run_now_needs_authentication(jp_fetch):
    await make_schedule(jp_fetch)
    with pytest.raises(HTTPClientError) as info:
        await run_now(jp_fetch, headers={"Authorization": ""})
    assert info.value.code == 403
    with pytest.raises(HTTPClientError) as info:
        await history(jp_fetch, headers={"Authorization": ""})
    assert info.value.code == 403
    assert await entries(jp_fetch) == []


@pytest.mark.usefixtures("notebook")
async def test_cookie_session_without_xsrf_token_cannot_run_now(jp_fetch):
    await make_schedule(jp_fetch)
    cookie = await login_cookie(jp_fetch)
    with pytest.raises(HTTPClientError) as info:
        await run_now(jp_fetch, headers={"Authorization": "", "Cookie": cookie})
    assert info.value.code == 403
    assert await entries(jp_fetch) == []


@pytest.mark.usefixtures("notebook")
async def test_run_now_body_must_be_json(jp_fetch):
    await make_schedule(jp_fetch)
    code, _ = await fails(run_now(jp_fetch, body="not json"))
    assert code == 400
    assert await entries(jp_fetch) == []
