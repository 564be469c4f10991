"""What a container runs first, before jupyter_flow can be imported from the code package.

Executors start it as ``python -c <this file's text> ARGS`` (``bootstrap.task_command``,
``schedule.bootstrap.fetch_command``), so any image with Python runs a step: it uses the
standard library only (boto3 for an ``s3://`` store, imported then) and nothing of
jupyter_flow. Two modes:

- a task (``[SPEC]``, as ``python -m jupyter_flow.task``): read the spec (JSON, ``@file``,
  ``-``, ``$JUPYTER_FLOW_TASK_SPEC``, or the blob ``$JUPYTER_FLOW_TASK_SPEC_KEY`` of the store
  ``$JUPYTER_FLOW_ROOT``), fetch and unpack its code package into the cache once per key,
  then hand over to ``jupyter_flow.runtime.bootstrap.main`` from that package;
- ``fetch URL KEY DEST NAME [REQUIREMENT...]``: a scheduled driver's code package (and
  what it needs that the image lacks) into ``DEST``.

Blobs are checked against their keys (SHA-256 for packages and specs; BLAKE3 keys need the
``blake3`` module). A failure says which step failed and what to do, exits 2, and is
recorded as the attempt's failure when the store can be written.

What the run needs that the image lacks (boto3 for an S3 store; the submitter lists it,
pinned to its own versions, in ``$JUPYTER_FLOW_REQUIRES``, or a ``fetch`` gets it as extra
arguments) is pip-installed once per set into the cache (``--target`` a temporary folder,
then renamed: tasks on one node share it safely) and put on ``sys.path``, as Metaflow's
bootstrap does. Chosen over presigned URLs because the task itself, not only this fetch,
reads and writes the store with boto3. Without pip or PyPI access it exits 78
(``EXIT_MISSING``) naming what is missing and the image to use, and records that with the
presigned PUT URL ``$JUPYTER_FLOW_FAILURE_URL`` when the executor gave one (urllib only).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

EXIT_LAUNCH = 2  # as bootstrap.EXIT_BOOTSTRAP: the step never ran
EXIT_MISSING = 78  # EX_CONFIG: the run needs a package the image lacks, pip failed
REQUIRES_ENV = "JUPYTER_FLOW_REQUIRES"  # pip requirements, space-separated, pinned
FAILURE_URL_ENV = "JUPYTER_FLOW_FAILURE_URL"  # a presigned PUT of the attempt's record
PIP = ("-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--quiet")
SPEC_ENV, SPEC_KEY_ENV = "JUPYTER_FLOW_TASK_SPEC", "JUPYTER_FLOW_TASK_SPEC_KEY"
ROOT_ENV, TASK_ENV, FLOW_ENV = "JUPYTER_FLOW_ROOT", "JUPYTER_FLOW_TASK_ID", "JUPYTER_FLOW_FLOW"
BUG = "this is a bug of jupyter_flow's launcher: please report it with this message"


class LaunchError(Exception):
    """A step of the launch failed: ``step`` says which, ``hint`` what to do."""

    def __init__(
        self, step: str, message: str, hint: str = "", *, recordable: bool = True, code: int = 2
    ):
        super().__init__(message)
        self.step, self.message, self.hint, self.recordable = step, message, hint, recordable
        self.code = code

    def text(self) -> str:
        hint = f"\n  hint: {self.hint}" if self.hint else ""
        return f"{self.step}: {self.message}{hint}"


# -- the store ------------------------------------------------------------------------
def blob_path(key: str) -> str:
    """Where the store keeps the blob ``key`` (as ``store.blobs.blob_path``)."""
    digest = key[3:] if key.startswith("b3-") else key
    return f"blobs/{digest[:2]}/{key}"


def _s3(url: str, env: Mapping[str, str]) -> tuple[Any, str, str]:
    """A client, the bucket and the key prefix of an ``s3://bucket/prefix`` store."""
    try:
        import boto3
        import botocore.config
    except ImportError:
        raise LaunchError(
            "open the store",
            f"the store {url} is on S3 and this image has no boto3",
            "use an image with boto3 installed (pip install boto3), or a local store",
            recordable=False,
        ) from None
    bucket, _, prefix = url[len("s3://") :].partition("/")
    endpoint = env.get("JUPYTER_FLOW_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3")
    config = botocore.config.Config(s3={"addressing_style": "path"} if endpoint else {})
    region = env.get("JUPYTER_FLOW_S3_REGION") or None
    client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region, config=config)
    return client, bucket, prefix.strip("/")


def _local(url: str, path: str) -> Path:
    return Path(url[len("file://") :] if url.startswith("file://") else url) / path


