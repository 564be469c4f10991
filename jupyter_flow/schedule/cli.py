"""``jupyter flow schedule ...`` and ``jupyter flow scheduler``: thin over ``schedule.api``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from typing import Any

from .. import plugins
from ..errors import ParameterError

EXAMPLES = """examples:
  jupyter flow schedule create sweep_flow.py --cron "0 3 * * *" --timezone Europe/Berlin
  jupyter flow schedule create sweep_flow.py --cron "0 3 * * *" --on kubernetes \\
      --root s3://bucket/flows --dry-run
  jupyter flow schedule create report_flow.py --on-finish SweepFlow
  jupyter flow schedule show sweep-flow
  jupyter flow scheduler            # fire local schedules (keep it running)"""


def add_parser(subparsers: Any) -> None:
    sched = subparsers.add_parser(
        "schedule",
        help="Create and manage scheduled runs (local, kubernetes, argo, aws).",
        description="Create and manage scheduled runs of exported flows.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sched.set_defaults(func=lambda _args: _help(sched))
    sub = sched.add_subparsers(dest="schedule_verb", metavar="ACTION")

    def action(name: str, help_text: str, with_name: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text
        )
        if with_name:
            parser.add_argument("name", metavar="NAME", help="the schedule's name")
        parser.add_argument(
            "--root", help="store root (default: ./.jupyter_flow or JUPYTER_FLOW_ROOT)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        return parser

    p = action("create", "Schedule a flow module (its code is pinned as it is now).", False)
    p.add_argument("flow", metavar="FLOW", help="the flow module (path to a .py file)")
    p.add_argument("--cron", help='cron expression, e.g. "0 3 * * *" (03:00 every day)')
    p.add_argument("--timezone", "--tz", default="UTC", help="IANA time zone (default: UTC)")
    p.add_argument(
        "--on",
        dest="target",
        default="local",
        help=f"where it runs: {plugins.builtin_help('schedule')} (default: local)",
    )
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--name", help="schedule name (default: from the flow name, e.g. sweep-flow)")
    p.add_argument("--concurrency", default="forbid", choices=["forbid", "allow", "replace"])
    p.add_argument("--on-finish", metavar="OTHER_FLOW", help="run after OTHER_FLOW succeeds")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be applied; apply nothing"
    )
    p.add_argument(
        "--update", action="store_true", help="replace an existing schedule of this name"
    )
    p.set_defaults(func=cmd_create)

    action("list", "List schedules.", False).set_defaults(func=cmd_list)
    action("show", "Show a schedule and its next five fire times.").set_defaults(func=cmd_show)
    action("pause", "Pause a schedule.").set_defaults(func=cmd_pause)
    action("resume", "Resume a paused schedule (missed fires are not made up).").set_defaults(
        func=cmd_resume
    )
    action("delete", "Delete a schedule from its engine and from the store.").set_defaults(
        func=cmd_delete
    )
    action("history", "List a schedule's fires: run ids and statuses.").set_defaults(
        func=cmd_history
    )
    action("run-now", "Start one run of a schedule now.").set_defaults(func=cmd_run_now)

    d = subparsers.add_parser(
        "scheduler",
        help="Run the local scheduler daemon (fires local schedules; Ctrl-C or SIGTERM stops it).",
        description="Run the embedded scheduler for local schedules. Runs it started keep "
        "going when it stops; fires missed while it was down are run once or skipped (--missed).",
    )
    d.add_argument("--root", help="store root (default: ./.jupyter_flow or JUPYTER_FLOW_ROOT)")
    d.add_argument("--tick", type=float, help="seconds between checks (default 1)")
    d.add_argument(
        "--missed", choices=["run-once", "skip"], help="missed-fire policy (default run-once)"
    )
    d.add_argument("--grace", type=float, help="seconds late before a fire counts as missed (60)")
    d.add_argument(
        "--print-systemd-unit", action="store_true", help="print a systemd unit and exit"
    )
    d.set_defaults(func=cmd_scheduler)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--param {pair!r} is not NAME=VALUE", hint="e.g. --param n=10")
        params[name.strip()] = value
    return params


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _print_json(data: Any) -> int:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from . import api

    schedule = api.create_schedule(
        args.flow,
        args.cron,
        target=args.target,
        timezone=args.timezone,
        params=_params(args.param),
        name=args.name,
        concurrency=args.concurrency,
        on_finish=args.on_finish,
        root=args.root,
        dry_run=args.dry_run,
        update=args.update,
    )
    if args.dry_run:
        plan = api.render_schedule(schedule, args.root)
        if args.json:
            return _print_json(plan.to_json())
        print(f"# dry run, nothing applied: {plan.summary}")
        for doc in plan.documents:
            print("---")
            print(_yaml(doc))
        return 0
    if args.json:
        return _print_json(schedule.to_json())
    plan = api.render_schedule(schedule, args.root)
    print(f"created schedule {plan.summary} (code {schedule.flow.package_key[:12]})")
    if schedule.settings_key:
        print(f"  settings:  {_pinned_line(schedule.settings, schedule.settings_key)}")
    if schedule.cron:
        fires = api.next_fire_times(schedule.cron, schedule.timezone, 1)
        print(f"  next fire: {fires[0].isoformat()}")
    return 0


def _pinned_line(document: Mapping[str, Any], key: str) -> str:
    """The executor settings the driver runs steps with, in one line."""
    executor = str(document.get("executor", ""))
    options = (document.get("extra") or {}).get(executor, {})
    shown = [f"image {options.get('image')}"]
    for name in ("namespace", "queue", "service_account", "job_role_arn"):
        if options.get(name):
            shown.append(f"{name.replace('_', ' ')} {options[name]}")
    if options.get("secrets"):
        shown.append("secrets " + ", ".join(sorted(options["secrets"])))
    return f"{executor}, pinned {key[:12]} ({'; '.join(shown)})"


def cmd_list(args: argparse.Namespace) -> int:
    from . import api

    schedules = api.list_schedules(args.root)
    warning = api.unfired_warning(args.root)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        return _print_json([s.to_json() for s in schedules])
    if not schedules:
        print("no schedules")
        return 0
    print(f"{'name':<28}{'flow':<20}{'target':<12}{'state':<8}trigger")
    for s in schedules:
        state = "paused" if s.paused else "active"
        print(f"{s.name:<28}{s.flow.name:<20}{s.target:<12}{state:<8}{s.trigger}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from . import api

    info = api.show_schedule(args.name, args.root)
    if args.json:
        return _print_json(info)
    print(
        f"{info['name']}: {info['flow']['name']} on {info['target']}"
        f"{'  (paused)' if info['paused'] else ''}"
    )
    print(
        f"  code:        {info['flow']['source_path']} (pinned {info['flow']['package_key'][:12]})"
    )
    if info.get("settings_key"):
        print(f"  settings:    {_pinned_line(info['settings'], info['settings_key'])}")
    if info["cron"]:
        print(f"  cron:        {info['cron']}  ({info['timezone']})")
    if info["on_finish"]:
        print(f"  on finish:   {info['on_finish']}")
    print(f"  concurrency: {info['concurrency']}")
    if info["params"]:
        print("  parameters:  " + ", ".join(f"{k}={v}" for k, v in info["params"].items()))
    if info["next_fire_times"]:
        print("  next fires:")
        for when in info["next_fire_times"]:
            print(f"    {when}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    from . import api

    api.pause_schedule(args.name, args.root)
    print(f"paused {args.name}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from . import api

    api.resume_schedule(args.name, args.root)
    print(f"resumed {args.name}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from . import api

    api.delete_schedule(args.name, args.root)
    print(f"deleted {args.name}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from . import api

    entries = api.schedule_history(args.name, args.root)
    if args.json:
        return _print_json([e.to_json() for e in entries])
    if not entries:
        print("no fires yet")
        return 0
    print(f"{'fired':<21}{'status':<11}{'run':<28}{'trigger':<12}reason")
    for e in entries:
        print(
            f"{_when(e.fire_time):<21}{e.status:<11}{e.run_id or '-':<28}{e.trigger:<12}{e.reason}"
        )
    return 0


def cmd_run_now(args: argparse.Namespace) -> int:
    from . import api

    ident = api.run_now(args.name, args.root)
    if args.json:
        return _print_json({"run": ident})
    print(f"started {ident}")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from ..config import Settings
    from .daemon import Scheduler, options_from_env
    from .store import ScheduleStore
    from .systemd import systemd_unit

    root = Settings.load(root=args.root).root
    if args.print_systemd_unit:
        extra: list[str] = []
        if args.missed:
            extra += ["--missed", args.missed]
        print(systemd_unit(root, extra_args=tuple(extra)))
        return 0
    options = options_from_env(args.tick, args.missed, args.grace)
    Scheduler(ScheduleStore(root), options, out=sys.stdout).serve()
    return 0


def _yaml(doc: Any) -> str:
    """YAML when PyYAML is importable (kubectl-friendly), else indented JSON (valid YAML)."""
    try:
        import yaml
    except ModuleNotFoundError:
        return json.dumps(doc, indent=2, sort_keys=False)
    return str(yaml.safe_dump(doc, sort_keys=False)).rstrip()
