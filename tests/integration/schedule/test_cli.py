"""``jupyter flow schedule ...`` as a user types it: messages, exit codes, dry runs."""

from __future__ import annotations

import json


def test_cli_errors_are_one_clear_line_without_traceback(cli, write_flow, root: str) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("CliFlow")

        @flow.step(outputs="x")
        def one():
            return 1
        """,
        name="cli_flow.py",
    )
    bad_cron = cli("schedule", "create", str(path), "--cron", "0 3 * *")
    assert bad_cron.returncode == 2
    assert bad_cron.stderr.startswith("error: cron expression '0 3 * *' has 4 fields")
    assert "Traceback" not in bad_cron.stderr

    bad_target = cli("schedule", "create", str(path), "--cron", "0 3 * * *", "--on", "cloud")
    assert "unknown schedule 'cloud'" in bad_target.stderr
    assert "choose one of: argo, aws, kubernetes, local" in bad_target.stderr

    gone = cli("schedule", "delete", "nope")
    assert gone.returncode == 2
    assert "no schedule named 'nope'" in gone.stderr

    dry = cli("schedule", "create", str(path), "--cron", "0 3 * * *", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["documents"][0]["kind"] == "LocalSchedule"
    assert cli("schedule", "list").stdout.strip() == "no schedules"

    created = cli("schedule", "create", str(path), "--cron", "0 3 * * *", "--tz", "Asia/Tokyo")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created schedule cli-flow: CliFlow")
    shown = cli("schedule", "show", "cli-flow")
    assert "next fires:" in shown.stdout
    assert shown.stdout.count("T03:00:00+09:00") == 5
    assert "cli-flow" in cli("schedule", "list").stdout
    assert cli("schedule", "history", "cli-flow").stdout.strip() == "no fires yet"


def test_print_systemd_unit(cli, root: str) -> None:
    unit = cli("scheduler", "--print-systemd-unit", "--missed", "skip")
    assert unit.returncode == 0, unit.stderr
    text = unit.stdout
    assert "[Service]" in text and "[Install]" in text
    assert f"-m jupyter_flow scheduler --root {root} --missed skip" in text
    assert "KillMode=process" in text  # runs survive a scheduler restart


def test_run_with_schedule_tags_the_run_and_history_shows_it(cli, write_flow, root: str) -> None:
    """What a scheduled pod runs (`run ... --schedule NAME`) is what `history` lists."""
    from jupyter_flow.runtime.loader import load_flow
    from jupyter_flow.schedule.model import FlowShape, Schedule
    from jupyter_flow.schedule.store import ScheduleStore
    from jupyter_flow.store import open_store
    from jupyter_flow.store.records import Records

    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("TaggedFlow")

        @flow.step(outputs="x")
        def one():
            return 1
        """,
        name="tagged_flow.py",
    )
    shape = FlowShape.of(load_flow(path), str(path), "ab" * 32)
    ScheduleStore(root).put(Schedule("nightly", shape, "kubernetes", "0 3 * * *", root=root))

    tagged = cli("run", str(path), "--schedule", "nightly", "--quiet")
    untagged = cli("run", str(path), "--quiet")
    assert tagged.returncode == 0 and untagged.returncode == 0, tagged.stderr + untagged.stderr

    records = Records(open_store(root))
    by_schedule = {
        r.schedule: r.run_id
        for r in (records.read_run("TaggedFlow", i) for i in records.run_ids("TaggedFlow"))
        if r is not None
    }
    assert set(by_schedule) == {"nightly", ""}
    history = cli("schedule", "history", "nightly", "--json")
    assert history.returncode == 0, history.stderr
    assert [(e["run_id"], e["status"]) for e in json.loads(history.stdout)] == [
        (by_schedule["nightly"], "done")
    ]


def test_kubernetes_settings_are_pinned_or_refused_with_where_they_are(
    cli, write_flow, root: str, tmp_path, monkeypatch
) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("PinFlow")

        @flow.step(outputs="x")
        def one():
            return 1
        """,
        name="pin_flow.py",
    )
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "jupyter_flow.toml"
    toml.write_text('[default.kubernetes]\nnamespace = "flows"\nin_cluster = false\n')
    args = ("schedule", "create", str(path), "--cron", "0 3 * * *", "--on", "kubernetes")
    refused = cli(*args, "--root", "s3://bucket/flows", "--dry-run")
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        f"error: {toml} [default.kubernetes] in_cluster = false cannot hold for a scheduled run"
    )
    toml.write_text('[default.kubernetes]\nnamespace = "flows"\nsecrets = ["s3-creds"]\n')
    dry = cli(*args, "--root", "s3://bucket/flows", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    pod = json.loads(dry.stdout)["documents"][-1]["spec"]["jobTemplate"]["spec"]["template"]
    driver = pod["spec"]["containers"][0]
    assert "--settings" in driver["command"]
    assert driver["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
