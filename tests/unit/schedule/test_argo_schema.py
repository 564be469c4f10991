"""What the Argo target renders passes Argo's own JSON schema (``api/jsonschema/schema.json``)
of every supported release, in strict mode: an object that does not declare
``additionalProperties`` gets ``false``, as ``kubernetes-validate --strict`` does, so a
misspelled or too-new field fails instead of being ignored by Argo. The schemas are
committed, pruned to the kinds we render (tests/data/argo/prune.py; README there)."""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule import argo_render
from jupyter_flow.schedule.argo import ArgoTarget
from jupyter_flow.schedule.model import Schedule

DATA = Path(__file__).resolve().parents[2] / "data" / "argo"
RELEASES = {"3.6": "v3.6.19", "3.7": "v3.7.18", "4.1": "v4.1.2"}
KINDS = ("WorkflowTemplate", "CronWorkflow", "Workflow")
STEPS = {  # [default.kubernetes] with every option a step pod carries
    "namespace": "flows",
    "image": "ghcr.io/acme/flows:2",
    "secrets": ["s3-creds"],
    "env": {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio.storage:9000"},
    "node_selector": {"pool": "flows"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "flows"}],
    "image_pull_secrets": ["ghcr"],
    "image_pull_policy": "IfNotPresent",
    "labels": {"team": "forecasting"},
    "annotations": {"cost-center": "42"},
    "disk": "20Gi",
    "run_as_user": 1000,
}
IRSA = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/flows-steps"}
# the steps' own service account (IRSA on it), or one made for the schedule and annotated
IDENTITIES = {
    "own-account": ({"service_account": "flows-s3"}, {}),
    "made-account": ({}, {"service_account_annotations": IRSA}),
}


def strict(node: Any) -> Any:
    """``node`` (a JSON schema) with ``additionalProperties: false`` on every object schema
    that lists ``properties`` and says nothing about others. Walks schemas only: the
    values of ``properties``/``definitions`` are schemas, their keys are names."""
    if isinstance(node, list):
        return [strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: {name: strict(s) for name, s in v.items()}
        if k in ("properties", "definitions", "patternProperties")
        else strict(v)
        for k, v in node.items()
    }
    if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@functools.cache
def schema(release: str) -> dict[str, Any]:
    return json.loads(gzip.decompress((DATA / f"schema-{RELEASES[release]}.json.gz").read_bytes()))


@functools.cache
def validator(release: str, kind: str) -> jsonschema.protocols.Validator:
    """Strict validator of one kind (its own definition as the root: precise errors)."""
    full = schema(release)
    root = {
        "$schema": full["$schema"],
        "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}",
        "definitions": strict(full["definitions"]),
    }
    cls = jsonschema.validators.validator_for(root)
    cls.check_schema(root)
    return cls(root)


def errors(release: str, doc: dict[str, Any]) -> list[str]:
    found = validator(release, doc["kind"]).iter_errors(doc)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found)


def rendered(schedule: Schedule, identity: str, **argo: object) -> list[dict[str, Any]]:
    """What ``schedule create --on argo`` applies (Argo's kinds) and ``run-now`` creates."""
    steps, own = IDENTITIES[identity]
    extra = {
        "kubernetes": {**STEPS, **steps},
        "argo": {"namespace": "flows", **own, **argo},
    }
    target = ArgoTarget(Settings(max_workers=8, retry_backoff=2.0, extra=extra))
    pinned = target.pin_settings(replace(schedule, target="argo"))
    docs = [d for d in target.render(pinned) if d["apiVersion"] == argo_render.GROUP_VERSION]
    return [*docs, argo_render.render_workflow(pinned, target.argo)]


def test_the_committed_schemas_name_their_source() -> None:
    for release, tag in RELEASES.items():
        comment = schema(release)["$comment"]
        assert comment.startswith(f"argoproj/argo-workflows {tag} ("), comment


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("release", RELEASES)
def test_every_argo_manifest_validates_strictly(
    golden_schedule: Schedule, release: str, identity: str
) -> None:
    """The default render (``argo_version`` 3.6, the oldest supported) runs on every
    release; rendered for a release, it uses what that release has (3.7: backoff.cap)."""
    for argo_version in sorted({"3.6", release}):
        docs = rendered(golden_schedule, identity, argo_version=argo_version)
        assert [d["kind"] for d in docs] == list(KINDS)
        for doc in docs:
            assert errors(release, doc) == [], (argo_version, doc["kind"])
        templates = {t["name"]: t for t in docs[0]["spec"]["templates"]}
        # the shapes the schema must have seen: a GPU step, retries, placement, parallelism
        assert "nvidia.com/gpu" in templates["train"]["container"]["resources"]["limits"]
        assert templates["extract"]["retryStrategy"]["limit"] == "2"
        assert templates["train"]["nodeSelector"] == {"pool": "flows"}
        assert docs[0]["spec"]["parallelism"] == 8


def test_backoff_is_capped_as_locally_only_where_argo_can(golden_schedule: Schedule) -> None:
    """3.6 has no ``backoff.cap``: a 3.7 render would not pass 3.6's schema, which is why
    ``argo_version`` defaults to the oldest release and caps only when told a newer one."""
    default, newer = (
        rendered(golden_schedule, "made-account", **extra)[0]
        for extra in ({}, {"argo_version": "3.7"})
    )

    def backoff(template: dict[str, Any]) -> dict[str, str]:
        by_name = {t["name"]: t for t in template["spec"]["templates"]}
        return dict(by_name["extract"]["retryStrategy"]["backoff"])

    assert backoff(default) == {"duration": "2s", "factor": "2"}
    assert backoff(newer) == {"duration": "2s", "factor": "2", "cap": "60s"}
    assert any("'cap' was unexpected" in e for e in errors("3.6", newer))
    assert errors("3.7", newer) == errors("4.1", newer) == []


@pytest.mark.parametrize("release", RELEASES)
def test_a_misspelled_field_is_caught(golden_schedule: Schedule, release: str) -> None:
    """Strict mode is what makes the test able to fail: Argo itself ignores unknown keys."""
    template, cron, _ = rendered(golden_schedule, "made-account")
    step = template["spec"]["templates"][2]
    step["retryStategy"] = step.pop("retryStrategy", {"limit": "1"})  # a template key
    step["container"]["comand"] = step["container"].pop("command")  # a container key
    cron["spec"]["schedule"] = cron["spec"].pop("schedules")[0]  # 3.5's name, gone in 4.0
    found = errors(release, template)
    assert any("'retryStategy' was unexpected" in e for e in found), found
    assert any("'comand' was unexpected" in e for e in found), found
    # the singular schedule: deprecated in 3.6/3.7 (still a field), removed from 4.0
    cron_errors = errors(release, cron)
    assert any("'schedule' was unexpected" in e for e in cron_errors) == (release >= "4")


@pytest.mark.parametrize("version", ["3.5", "3", 3.7, "latest"])
def test_an_argo_version_that_cannot_run_the_manifests_is_refused(
    golden_schedule: Schedule, version: object
) -> None:
    with pytest.raises(ConfigError, match=r"\[default.argo\] argo_version") as caught:
        rendered(golden_schedule, "made-account", argo_version=version)
    assert "quoted" in (caught.value.hint or "")
