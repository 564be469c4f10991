"""The Kubernetes target: a CronJob running the flow's driver in-cluster (steps as Jobs).

Manifests come from the pure ``kubernetes_render``; this module applies, pauses, lists,
triggers and removes them through the official client (``kube_client``).
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import ConfigError
from .base import ScheduleTarget
from .bootstrap import object_name
from .kube_client import Objects, api_client, apply_all, delete_all
from .kubernetes_render import KubeOptions, render
from .model import Applied, Schedule
from .pin import upload_package

MANAGED = "app.kubernetes.io/managed-by=jupyter-flow"


class KubernetesTarget(ScheduleTarget):
    name = "kubernetes"

    @property
    def kube(self) -> KubeOptions:
        return KubeOptions.from_settings(self.options)

    def validate(self, schedule: Schedule) -> None:
        super().validate(schedule)
        if "://" not in (self.kube.store_url or schedule.root):
            raise ConfigError(
                f"the store {schedule.root} is a local folder, which pods cannot read",
                hint="use an s3:// root (--root or JUPYTER_FLOW_ROOT) for Kubernetes schedules",
            )

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return render(schedule, self.kube)

    def summary(self, schedule: Schedule) -> str:
        return (
            super().summary(schedule)
            + f" (CronJob {object_name(schedule)} in {self.kube.namespace})"
        )

    def _objects(self) -> Objects:
        return Objects(api_client(self.options))

    def apply(self, schedule: Schedule) -> Applied:
        upload_package(schedule.root, schedule.flow.source_path)
        apply_all(self._objects(), self.render(schedule), f"applying schedule {schedule.name!r}")
        return self.describe(schedule)

    def remove(self, schedule: Schedule) -> None:
        delete_all(self._objects(), self.render(schedule), f"deleting schedule {schedule.name!r}")

    def set_paused(self, schedule: Schedule) -> None:
        cronjob = self.render(schedule)[-1]
        patch = {"spec": {"suspend": schedule.paused}}
        self._objects().call("patch", cronjob, patch)

    def list_names(self) -> list[str]:
        objects = self._objects()
        batch = objects.k8s.client.BatchV1Api(objects.client)
        found = batch.list_namespaced_cron_job(self.kube.namespace, label_selector=MANAGED)
        return sorted(
            (item.metadata.labels or {}).get("jupyter-flow/schedule", item.metadata.name)
            for item in found.items
        )

    def run_now(self, schedule: Schedule) -> str:
        """A Job from the CronJob's template, as ``kubectl create job --from=cronjob/...``."""
        cronjob = self.render(schedule)[-1]
        template = cronjob["spec"]["jobTemplate"]
        name = f"{object_name(schedule)}-manual-{int(time.time())}"[:63]
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": self.kube.namespace,
                "labels": template["metadata"]["labels"],
                "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            },
            "spec": template["spec"],
        }
        apply_all(self._objects(), [job], f"starting schedule {schedule.name!r}")
        return name
