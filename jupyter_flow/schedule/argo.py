"""The Argo Workflows target: WorkflowTemplate + CronWorkflow, applied as custom objects."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .argo_render import GROUP_VERSION, ArgoOptions, render
from .base import ScheduleTarget
from .bootstrap import object_name
from .kube_client import Objects, api_client, apply_all, delete_all
from .model import Applied, Schedule
from .pin import upload_package

MANAGED = "app.kubernetes.io/managed-by=jupyter-flow"


class ArgoTarget(ScheduleTarget):
    name = "argo"

    @property
    def argo(self) -> ArgoOptions:
        return ArgoOptions.from_settings(self.options)

    def validate(self, schedule: Schedule) -> None:
        super().validate(schedule)
        if "://" not in (self.argo.store_url or schedule.root):
            raise ConfigError(
                f"the store {schedule.root} is a local folder, which Argo's pods cannot read",
                hint="use an s3:// root (--root or JUPYTER_FLOW_ROOT) for Argo schedules",
            )

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return render(schedule, self.argo)

    def summary(self, schedule: Schedule) -> str:
        name = object_name(schedule)
        return super().summary(schedule) + f" (CronWorkflow {name} in {self.argo.namespace})"

    def _objects(self) -> Objects:
        return Objects(api_client(self.options))

    def apply(self, schedule: Schedule) -> Applied:
        upload_package(schedule.root, schedule.flow.source_path)
        apply_all(self._objects(), self.render(schedule), f"applying schedule {schedule.name!r}")
        return self.describe(schedule)

    def remove(self, schedule: Schedule) -> None:
        delete_all(self._objects(), self.render(schedule), f"deleting schedule {schedule.name!r}")

    def set_paused(self, schedule: Schedule) -> None:
        cron = self.render(schedule)[-1]
        self._objects().call("patch", cron, {"spec": {"suspend": schedule.paused}})

    def list_names(self) -> list[str]:
        objects = self._objects()
        custom = objects.k8s.client.CustomObjectsApi(objects.client)
        group, _, version = GROUP_VERSION.partition("/")
        found = custom.list_namespaced_custom_object(
            group, version, self.argo.namespace, "cronworkflows", label_selector=MANAGED
        )
        return sorted(
            item["metadata"]
            .get("labels", {})
            .get("jupyter-flow/schedule", item["metadata"]["name"])
            for item in found.get("items", [])
        )

    def run_now(self, schedule: Schedule) -> str:
        """A Workflow from the template (what ``argo submit --from cronwf/...`` does)."""
        cron = self.render(schedule)[-1]
        name = f"{object_name(schedule)}-manual"
        workflow = {
            "apiVersion": GROUP_VERSION,
            "kind": "Workflow",
            "metadata": {
                "generateName": f"{name}-",
                "namespace": self.argo.namespace,
                "labels": cron["metadata"]["labels"],
            },
            "spec": cron["spec"]["workflowSpec"],
        }
        objects = self._objects()
        created = objects.call("create", workflow)
        return str(created["metadata"]["name"])
