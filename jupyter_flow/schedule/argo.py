"""The Argo Workflows target: WorkflowTemplate + CronWorkflow, applied as custom objects."""

from __future__ import annotations

from typing import Any

from .argo_render import GROUP_VERSION, ArgoOptions, render
from .bootstrap import object_name
from .cluster import MANAGED, ClusterTarget
from .model import Schedule


class ArgoTarget(ClusterTarget):
    name = "argo"
    readers = "Argo's pods"
    title = "Argo"

    @property
    def argo(self) -> ArgoOptions:
        return ArgoOptions.from_settings(self.options)

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return render(schedule, self.argo)

    def store_url(self) -> str | None:
        return self.argo.store_url

    def summary(self, schedule: Schedule) -> str:
        name = object_name(schedule)
        return super().summary(schedule) + f" (CronWorkflow {name} in {self.argo.namespace})"

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