def read_document(url: str, path: str, env: Mapping[str, str]) -> bytes | None:
    """The bytes at ``path`` in the store ``url``; None when it does not exist."""
    if not url.startswith("s3://"):
        try:
            return _local(url, path).read_bytes()
        except FileNotFoundError:
            return None
    client, bucket, prefix = _s3(url, env)
    try:
        answer = client.get_object(Bucket=bucket, Key=f"{prefix}/{path}" if prefix else path)
    except client.exceptions.NoSuchKey:
        return None
    data: bytes = answer["Body"].read()
    return data


def write_document(url: str, path: str, data: bytes, env: Mapping[str, str]) -> None:
    """Write a whole document, atomically (a rename locally, one PUT on S3)."""
    if url.startswith("s3://"):
        client, bucket, prefix = _s3(url, env)
        client.put_object(Bucket=bucket, Key=f"{prefix}/{path}" if prefix else path, Body=data)
        return
    target = _local(url, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def digest_of(key: str, data: bytes) -> str:
    """``data`` hashed the way ``key`` was made, formatted as a key."""
    if not key.startswith("b3-"):
        return hashlib.sha256(data).hexdigest()
    try:
        import blake3  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise LaunchError(
            "check a blob",
            f"{key[:15]} is a BLAKE3 key and this image has no blake3 module to check it",
            "install blake3 in the image (pip install blake3)",
        ) from None
    return "b3-" + str(blake3.blake3(data).hexdigest())


def fetch_blob(url: str, key: str, what: str, env: Mapping[str, str]) -> bytes:
    """The blob ``key`` (the ``what`` of the task), checked against its key."""
    step = f"fetch the {what}"
    try:
        data = read_document(url, blob_path(key), env)
    except LaunchError:
        raise
    except Exception as err:  # no route, no credentials, access denied...
        raise LaunchError(
            step,
            f"cannot read {blob_path(key)} from the store {url}: {type(err).__name__}: {err}",
            "check the store URL, the network route and the credentials of this container "
            "(JUPYTER_FLOW_S3_ENDPOINT_URL, the AWS role or secret)",
            recordable=False,
        ) from None
    if data is None:
        raise LaunchError(
            step, f"the store {url} has no {what} {key[:12]}", "start the run again to upload it"
        )
    if digest_of(key, data) != key:
        raise LaunchError(
            step,
            f"the {what} {key[:12]} is corrupt: its bytes in {url} do not match its key",
            "start the run again to upload a fresh copy",
        )
    return data


# -- the code package -------------------------------------------------------------------
def unpack(data: bytes, dest: Path) -> None:
    """Extract a tar.gz of regular relative files into ``dest`` (it came over a network)."""
    step, hint = "unpack the code package", "start the run again to upload a fresh package"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                if not member.isfile() or name.startswith("/") or ".." in name.split("/"):
                    raise LaunchError(
                        step, f"its entry {name!r} is not a plain relative file", hint
                    )
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # pragma: no cover - Python < 3.10.12; every member was checked above
                tar.extractall(dest)
    except (tarfile.TarError, EOFError, OSError) as err:  # zlib.error is an OSError too
        why = f"{type(err).__name__}: {err}"
        if isinstance(err, OSError) and err.errno is not None:  # ENOSPC, EROFS, EACCES...
            raise LaunchError(
                step,
                f"cannot write {dest}: {why}",
                "free disk space in the container or point JUPYTER_FLOW_CACHE at a writable folder",
            ) from None
        raise LaunchError(step, f"it is not a tar.gz archive ({why})", hint) from None


def private_tmp(kind: str) -> Path:
    """``$TMPDIR/jupyter_flow-<uid>/<kind>``, refused unless only this user can enter it
    (as ``tempdirs.private_tmp``)."""
    base = Path(tempfile.gettempdir()) / f"jupyter_flow-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{base} is not a private folder of this user")
    folder = base / kind
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def cache_dir(kind: str, env: Mapping[str, str]) -> Path:
    """A writable cache folder: ``$JUPYTER_FLOW_CACHE/<kind>``, else the user's cache, else
    this user's private temp folder (containers often have a read-only home)."""
    home = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for base in filter(None, (env.get("JUPYTER_FLOW_CACHE"), str(Path(home) / "jupyter_flow"))):
        folder = Path(base) / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    try:
        return private_tmp(kind)
    except OSError as err:
        raise LaunchError(
            "choose a cache folder",
            f"no writable folder for the {kind} cache ({err})",
            "set JUPYTER_FLOW_CACHE to a writable folder",
        ) from None


def scratch(dest: Path) -> Path:
    """A temporary sibling of ``dest``, unique even among containers sharing a node's cache
    (their pids may be equal)."""
    return dest.with_name(f".{dest.name[:16]}-{os.getpid()}-{os.urandom(4).hex()}.tmp")


