"""The schedule-target seam: one interface, chosen by name through ``plugins``.

``render`` is pure (the documents a target would apply, from the schedule alone) and is
what golden tests and ``create --dry-run`` show; ``apply``/``remove``/``list_names``/
``run_now`` talk to the engine and are the only methods that import an SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from .model import Applied, Schedule
from .store import ScheduleStore


class ScheduleTarget(ABC):
    name = ""
    allows_seconds = False  # cron with a leading seconds field
    supports_on_finish = False  # trigger on another flow's success

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def options(self) -> Mapping[str, Any]:
        """This target's settings (``[default.<name>]`` in jupyter_flow.toml)."""
        return self.settings.backend_options(self.name)

    def validate(self, schedule: Schedule) -> None:
        """Raise ``ConfigError`` for what this engine cannot do; nothing is applied yet."""
        if schedule.on_finish and not self.supports_on_finish:
            raise ConfigError(
                f"--on-finish is not supported by the {self.name!r} target",
                hint="use --on local for flows triggered by another flow's success",
            )
        if not schedule.on_finish and not schedule.cron:
            raise ConfigError("a schedule needs --cron (or --on-finish OTHER_FLOW)")
        if schedule.on_finish and schedule.cron:
            raise ConfigError(
                "a schedule runs on --cron or on --on-finish, not both",
                hint="create two schedules (with different --name) for both triggers",
            )

    def pin_settings(self, schedule: Schedule) -> Schedule:
        """``schedule`` with the executor settings its driver will use pinned (at create);
        ``ConfigError`` for a setting the driver could not honour. Default: none (the
        local target runs with this machine's settings)."""
        return schedule

    def steps_image(self) -> str | None:
        """The image this target gives steps without ``image=`` when it is not the pinned
        executor's (what their packages are resolved for); None: the executor's."""
        return None

    @abstractmethod
    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        """The documents this target applies for ``schedule`` (pure, deterministic)."""

    def describe(self, schedule: Schedule) -> Applied:
        return Applied(self.name, self.summary(schedule), self.render(schedule))

    def summary(self, schedule: Schedule) -> str:
        return f"{schedule.name}: {schedule.flow.name} {schedule.trigger} on {self.name}"

    @abstractmethod
    def apply(self, schedule: Schedule) -> Applied:
        """Create or update the schedule in the engine; all or nothing."""

    @abstractmethod
    def remove(self, schedule: Schedule) -> None:
        """Delete what ``apply`` created; already gone is fine."""

    def set_paused(self, schedule: Schedule) -> None:
        """Apply ``schedule.paused`` (default: re-apply the whole schedule)."""
        self.apply(schedule)

    @abstractmethod
    def list_names(self) -> list[str]:
        """Names of the schedules this target finds in its engine."""

    def refresh(self, store: ScheduleStore, schedule: Schedule) -> None:
        """Bring the schedule's history up to date before it is shown (default: nothing)."""

    @abstractmethod
    def run_now(self, schedule: Schedule) -> str:
        """Start one run outside the timetable; returns what identifies it in the engine."""
