"""How a scheduled run starts inside a container: fetch the pinned code, then run it.

Shared by the Kubernetes CronJob, the Argo templates and the AWS Batch job. The fetch step
is the tasks' own launcher (``runtime/launcher.py``, stdlib; it pip-installs into ``/code``
what the store and the driver need and the image lacks, ``driver_requirements``; the
renderer says what its driver needs, as ``driver_needs``): it
reads the code package blob from the store root, checks it against its key, and unpacks it
into ``/code`` when it is a tar.gz (a ``runtime.package`` package, which contains
jupyter_flow itself) or writes it as the module file otherwise (a package that is the module
alone). The driver then runs with ``/code`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..runtime.bootstrap import packed_launcher_command
from .model import Schedule

CODE_DIR = "/code"


def fetch_command(
    schedule: Schedule, store_url: str, driver_needs: Sequence[str] = ()
) -> list[str]:
    """``runtime/launcher.py`` in fetch mode: the pinned package, checked, into ``/code``.
    ``driver_needs``: what the code run after the fetch needs beyond the store's client
    (the renderer knows: a CronJob's driver needs the ``kubernetes`` SDK, a step nothing).
    Packed into a short ``python -c``: on AWS the command travels in a SubmitJob's
    container overrides, which Batch caps at 8192 characters."""
    flow = schedule.flow
    return packed_launcher_command(
        "python",
        "fetch",
        store_url,
        flow.package_key,
        CODE_DIR,
        flow.module_file,
        *driver_requirements(store_url, driver_needs),
    )


# what jupyter-flow[aws] declares (pyproject.toml; a test keeps them equal): ranges, not
# this machine's versions, so a render stays a function of the schedule alone
S3_NEEDS = ("boto3>=1.34", "blake3>=1.0")


def driver_requirements(store_url: str, driver_needs: Sequence[str] = ()) -> list[str]:
    """What the fetch installs into ``/code`` when the image lacks it: boto3 for an S3
    store (the AWS driver submits with it too), then what the renderer said its driver
    needs."""
    needs = list(S3_NEEDS) if store_url.startswith("s3://") else []
    return needs + list(driver_needs)


def driver_command(schedule: Schedule, store_url: str, executor: str) -> list[str]:
    """The flow's driver from the pinned package, steps submitted through ``executor``; the
    run is tagged with the schedule's name, which is how ``schedule history`` finds it."""
    command = ["python", "-m", "jupyter_flow", "run", f"{CODE_DIR}/{schedule.flow.module_file}"]
    command += ["--root", store_url, "--on", executor, "--quiet"]
    command += ["--schedule", schedule.name]
    if schedule.settings_key:  # the executor settings pinned at create (settings_pin.py)
        command += ["--settings", schedule.settings_key]
    for key, value in sorted(schedule.params.items()):
        command += ["--param", f"{key}={value}"]
    return command


def object_name(schedule: Schedule) -> str:
    """The engine-side name: ``jf-`` + the schedule name (CronJob names allow 52 chars)."""
    return f"jf-{schedule.name}"[:52].rstrip("-")


def labels(schedule: Schedule) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "jupyter-flow",
        "jupyter-flow/schedule": schedule.name,
        "jupyter-flow/flow": schedule.flow.name,
    }
