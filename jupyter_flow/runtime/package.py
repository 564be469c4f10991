"""The code package a remote task runs: the flow module, its project code, and jupyter_flow.

Any image with Python (plus boto3 for S3) can then run a step: the container fetches the
package from the store by its key, puts it first on ``sys.path`` and imports the module.

What goes in: the flow module; the project's own modules it imports, found by walking
``import`` statements (``ast``) relative to the module's folder, transitively (a package
goes in whole, data files included); and the ``jupyter_flow`` package itself. Never: VCS
folders, virtualenvs, caches, ``.env`` and key/credential files; files over 1 MB only with
``include_large=True``. The archive is a deterministic tar.gz (sorted entries, fixed
mtimes, owners and modes), so the same code always has the same key and is uploaded once.
"""

from __future__ import annotations

import ast
import fnmatch
import gzip
import hashlib
import io
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import FlowDefinitionError, StoreError
from ..store.blobs import BlobStore, blob_path
from . import launcher
from .loader import module_name_for
from .taskspec import CodeRef

LARGE = 1 << 20
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".jupyter_flow", "node_modules", "__pycache__", ".venv",
        "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".ipynb_checkpoints", ".aws", ".ssh", ".gnupg", ".kube", ".docker", "site-packages",
    }
)  # fmt: skip
SECRET_FILES = (
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "credentials*", ".netrc", ".pypirc",
    ".git-credentials", "kubeconfig*", "*.kubeconfig", ".npmrc", "secrets.*", "secret.*",
    "*secret*.json", ".pgpass", ".s3cfg", ".boto", ".htpasswd", "*service-account*.json",
    "*service_account*.json", "client_secret*", "token", "token.*", "*.token", "*token*.txt",
    "*.tfstate", "*.tfstate.*", "*.tfvars", ".terraformrc", "*.keystore", "*.ovpn",
)  # fmt: skip
# What a credential looks like inside a file: (why, pattern)
SECRET_CONTENT = (
    ("a private key", re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("an AWS secret key", re.compile(rb"aws_secret_access_key\s*[=:]\s*\S{20,}", re.I)),
    ("a GitHub token", re.compile(rb"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}")),
    ("a Slack token", re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a service-account key", re.compile(rb'"private_key"\s*:\s*"-----BEGIN')),
)
_SELF = Path(__file__).resolve().parents[1]  # the jupyter_flow package folder
_SELF_SKIP = frozenset({"labextension"})  # browser assets: not needed to run a step


@dataclass(frozen=True)
class Package:
    """A built package: ``key`` is the SHA-256 of ``data`` (the tar.gz bytes)."""

    key: str
    data: bytes
    files: tuple[tuple[str, int], ...]  # (path inside the package, size), sorted
    module_path: str  # the flow module's path inside the package
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why) of files left out
    reasons: tuple[tuple[str, str], ...] = ()  # (path, why it is in), sorted

    @property
    def size(self) -> int:
        return len(self.data)


def excluded(path: Path) -> str | None:
    """Why ``path`` must never be packaged, or None."""
    for part in path.parts[:-1]:
        if part in SKIP_DIRS or part.endswith(".egg-info"):
            return f"{part}/ is never packaged"
    name = path.name
    if any(fnmatch.fnmatch(name.lower(), pattern) for pattern in SECRET_FILES):
        return "looks like a secret"
    if name.endswith((".pyc", ".pyo")):
        return "compiled bytecode"
    if name.endswith(".ipynb"):
        return "a notebook (its outputs may hold data; a task runs the flow module)"
    return None


def secret_content(file: Path) -> str | None:
    """What credential ``file`` seems to hold (a private key, an AWS key id, a token...)."""
    try:
        data = file.read_bytes()
    except OSError:
        return None
    for why, pattern in SECRET_CONTENT:
        if pattern.search(data):
            return why
    return None


def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file() or (folder / "conda-meta").is_dir()


def _imports(source: str, filename: str) -> set[str]:
    """Top-level-relative dotted names imported by a module (relative imports excluded)."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _resolve(base: Path, dotted: str) -> Path | None:
    """The project file or package folder ``dotted`` names under ``base``, if any."""
    folder = base
    for part in dotted.split("."):
        if part in SKIP_DIRS or _is_venv(folder):
            return None
        module, package = folder / f"{part}.py", folder / part
        if module.is_file():
            return module
        if (package / "__init__.py").is_file():
            return package
        if not package.is_dir():
            return None
        folder = package  # a namespace package: look for the next part inside
    return None


class _Collector:
    def __init__(self, base: Path, include_large: bool) -> None:
        self.base = base
        self.real_base = base.resolve()
        self.include_large = include_large
        self.files: dict[str, Path] = {}  # archive path -> file
        self.reasons: dict[str, str] = {}  # archive path -> why it is in the package
        self.skipped: dict[str, str] = {}
        self._seen: set[Path] = set()

    def add_file(self, file: Path, arcname: str, reason: str = "", *, ours: bool = False) -> None:
        """``ours``: a file of jupyter_flow itself, which lives outside the project."""
        why = excluded(Path(arcname))
        real = file.resolve()
        inside = real == self.real_base or self.real_base in real.parents
        if why is None and not inside and not ours:
            why = "a symlink to outside the project"
        if why is None and not self.include_large and real.stat().st_size > LARGE:
            why = "larger than 1 MB (use --include-large)"
        if why is None and not ours:
            why = self._check_content(real, arcname)
        if why:
            self.skipped[arcname] = why
        else:
            self.files[arcname] = real
            self.reasons[arcname] = reason

    def _check_content(self, file: Path, arcname: str) -> str | None:
        """A data file holding a credential is left out; a module is needed, so the
        package is refused, naming it."""
        found = secret_content(file)
        if found is None:
            return None
        if file.suffix == ".py":
            raise FlowDefinitionError(
                f"{arcname} seems to contain {found}: it would be shipped to every container "
                "that runs a step",
                hint="read the credential from the environment or a secret (env of a "
                "Kubernetes Secret, Batch secrets) instead of writing it in the code",
            )
        return f"seems to contain {found}"

    def add_tree(
        self, folder: Path, prefix: str, only_python: bool = False, *, ours: bool = False
    ) -> None:
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not _is_venv(here / d)
            )
            for name in sorted(filenames):
                file = here / name
                if only_python and file.suffix not in (".py", ".typed"):
                    continue
                rel = file.relative_to(folder).as_posix()
                reason = f"in package {prefix}" if prefix else "in the project"
                self.add_file(file, f"{prefix}/{rel}" if prefix else rel, reason, ours=ours)

    def follow(self, target: Path, reason: str = "the flow module") -> None:
        """Add a project module or package and, transitively, the project code it imports."""
        if target in self._seen:
            return
        self._seen.add(target)
        rel = target.relative_to(self.base).as_posix()
        sources = [target] if target.is_file() else sorted(target.rglob("*.py"))
        if target.is_file():
            self.add_file(target, rel, reason)
        else:
            self.add_tree(target, rel)
        for source in sources:
            arcname = source.relative_to(self.base).as_posix()
            if excluded(Path(arcname)) or arcname not in self.files:
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            for name in sorted(_imports(text, str(source))):
                found = _resolve(self.base, name)
                if found is not None:
                    self.follow(found, f"imported by {arcname}")


def build_package(module_path: str | os.PathLike[str], *, include_large: bool = False) -> Package:
    """Collect and archive the code a task needs to import ``module_path``."""
    module = Path(module_path).resolve()
    if not module.is_file():
        raise FlowDefinitionError(
            f"flow module {str(module_path)!r} does not exist",
            hint="pass the path of a Python file that defines `flow = Flow(...)`",
        )
    collector = _Collector(module.parent, include_large)
    collector.follow(module)
    if module.name not in collector.files:  # the module itself is always needed
        collector.files[module.name] = module
        collector.skipped.pop(module.name, None)
    for name in list(collector.files):
        if name == "jupyter_flow" or name.startswith("jupyter_flow/"):
            del collector.files[name]  # a project copy would shadow the real package
    for child in sorted(_SELF.iterdir()):
        if child.name in _SELF_SKIP or child.name == "__pycache__":
            continue
        if child.is_dir():
            collector.add_tree(child, f"jupyter_flow/{child.name}", only_python=True, ours=True)
        elif child.suffix == ".py" or child.name == "py.typed":
            collector.files[f"jupyter_flow/{child.name}"] = child
    for name in collector.files:
        if name.startswith("jupyter_flow/"):
            collector.reasons[name] = "jupyter_flow, the runtime"
    data = _archive(collector.files)
    return Package(
        key=hashlib.sha256(data).hexdigest(),
        data=data,
        files=tuple(
            (name, collector.files[name].stat().st_size) for name in sorted(collector.files)
        ),
        module_path=module.name,
        skipped=tuple(sorted(collector.skipped.items())),
        reasons=tuple(sorted((n, collector.reasons.get(n, "")) for n in collector.files)),
    )


def _archive(files: dict[str, Path]) -> bytes:
    """A tar.gz whose bytes depend only on the files' names and contents."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def ensure_package(
    store: BlobStore, module_path: str | os.PathLike[str], *, include_large: bool = False
) -> CodeRef:
    """Build the package and upload it unless the store has it; the ref tasks run from."""
    package = build_package(module_path, include_large=include_large)
    if store.missing_blobs([package.key]):
        # Stored under its SHA-256 key whatever hash the store names other blobs by: a
        # container's stdlib-only bootstrap checks the package it fetches.
        store.put(blob_path(package.key), package.data)
    return CodeRef(
        module_path=package.module_path,
        module_name=module_name_for(package.module_path),
        package_key=package.key,
    )


