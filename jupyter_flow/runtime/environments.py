"""A step's ``packages=``, resolved once by the driver and installed offline by its tasks.

pip in every container would resolve the same set N times for an N-way foreach, need PyPI
from the cluster, and could give two tasks of one step different versions. Instead the
driver resolves a step's requirements once, for the platform its tasks run on (the Python
of the step's image, the backend's ``platform``), and puts the wheels and their lock into
the store as one content-addressed blob that the task spec names (``environment``); a task
installs exactly those wheels with ``--no-index --no-deps`` (``env_install``), so it needs
neither PyPI nor a resolver. ``environments/<key>.json`` maps a requirement set and target
to its blob: later runs and schedule fires reuse it, so versions stay those of the first
resolution until the requirements (or the target) change.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import FlowError
from ..store.blobs import BlobStore

FORMAT = 1
MANIFEST = "environment.json"  # the tar member that describes the environment
PIP = ("-m", "pip", "--no-input", "--disable-pip-version-check")
ARCHES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
GLIBC = 28  # wheels for glibc <= 2.28 (EKS AL2023 has 2.34, python:3.X-slim 2.36)
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
BUG_HINT = "this is a bug of jupyter_flow: please report it with this message"
_IMAGE_PYTHON = re.compile(r"(?:^|/)python:(\d+\.\d+)(?:[.\-@]|$)")


class PackagesError(FlowError):
    """A step's packages could not be resolved, or installed where its task runs."""


@dataclass(frozen=True)
class Target:
    """Where a step's tasks run: the Python minor version and the OS/CPU of the nodes."""

    python: str  # "3.11"
    platform: str = "linux/amd64"

    @classmethod
    def here(cls) -> Target:
        machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
        arch = machine.get(host_platform.machine().lower(), host_platform.machine().lower())
        return cls(f"{sys.version_info.major}.{sys.version_info.minor}", f"{sys.platform}/{arch}")

    @classmethod
    def of_image(
        cls, image: str | None, architecture: str = "amd64", python: str | None = None
    ) -> Target:
        """Where a step with ``image`` runs: ``python`` if set, else the image's Python when
        its tag says it (``python:3.12-slim``, ``.../python:3.11``), else the driver's (the
        default image is the driver's); ``architecture`` is the nodes' CPU."""
        found = _IMAGE_PYTHON.search(image or "")
        version = python or (found.group(1) if found else cls.here().python)
        platform = f"linux/{architecture}"
        if platform not in ARCHES:
            raise PackagesError(
                f"unknown architecture {architecture!r} for a step's packages",
                hint=f"set architecture to one of {', '.join(a[6:] for a in sorted(ARCHES))}",
            )
        if not isinstance(version, str) or not re.fullmatch(r"3\.\d+", version):
            raise PackagesError(
                f"python_version = {version!r} is not a Python version like '3.11'",
                hint="set python_version to the image's Python as a string: '3.10', not 3.10",
            )
        return cls(version, platform)

    def pip_options(self) -> list[str]:
        """``pip download`` options that choose wheels for this target, not for the driver."""
        arch = ARCHES[self.platform]
        tags = [f"manylinux_2_{v}_{arch}" for v in range(GLIBC, 16, -1)]
        tags += [f"manylinux2014_{arch}"]
        if arch == "x86_64":
            tags += [f"manylinux_2_{v}_{arch}" for v in range(16, 4, -1)]
            tags += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
        nodot = self.python.replace(".", "")
        options = ["--only-binary=:all:", "--python-version", self.python, "--implementation", "cp"]
        for abi in (f"cp{nodot}", "abi3", "none"):
            options += ["--abi", abi]
        for tag in tags:
            options += ["--platform", tag]
        return options


@dataclass(frozen=True)
class Environment:
    """A resolved requirement set: the blob of its wheels and what it pins."""

    blob: str
    requirements: tuple[str, ...]
    target: Target
    lock: tuple[str, ...]  # name==version of every wheel, sorted

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Environment:
        raw = json.loads(data)
        return cls(
            blob=str(raw["blob"]),
            requirements=tuple(raw["requirements"]),
            target=Target(**raw["target"]),
            lock=tuple(raw["lock"]),
        )


def environment_key(requirements: Iterable[str], target: Target) -> str:
    """What names a resolution: the requirement set (order and repeats aside) and target."""
    text = json.dumps([FORMAT, sorted(set(requirements)), asdict(target)])
    return hashlib.sha256(text.encode()).hexdigest()


def doc_path(key: str) -> str:
    return f"environments/{key}.json"


def resolve_command(requirements: Sequence[str], target: Target, dest: Path) -> list[str]:
    """The pip call that leaves in ``dest`` a wheel of every package the set needs: on the
    target's own platform ``pip wheel`` (it also builds wheels of source-only packages),
    else ``pip download`` of binary wheels for the target."""
    if target == Target.here():
        return [sys.executable, *PIP, "wheel", "--quiet", "--wheel-dir", str(dest), *requirements]
    return [
        sys.executable,
        *PIP,
        "download",
        "--quiet",
        "--dest",
        str(dest),
        *target.pip_options(),
        *requirements,
    ]


