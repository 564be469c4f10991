"""The Argo Workflows target: WorkflowTemplate + CronWorkflow, applied as custom objects."""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError
from . import settings_pin
from .argo_render import GROUP_VERSION, ArgoOptions, render, render_workflow, service_account
from .bootstrap import object_name
from .cluster import MANAGED, ClusterTarget
from .kubernetes_render import KubeOptions
from .model import Applied, Schedule

CONNECTION = ("kubeconfig", "context")  # how this machine reaches the cluster (kube_client)


class ArgoTarget(ClusterTarget):
    name = "argo"
    readers = "Argo's pods"
    title = "Argo"

    @property
    def argo(self) -> ArgoOptions:
        return ArgoOptions.from_settings(self.options)

    def pin_settings(self, schedule: Schedule) -> Schedule:
        """The step pods' settings: the Kubernetes executor's (``[default.kubernetes]``,
        ``JUPYTER_FLOW_K8S_*``), as a local ``--on kubernetes`` run gives its Jobs; a
        setting Argo cannot carry is refused naming the file, section and key."""
        settings_pin.check_known(
            self.settings, "argo", [*ArgoOptions.__dataclass_fields__, *CONNECTION]
        )
        options = settings_pin.argo_options(
            self.settings, self.argo.namespace, KubeOptions.__dataclass_fields__, os.environ
        )
        options = settings_pin.with_schedule_label(schedule, options)
        pinned = settings_pin.pin(schedule, self.settings, "kubernetes", options)
        existing = service_account(pinned, self.argo)
        if self.argo.service_account_annotations and existing:
            raise ConfigError(
                f"{settings_pin.where(self.settings, 'argo', 'service_account_annotations')} "
                f"annotates the ServiceAccount made for the schedule, but step pods run as "
                f"the existing {existing!r}, which jupyter_flow does not change",
                hint=f"annotate {existing!r} itself (kubectl annotate serviceaccount), or "
                "remove service_account to let the schedule make one",
            )
        return pinned

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return render(schedule, self.argo)

    def apply(self, schedule: Schedule) -> Applied:
        settings_pin.upload(schedule.root, schedule)  # kept with the code, by its key
        return super().apply(schedule)

    def steps_image(self) -> str | None:
        return self.argo.image or None  # [default.argo] image, before the pinned one

    def store_url(self) -> str | None:
        return self.argo.store_url

    def summary(self, schedule: Schedule) -> str:
        name = object_name(schedule)
        return super().summary(schedule) + f" (CronWorkflow {name} in {self.argo.namespace})"

    def list_names(self) -> list[str]:
        found = self._objects().list(GROUP_VERSION, "CronWorkflow", self.argo.namespace, MANAGED)
        return sorted(
            item["metadata"]
            .get("labels", {})
            .get("jupyter-flow/schedule", item["metadata"]["name"])
            for item in found
        )

    def run_now(self, schedule: Schedule) -> str:
        """A Workflow from the template (what ``argo submit --from cronwf/...`` does)."""
        objects = self._objects()
        created = objects.call("create", render_workflow(schedule, self.argo))
        return str(created["metadata"]["name"])
