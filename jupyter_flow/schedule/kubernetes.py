"""The Kubernetes target: a CronJob running the flow's driver in-cluster (steps as Jobs).

Manifests come from the pure ``kubernetes_render``; this module applies, pauses, lists,
triggers and removes them through the official client (``kube_client``).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import replace
from typing import Any

from . import settings_pin
from .bootstrap import object_name
from .cluster import MANAGED, ClusterTarget
from .kube_client import apply_all, executor_namespace
from .kubernetes_render import KubeOptions, render
from .model import Applied, Schedule


class KubernetesTarget(ClusterTarget):
    name = "kubernetes"

    @functools.cached_property
    def kube(self) -> KubeOptions:
        """The target's options; without a ``namespace`` setting, the one a local
        ``run --on kubernetes`` would use (``JUPYTER_FLOW_K8S_NAMESPACE``, else the
        kubeconfig context's, else ``default``), so scheduled steps find the same Secrets."""
        options = KubeOptions.from_settings(self.options)
        if "namespace" in self.options:
            return options
        return replace(options, namespace=executor_namespace(self.options, os.environ))

    def pin_settings(self, schedule: Schedule) -> Schedule:
        """The Kubernetes executor settings a local ``--on kubernetes`` run would use
        (``[default.kubernetes]``, ``JUPYTER_FLOW_K8S_*``), for the CronJob's driver."""
        options = settings_pin.kubernetes_options(
            self.settings, self.kube.namespace, KubeOptions.__dataclass_fields__, os.environ
        )
        options = settings_pin.with_schedule_label(schedule, options)
        return settings_pin.pin(schedule, self.settings, "kubernetes", options)

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return render(schedule, self.kube)

    def apply(self, schedule: Schedule) -> Applied:
        settings_pin.upload(schedule.root, schedule)  # where the package goes too
        return super().apply(schedule)

    def store_url(self) -> str | None:
        return self.kube.store_url

    def summary(self, schedule: Schedule) -> str:
        return (
            super().summary(schedule)
            + f" (CronJob {object_name(schedule)} in {self.kube.namespace})"
        )

    def list_names(self) -> list[str]:
        found = self._objects().list("batch/v1", "CronJob", self.kube.namespace, MANAGED)
        return sorted(
            item["metadata"]
            .get("labels", {})
            .get("jupyter-flow/schedule", item["metadata"]["name"])
            for item in found
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