def lock_of(wheels: Iterable[str]) -> tuple[str, ...]:
    """``name==version`` of each wheel file name (names normalized as pip does)."""
    pins = []
    for name in wheels:
        found = _WHEEL.match(name)
        if found is None:
            raise PackagesError(f"pip left {name!r}, which is not a wheel", hint=BUG_HINT)
        pins.append(f"{re.sub(r'[-_.]+', '-', found['name']).lower()}=={found['version']}")
    return tuple(sorted(pins))


def pack(wheels: Sequence[Path], manifest: bytes) -> list[bytes | memoryview]:
    """A tar of ``manifest`` and the wheels, as chunks ``put_blob`` takes: the wheels are
    read, not copied into one buffer. Fixed metadata, so the same wheels give the same key."""
    chunks: list[bytes | memoryview] = []

    def member(name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        chunks.append(info.tobuf(format=tarfile.PAX_FORMAT))
        chunks.append(data)
        if len(data) % tarfile.BLOCKSIZE:
            chunks.append(b"\0" * (tarfile.BLOCKSIZE - len(data) % tarfile.BLOCKSIZE))

    member(MANIFEST, manifest)
    for wheel in sorted(wheels, key=lambda p: p.name):
        member(f"wheels/{wheel.name}", wheel.read_bytes())
    chunks.append(b"\0" * (2 * tarfile.BLOCKSIZE))
    return chunks


class Environments:
    """The environments one driver uses: each requirement set and target resolved once
    (submit threads asking for the same one wait for the first)."""

    def __init__(self, store: BlobStore, env: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.env = env
        self._found: dict[str, Environment] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.resolved = 0  # pip resolutions this driver ran (for tests and the log)

    def get(self, step: str, requirements: Sequence[str], target: Target) -> Environment:
        key = environment_key(requirements, target)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._found:
                self._found[key] = self._stored(key) or self._resolve(
                    step, requirements, target, key
                )
            return self._found[key]

    def _stored(self, key: str) -> Environment | None:
        """A resolution an earlier run stored, if its document reads and its blob is there."""
        data = self.store.get(doc_path(key))
        if data is None:
            return None
        try:
            found = Environment.from_json(data)
        except (ValueError, KeyError, TypeError):
            print(
                f"jupyter_flow: warning: {doc_path(key)} is damaged; resolving again",
                file=sys.stderr,
            )
            return None
        return None if self.store.missing_blobs([found.blob]) else found

    def _resolve(
        self, step: str, requirements: Sequence[str], target: Target, key: str
    ) -> Environment:
        wanted = tuple(sorted(set(requirements)))
        where = f"Python {target.python} on {target.platform}"
        print(
            f"jupyter_flow: resolving the packages of step {step} for {where}: {' '.join(wanted)}",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory(prefix="jupyter_flow-env-") as tmp:
            dest = Path(tmp)
            done = subprocess.run(
                resolve_command(wanted, target, dest),
                capture_output=True,
                text=True,
                check=False,
                env=None if self.env is None else dict(self.env),
            )
            if done.returncode != 0:
                raise PackagesError(
                    f"step {step}: its packages ({', '.join(wanted)}) could not be resolved "
                    f"for {where}",
                    hint=_hint(done.stderr or done.stdout, target),
                )
            wheels = sorted(dest.glob("*.whl"))
            lock = lock_of(w.name for w in wheels)
            manifest = json.dumps(
                {"requirements": wanted, "target": asdict(target), "lock": lock}, sort_keys=True
            ).encode()
            blob = self.store.put_blob(pack(wheels, manifest))
        self.resolved += 1
        found = Environment(blob, wanted, target, lock)
        self.store.put(doc_path(key), found.to_json())
        return found


def _hint(pip_output: str, target: Target) -> str:
    said = "\n".join(pip_output.strip().splitlines()[-12:]) or "(pip printed nothing)"
    if target != Target.here() and "matching distribution" in pip_output:
        return (
            f"a package may have no wheel for {target.platform} and Python {target.python} "
            "(only a source archive, which is not built for another platform): pin a version "
            "that has one, bake the package into the image, or run the driver on the same "
            f"platform. pip said:\n{said}"
        )
    return f"check the names and versions (and pip's index settings). pip said:\n{said}"


def resolve_steps(
    store: BlobStore,
    steps: Iterable[tuple[str, Sequence[str], str | None]],
    options: Mapping[str, Any],
) -> list[Environment]:
    """Resolve ``(step, packages, image)`` for an executor with ``options`` (its image,
    ``architecture``, ``python_version``): what ``schedule create`` does where the index is
    reachable, so no fire of the schedule needs it (the driver finds them stored)."""
    found = Environments(store)
    return [
        found.get(
            step,
            packages,
            Target.of_image(
                image or options.get("image"),
                options.get("architecture", "amd64"),
                options.get("python_version"),
            ),
        )
        for step, packages, image in steps
        if packages
    ]
