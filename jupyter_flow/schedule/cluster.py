"""What the two in-cluster targets (Kubernetes CronJob, Argo CronWorkflow) share: pods read
the store, the rendered objects are applied, patched and deleted as one set."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from ..errors import ConfigError
from .base import ScheduleTarget
from .kube_client import Objects, api_client, apply_all, delete_all
from .model import Applied, Schedule
from .pin import upload_package
from .run_history import refresh_from_runs
from .store import ScheduleStore

MANAGED = "app.kubernetes.io/managed-by=jupyter-flow"


class ClusterTarget(ScheduleTarget):
    """The last rendered object is the schedule itself (the one ``suspend`` pauses)."""

    readers: ClassVar[str] = "pods"  # who must read the store, for the error message
    title: ClassVar[str] = "Kubernetes"

    @abstractmethod
    def store_url(self) -> str | None:
        """Where this target's pods find the store, when its options say."""

    def validate(self, schedule: Schedule) -> None:
        super().validate(schedule)
        if "://" not in (self.store_url() or schedule.root):
            raise ConfigError(
                f"the store {schedule.root} is a local folder, which {self.readers} cannot read",
                hint=f"use an s3:// root (--root or JUPYTER_FLOW_ROOT) for {self.title} schedules",
            )

    def _objects(self) -> Objects:
        return Objects(api_client(self.options))

    def apply(self, schedule: Schedule) -> Applied:
        upload_package(schedule.root, schedule.flow.source_path)
        apply_all(self._objects(), self.render(schedule), f"applying schedule {schedule.name!r}")
        return self.describe(schedule)

    def remove(self, schedule: Schedule) -> None:
        delete_all(self._objects(), self.render(schedule), f"deleting schedule {schedule.name!r}")

    def refresh(self, store: ScheduleStore, schedule: Schedule) -> None:
        """History from the runs this schedule started (tagged with its name) in the store."""
        refresh_from_runs(store, schedule, self.store_url())

    def set_paused(self, schedule: Schedule) -> None:
        scheduled = self.render(schedule)[-1]
        self._objects().call("patch", scheduled, {"spec": {"suspend": schedule.paused}})