def settle(tmp: Path, dest: Path) -> None:
    """Mark ``tmp`` whole and rename it to ``dest``; a task that got there first wins."""
    (tmp / ".complete").touch()
    try:
        os.replace(tmp, dest)
    except OSError:  # another task renamed its copy first
        if not (dest / ".complete").is_file():
            raise


def unpack_once(data: bytes, dest: Path) -> Path:
    """``unpack`` into ``dest`` unless a whole copy is there (``bootstrap`` uses it too)."""
    if (dest / ".complete").is_file():
        return dest
    tmp = scratch(dest)
    try:
        unpack(data, tmp)
        settle(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def code_folder(url: str, key: str, env: Mapping[str, str]) -> Path:
    """The unpacked package ``key`` in the code cache (fetched and unpacked once)."""
    dest = cache_dir("code", env) / key
    if (dest / ".complete").is_file():
        return dest
    return unpack_once(fetch_blob(url, key, "code package", env), dest)


# -- what the image lacks ---------------------------------------------------------------
def import_name(requirement: str) -> str:
    """The module a requirement provides (``boto3==1.35.0`` gives ``boto3``)."""
    for mark in "[=<>!~;@ ":
        requirement = requirement.split(mark, maxsplit=1)[0]
    return requirement.strip().lower().replace("-", "_")


def requirements(url: str | None, env: Mapping[str, str]) -> list[str]:
    """What the run needs: ``$JUPYTER_FLOW_REQUIRES``, else boto3 for an S3 store."""
    listed = env.get(REQUIRES_ENV, "").split()
    return listed or (["boto3"] if url and url.startswith("s3://") else [])


def ensure_installed(url: str | None, env: Mapping[str, str]) -> Path | None:
    """Put what the run needs on ``sys.path``: what the image lacks is pip-installed once
    into the cache; the folder installed into, None when nothing was missing."""
    wanted = [r for r in requirements(url, env) if importlib.util.find_spec(import_name(r)) is None]
    if not wanted:
        return None
    names = " ".join(sorted(wanted))
    tag = f"{sys.implementation.cache_tag} {sys.platform} {os.uname().machine} {names}"
    folder = cache_dir("site", env) / hashlib.sha256(tag.encode()).hexdigest()[:16]
    if not (folder / ".complete").is_file():
        print(
            f"jupyter_flow: installing {names} (not in this image) into {folder}", file=sys.stderr
        )
        tmp = scratch(folder)
        try:
            done = subprocess.run(
                [sys.executable, *PIP, "--target", str(tmp), *wanted],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise LaunchError(
                    "install what the run needs",
                    f"this image has no {', '.join(map(import_name, wanted))} and "
                    f"`pip install {names}` failed ({' / '.join(said) or 'no output'})",
                    f"bake them into the image (pip install 'jupyter-flow[aws]', or {names})"
                    " or let the container reach PyPI (or a mirror: PIP_INDEX_URL)",
                    recordable="boto3" not in map(import_name, wanted),  # else S3 is closed
                    code=EXIT_MISSING,
                )
            settle(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(folder), env.get("PYTHONPATH"))))
    return folder


# -- a task -------------------------------------------------------------------------------
def spec_text(args: Sequence[str], env: Mapping[str, str]) -> str:
    """The task spec's JSON from the argument or the environment."""
    arg = args[0] if args else None
    if arg == "-":
        return sys.stdin.read()
    if arg is not None and arg.startswith("@"):
        try:
            return Path(arg[1:]).read_text()
        except OSError as err:
            raise LaunchError(
                "read the task spec", f"cannot read {arg[1:]}: {err.strerror}", recordable=False
            ) from None
    if arg is not None:
        return arg
    if env.get(SPEC_ENV):
        return env[SPEC_ENV]
    key, url = env.get(SPEC_KEY_ENV), env.get(ROOT_ENV)
    if not key or not url:
        raise LaunchError(
            "read the task spec",
            f"no task spec given: neither ${SPEC_ENV} nor ${SPEC_KEY_ENV} with ${ROOT_ENV}",
            "start tasks with the command and environment the executor builds",
            recordable=False,
        )
    return fetch_blob(url, key, "task spec", env).decode()


