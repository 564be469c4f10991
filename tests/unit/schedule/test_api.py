"""The Python API: bad inputs are clear errors and leave nothing behind; good ones persist."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError, FlowDefinitionError, FlowError, ParameterError
from jupyter_flow.schedule import api
from jupyter_flow.schedule.store import ScheduleStore


def _nothing_created(root: str) -> None:
    db = Path(root) / "schedules.sqlite"
    if db.exists():
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT COUNT(*) FROM schedules").fetchone() == (0,)
    assert not (Path(root) / "schedule-code").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"cron": "0 3 * *"}, ConfigError, "expected 5"),
        ({"cron": "0 25 * * *"}, ConfigError, "invalid cron expression"),
        ({"timezone": "Mars/Olympus"}, ConfigError, "unknown time zone"),
        ({"target": "cloud"}, ConfigError, "unknown schedule 'cloud'"),
        ({"concurrency": "queue"}, ConfigError, "unknown concurrency policy"),
        ({"params": {"nope": "1"}}, ParameterError, "unknown parameter 'nope'"),
        ({"params": {"n": "many"}}, ParameterError, "expects a int"),
        ({"name": "Nightly_Run"}, ConfigError, "schedule name 'Nightly_Run' is not valid"),
        ({"cron": "*/5 * * * * *", "target": "kubernetes"}, ConfigError, "local target only"),
        ({"target": "kubernetes"}, ConfigError, "pods cannot read"),
        ({"target": "aws"}, ConfigError, "AWS schedules need scheduler_role_arn"),
        ({"target": "argo", "on_finish": "Other"}, ConfigError, "--on-finish is not supported"),
        ({"cron": None}, ConfigError, "needs --cron"),
        ({"on_finish": "Other"}, ConfigError, "not both"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(
    write_flow, root: str, kwargs: dict, error: type[FlowError], says: str
) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("TinyFlow", parameters={"n": 1})

        @flow.step(outputs="m")
        def double(n):
            return 2 * n
        """
    )
    args = {"cron": "0 3 * * *", **kwargs}
    cron = args.pop("cron")
    with pytest.raises(error) as err:
        api.create_schedule(path, cron, root=root, **args)
    assert says in str(err.value)
    _nothing_created(root)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("x = 1\n", "must define exactly one Flow"),
        ("from jupyter_flow import Flow\nflow = Flow('F'\n", "syntax error"),
        ("import not_a_module_anywhere\n", "importing"),
    ],
)
def test_a_flow_that_does_not_load_is_not_scheduled(
    write_flow, root: str, source: str, says: str
) -> None:
    path = write_flow(source)
    with pytest.raises(FlowDefinitionError, match=says):
        api.create_schedule(path, "0 3 * * *", root=root)
    _nothing_created(root)


def test_missing_flow_file(root: str, tmp_path: Path) -> None:
    with pytest.raises(FlowDefinitionError, match="does not exist"):
        api.create_schedule(tmp_path / "nope.py", "0 3 * * *", root=root)


def test_unknown_schedule_names_the_existing_ones(root: str) -> None:
    for call in (api.delete_schedule, api.pause_schedule, api.schedule_history, api.run_now):
        with pytest.raises(ConfigError, match="no schedule named 'ghost'") as err:
            call("ghost", root=root)
        assert "existing schedules: none" in str(err.value)


def test_create_list_show_pause_resume_delete(write_flow, root: str) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("NightlyReport", parameters={"days": 7})

        @flow.step(outputs="total")
        def count(days):
            return days
        """,
        name="report_flow.py",
    )
    created = api.create_schedule(
        path, "30 2 * * *", timezone="Europe/Berlin", params={"days": 30}, root=root
    )
    assert created.name == "nightly-report"
    assert created.params == {"days": "30"}
    assert json.loads(json.dumps(created.to_json()))["flow"]["name"] == "NightlyReport"
    assert [s.name for s in api.list_schedules(root)] == ["nightly-report"]

    shown = api.show_schedule("nightly-report", root)
    assert len(shown["next_fire_times"]) == 5
    assert all(
        t.endswith(("+01:00", "+02:00")) and "T02:30:00" in t for t in shown["next_fire_times"]
    )

    assert api.pause_schedule("nightly-report", root).paused
    assert api.show_schedule("nightly-report", root)["next_fire_times"] == []
    assert not api.resume_schedule("nightly-report", root).paused

    # the code is pinned: re-creating needs an explicit update, which pins the new version
    path.write_text(path.read_text().replace("return days", "return days * 2"))
    with pytest.raises(ConfigError, match="already exists") as err:
        api.create_schedule(path, "30 2 * * *", root=root)
    assert "--update" in str(err.value)
    updated = api.create_schedule(path, "0 4 * * *", root=root, update=True)
    assert updated.flow.package_key != created.flow.package_key
    assert api.get_schedule("nightly-report", root).cron == "0 4 * * *"

    api.delete_schedule("nightly-report", root)
    assert api.list_schedules(root) == []
    with pytest.raises(ConfigError):
        api.delete_schedule("nightly-report", root)


def test_dry_run_renders_but_applies_nothing(write_flow, root: str) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("DryFlow")

        @flow.step(outputs="x")
        def one():
            return 1
        """
    )
    schedule = api.create_schedule(path, "0 3 * * *", root=root, dry_run=True)
    plan = api.render_schedule(schedule, root)
    assert plan.documents[0]["kind"] == "LocalSchedule"
    assert plan.documents[0]["trigger"] == {"cron": "0 3 * * *", "timezone": "UTC"}
    assert ScheduleStore(root).all() == []
    _nothing_created(root)


def test_next_fire_times_api() -> None:
    fires = api.next_fire_times("0 12 * * *", "America/New_York", 3)
    assert len(fires) == 3
    assert all(f.hour == 12 and str(f.tzinfo) == "America/New_York" for f in fires)
