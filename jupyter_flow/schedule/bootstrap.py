"""How a scheduled run starts inside a container: fetch the pinned code, then run it.

Shared by the Kubernetes CronJob, the Argo templates and the AWS Batch job. The fetch step
needs only Python (and boto3 for an s3:// store): it reads the code package blob
``blobs/<k[:2]>/<k>`` from the store root, checks its SHA-256 against the key, and unpacks
it into ``/code`` when it is a tar.gz (a ``runtime.package`` package, which contains
jupyter_flow itself) or writes it as the module file otherwise (a package that is the module
alone). The driver then runs with ``/code`` first on ``PYTHONPATH``. The S3 endpoint comes
from ``JUPYTER_FLOW_S3_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, as for the task bootstrap.
"""

from __future__ import annotations

from .model import Schedule

CODE_DIR = "/code"

FETCH_SCRIPT = r"""
import hashlib, io, os, sys, tarfile
url, key, dest, name = sys.argv[1:5]
path = "blobs/%s/%s" % (key[:2], key)
if url.startswith("s3://"):
    import boto3, botocore.config
    bucket, _, prefix = url[5:].partition("/")
    obj = "/".join(p for p in (prefix.strip("/"), path) if p)
    end = os.environ.get("JUPYTER_FLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    cfg = botocore.config.Config(s3={"addressing_style": "path"} if end else {})
    s3 = boto3.client("s3", endpoint_url=end or None, config=cfg)
    data = s3.get_object(Bucket=bucket, Key=obj)["Body"].read()
else:
    with open(os.path.join(url[7:] if url.startswith("file://") else url, path), "rb") as fh:
        data = fh.read()
if hashlib.sha256(data).hexdigest() != key:
    sys.exit("jupyter_flow: code package %s is corrupt" % key[:12])
os.makedirs(dest, exist_ok=True)
if data[:2] == b"\x1f\x8b":
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                sys.exit("jupyter_flow: bad entry in the code package: %s" % m.name)
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
else:
    with open(os.path.join(dest, name), "wb") as fh:
        fh.write(data)
print("fetched code package %s into %s" % (key[:12], dest))
""".strip()


def fetch_command(schedule: Schedule, store_url: str) -> list[str]:
    flow = schedule.flow
    return ["python", "-c", FETCH_SCRIPT, store_url, flow.package_key, CODE_DIR, flow.module_file]


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