def attempt_of(spec: Mapping[str, Any] | None, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The attempt a failure belongs to: from the spec, else the environment's ids."""
    if spec is not None:
        return {k: spec[k] for k in ("flow", "run_id", "step", "index", "attempt")}
    run_id, _, rest = env.get(TASK_ENV, "").partition("/")
    step, _, numbers = rest.partition("/")
    index, _, attempt = numbers.partition("/")
    if not (env.get(FLOW_ENV) and run_id and step and index.isdigit() and attempt.isdigit()):
        return None
    return {
        "flow": env[FLOW_ENV],
        "run_id": run_id,
        "step": step,
        "index": int(index),
        "attempt": int(attempt),
    }


def failure_record(where: Mapping[str, Any], message: str) -> bytes:
    """The attempt's record, failed before it started: the ``AttemptRecord`` that
    ``bootstrap.record_start_failure`` writes."""
    now = time.time()
    record = {
        **where,
        "status": "failed",
        "started": now,
        "finished": now,
        "error": {"kind": "infrastructure", "message": message, "type": "LaunchError"},
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


def record_failure(
    url: str, where: Mapping[str, Any], message: str, env: Mapping[str, str]
) -> None:
    """Write the failed attempt's record into the store."""
    path = "runs/{flow}/{run_id}/{step}/{index}/attempt-{attempt}.json".format(**where)
    write_document(url, path, failure_record(where, message), env)


def put_signed(signed: str, data: bytes) -> None:
    """PUT ``data`` to a presigned URL: no boto3, no credentials (urllib raises on errors)."""
    urllib.request.urlopen(urllib.request.Request(signed, data, method="PUT"), timeout=30).close()


def run_task(args: Sequence[str], env: dict[str, str]) -> int:
    """Fetch what the task needs, then run it with the package's own jupyter_flow."""
    spec: dict[str, Any] | None = None
    try:
        if not args and env.get(ROOT_ENV):  # the spec is in the store: open it first
            ensure_installed(env[ROOT_ENV], env)
        text = spec_text(args, env)
        try:
            spec = json.loads(text)
            url, key = spec["store_url"], spec["code"].get("package_key")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            spec = None
            raise LaunchError(
                "read the task spec",
                f"it is not a task spec: {type(err).__name__}: {err}",
                "pass TaskSpec.to_json() unchanged",
                recordable=False,
            ) from None
        ensure_installed(url, env)
        if key:
            sys.path.insert(0, str(code_folder(url, key, env)))
        try:
            from jupyter_flow.runtime.bootstrap import main
        except ImportError as err:
            raise LaunchError(
                "start jupyter_flow",
                f"cannot import it ({err})",
                "ship the code package (remote executors do), or use an image with jupyter_flow",
            ) from None
    except LaunchError as err:
        return _failed(err, spec, env)
    except Exception as err:  # ours, unforeseen: still exit 2 (not the step's 1), recorded
        failure = LaunchError("prepare the task", f"{type(err).__name__}: {err}", BUG)
        return _failed(failure, spec, env)
    code: int = main([text])
    return code


def _failed(err: LaunchError, spec: Mapping[str, Any] | None, env: Mapping[str, str]) -> int:
    label = f" ({spec['flow']}/{spec['run_id']}/{spec['step']}[{spec['index']}])" if spec else ""
    message = f"the task{label} could not start: {err.text()}"
    print(f"jupyter_flow: {message}", file=sys.stderr)
    url = spec["store_url"] if spec else env.get(ROOT_ENV)
    where = attempt_of(spec, env)
    try:  # into the store if it can be written, else by the executor's presigned URL
        if err.recordable and url and where:
            record_failure(url, where, message, env)
        elif where and env.get(FAILURE_URL_ENV):
            put_signed(env[FAILURE_URL_ENV], failure_record(where, message))
    except Exception as failure:  # the store is the problem: stderr has the message
        print(f"jupyter_flow: could not record the failure: {failure}", file=sys.stderr)
    return err.code


# -- a scheduled driver's code -------------------------------------------------------------
def fetch(args: Sequence[str], env: Mapping[str, str]) -> int:
    """``URL KEY DEST NAME [REQUIREMENT...]``: unpack the package into DEST (a module alone:
    DEST/NAME), with the requirements the image lacks installed into DEST too (the driver
    runs with DEST on ``PYTHONPATH``)."""
    if len(args) < 4:
        print(
            "usage: launcher fetch STORE_URL PACKAGE_KEY DEST MODULE_FILE [REQ...]", file=sys.stderr
        )
        return EXIT_LAUNCH
    url, key, dest, name = args[:4]
    try:
        site = ensure_installed(url, {**env, REQUIRES_ENV: " ".join(args[4:])})
        data = fetch_blob(url, key, "code package", env)
        Path(dest).mkdir(parents=True, exist_ok=True)
        if data[:2] == b"\x1f\x8b":
            unpack(data, Path(dest))
        else:
            (Path(dest) / name).write_bytes(data)
        if site is not None:
            shutil.copytree(site, dest, dirs_exist_ok=True, ignore=lambda *_: [".complete"])
    except Exception as err:
        failure = err if isinstance(err, LaunchError) else LaunchError("fetch", repr(err), BUG)
        print(f"jupyter_flow: the scheduled run could not start: {failure.text()}", file=sys.stderr)
        return failure.code
    print(f"fetched code package {key[:12]} into {dest}")
    return 0


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["fetch"]:
        return fetch(argv[1:], os.environ)
    return run_task(argv, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