def code_for_store(store: BlobStore, code: CodeRef) -> CodeRef:
    """What a remote executor hands its tasks: a store on this machine's disk (tests, a
    shared volume) keeps the module path; any other store gets the code as a package."""
    if store.local_path("code") is not None:
        return code
    return ensure_package(store, code.module_path)


def fetch_package(store: BlobStore, key: str, dest_root: str | os.PathLike[str]) -> Path:
    """Download and unpack the package once per key; the folder to put on ``sys.path``.
    Unpacked by the containers' own ``launcher.unpack_once`` (regular relative files only,
    into a temporary folder renamed into place), so both paths refuse the same archives."""
    dest = Path(dest_root) / key
    if (dest / ".complete").is_file():
        return dest
    data = bytes(store.open_blob(key))
    if hashlib.sha256(data).hexdigest() != key:
        raise StoreError(
            f"code package {key[:12]} in {store.url} is corrupt (its bytes do not match its key)",
            hint="start the run again to upload a fresh package",
        )
    Path(dest_root).mkdir(parents=True, exist_ok=True)
    try:
        return launcher.unpack_once(data, dest)
    except launcher.LaunchError as err:
        raise StoreError(
            f"code package {key[:12]} in {store.url}: {err.message}", hint=err.hint
        ) from None
