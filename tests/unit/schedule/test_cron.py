from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule.cron import (
    fire_times_between,
    next_fire_times,
    to_aws,
    validate_cron,
    validate_timezone,
)


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("0 3 * *", "has 4 fields; expected 5"),
        ("61 3 * * *", "invalid cron expression"),
        ("0 3 * * * *", "has 6 fields"),
        ("", "has 0 fields"),
        ("every day", "has 2 fields"),
    ],
)
def test_bad_cron_says_what_is_wrong_and_shows_the_fields(expr: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_cron(expr)
    assert says in str(err.value)
    assert "minute hour day-of-month month day-of-week" in str(err.value)


def test_seconds_field_is_a_local_only_extension() -> None:
    assert validate_cron("*/2  * * * * *", allow_seconds=True) == "*/2 * * * * *"
    with pytest.raises(ConfigError, match="expected 5 \\(or 6"):
        validate_cron("0 0 3 * * * *", allow_seconds=True)


def test_unknown_time_zone_suggests_the_iana_name() -> None:
    with pytest.raises(ConfigError) as err:
        validate_timezone("Berlin")
    assert "unknown time zone 'Berlin'" in str(err.value)
    assert "Europe/Berlin" in str(err.value)
    with pytest.raises(ConfigError):
        validate_timezone("../etc/passwd")


def test_next_fire_times_are_in_the_schedules_zone_across_dst() -> None:
    # Berlin leaves summer time on 2026-10-25: 03:00 local stays 03:00, UTC shifts by 1 h.
    start = datetime(2026, 10, 23, 12, 0, tzinfo=timezone.utc)
    fires = next_fire_times("0 3 * * *", "Europe/Berlin", 4, after=start)
    assert [f.strftime("%m-%d %H:%M") for f in fires] == [
        "10-24 03:00", "10-25 03:00", "10-26 03:00", "10-27 03:00",
    ]  # fmt: skip
    assert [f.utcoffset().total_seconds() / 3600 for f in fires] == [2, 1, 1, 1]  # type: ignore[union-attr]


def test_fire_times_between_is_half_open() -> None:
    base = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    fires = fire_times_between("*/10 * * * *", "UTC", base, base + 1800)
    assert [int(f - base) for f in fires] == [600, 1200, 1800]


@pytest.mark.parametrize(
    ("expr", "aws"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("0 6 * * 1-5", "cron(0 6 ? * 2-6 *)"),  # MON-FRI: AWS numbers SUN as 1
        ("0 6 * * 0,6", "cron(0 6 ? * 1,7 *)"),
        ("0 6 * * 5-7", "cron(0 6 ? * 6-7,1 *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("0 6 * * MON-FRI", "cron(0 6 ? * MON-FRI *)"),
    ],
)
def test_cron_translates_to_aws_six_fields(expr: str, aws: str) -> None:
    assert to_aws(expr) == aws


def test_aws_cannot_restrict_both_day_fields() -> None:
    with pytest.raises(ConfigError, match="both day-of-month and day-of-week"):
        to_aws("0 3 1 * 1")
    with pytest.raises(ConfigError, match="steps"):
        to_aws("0 3 * * */2")
