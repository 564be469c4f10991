"""Cron expressions and time zones, validated up front so a bad schedule is never stored.

Five fields (``minute hour day-of-month month day-of-week``) work on every target. A sixth,
*leading* seconds field (``*/2 * * * * *``, Quartz style) is accepted by the local scheduler
only: Kubernetes, Argo and EventBridge fire at most once a minute. AWS's own six-field form
(with a year and ``?``) is produced by ``to_aws`` and never typed by the user.
"""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from ..errors import ConfigError

_FIELDS = "minute hour day-of-month month day-of-week"
_EXAMPLES = '"0 3 * * *" (03:00 daily), "*/15 * * * *" (every 15 minutes), "0 6 * * 1-5"'


def has_seconds(expr: str) -> bool:
    return len(expr.split()) == 6


def validate_cron(expr: str, *, allow_seconds: bool = False) -> str:
    """The normalized expression (single spaces), or a ``ConfigError`` saying what is wrong."""
    text = " ".join(str(expr or "").split())
    fields = text.split(" ") if text else []
    allowed = (5, 6) if allow_seconds else (5,)
    if len(fields) not in allowed:
        extra = " (or 6 with leading seconds)" if allow_seconds else ""
        if len(fields) == 6 and not allow_seconds:
            extra = " (a leading seconds field works on the local target only)"
        raise ConfigError(
            f"cron expression {expr!r} has {len(fields)} fields; expected 5{extra}",
            hint=f"the fields are: {_FIELDS}; e.g. {_EXAMPLES}",
        )
    if not croniter.is_valid(text, second_at_beginning=len(fields) == 6):
        raise ConfigError(
            f"invalid cron expression {expr!r}",
            hint=f"the fields are: {_FIELDS}; e.g. {_EXAMPLES}",
        )
    return text


def validate_timezone(name: str) -> ZoneInfo:
    """The zone for an IANA name (``Europe/Berlin``, ``UTC``); a clear error otherwise."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        close = sorted(z for z in available_timezones() if _stem(z) == _stem(str(name)))
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown time zone {name!r}",
            hint=hint + "use an IANA name such as UTC, Europe/Berlin or America/New_York",
        ) from None


def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].lower().replace(" ", "_")


def fire_times_between(expr: str, tz: str, after: float, until: float) -> list[float]:
    """Fire times (epoch seconds) in ``(after, until]``, oldest first."""
    zone = validate_timezone(tz)
    start = datetime.fromtimestamp(after, zone)
    it = croniter(expr, start, second_at_beginning=has_seconds(expr))
    found: list[float] = []
    while True:
        nxt = float(it.get_next(float))
        if nxt > until:
            return found
        found.append(nxt)
        if len(found) > 10_000:  # a long outage with a per-second schedule: keep the tail
            found = found[-1:]


def next_fire_times(
    cron: str, timezone: str = "UTC", n: int = 5, *, after: datetime | None = None
) -> list[datetime]:
    """The next ``n`` fire times as aware datetimes in the schedule's zone."""
    expr = validate_cron(cron, allow_seconds=True)
    zone = validate_timezone(timezone)
    start = (after or datetime.now(dt_timezone.utc)).astimezone(zone)
    it = croniter(expr, start, second_at_beginning=has_seconds(expr))
    return [it.get_next(datetime).astimezone(zone) for _ in range(n)]


_DOW_RANGE = re.compile(r"^(\d)-(\d)$")
_DOW_NUMBER = re.compile(r"\d")


def _aws_dow(part: str) -> str:
    """One day-of-week item: 0..7 (0 and 7 are Sunday) -> 1..7 (1 is Sunday); names as is."""
    match = _DOW_RANGE.match(part)
    if match:
        low, high = int(match.group(1)), int(match.group(2))
        if high == 7:  # "5-7" is FRI..SUN: AWS numbers Sunday 1, so split the range
            return f"{low % 7 + 1}-7,1" if low > 0 else "1-7"
        return f"{low + 1}-{high + 1}"
    return _DOW_NUMBER.sub(lambda m: str(int(m.group()) % 7 + 1), part, count=1)


def to_aws(expr: str) -> str:
    """``cron(...)`` in EventBridge's six-field form: year added, ``?`` in exactly one of the
    day fields, days of week numbered 1 (SUN) to 7 (SAT) instead of 0/7 to 6."""
    minute, hour, dom, month, dow = validate_cron(expr).split(" ")
    if dom != "*" and dow != "*":
        raise ConfigError(
            f"cron {expr!r} restricts both day-of-month and day-of-week; AWS cannot express that",
            hint="restrict only one of the two day fields (use * for the other)",
        )
    if "/" in dow:
        raise ConfigError(
            f"cron {expr!r}: AWS does not accept steps ('/') in the day-of-week field",
            hint="list the days instead, e.g. 1,3,5",
        )
    if dow == "*":
        dow = "?"
    else:
        dom = "?"
        dow = ",".join(_aws_dow(part) for part in dow.split(","))
    return f"cron({minute} {hour} {dom} {month} {dow} *)"
