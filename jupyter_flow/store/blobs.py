"""The byte-store seam: content-addressed blobs plus small atomic documents.

One interface, several backends (local directory here, S3 in ``s3.py``), chosen by the URL
scheme through ``plugins.py``. Blobs are immutable and named by the hash of their bytes
(``hashing.py``), so identical values are stored once and every read can be checked: a blob
whose bytes do not match its key is never returned. Documents (run and task records) are
written whole and atomically: a reader sees the old version or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import CorruptBlob, StoreError
from .checked import CheckedFiles
from .durable import clean_stale_tmp, fsync_dir, store_write_error, write_file
from .hashing import KeyHasher, algorithm_of, hex_part

BLOBS = "blobs"
CORRUPT = "corrupt"  # blobs/corrupt/: blobs whose bytes did not match their key, set aside


def _unique() -> str:
    """A name no other writer picks (what ``uuid4().hex`` gave, without importing uuid,
    which imports platform: ~3 ms of every start-up)."""
    return os.urandom(16).hex()


class BlobStore(ABC):
    """What the runtime needs from storage. Paths are '/'-separated, relative to the root."""

    url: str

    # -- content-addressed blobs -------------------------------------------------------
    @abstractmethod
    def put_blob(self, chunks: Sequence[memoryview | bytes]) -> str:
        """Store the concatenation of ``chunks``; return its key (the store picks the hash:
        ``hashing.py``)."""

    @abstractmethod
    def open_blob(self, key: str) -> Any:
        """A buffer with the blob's bytes, checked against ``key``; zero-copy (a
        copy-on-write mmap) where possible. Raises ``CorruptBlob`` rather than return bytes
        that do not match."""

    @abstractmethod
    def missing_blobs(self, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` that are not stored (one round trip where possible)."""

    # -- documents -----------------------------------------------------------------
    @abstractmethod
    def put(self, path: str, data: bytes) -> None:
        """Write a whole document atomically."""

    @abstractmethod
    def get(self, path: str) -> bytes | None:
        """A document's bytes, or None if it does not exist."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every document path under ``prefix`` (recursive), sorted."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove a document; missing is fine."""

    def delete_many(self, paths: Sequence[str]) -> None:
        """Remove documents (missing is fine); stores override it with a batched call."""
        for path in paths:
            self.delete(path)

    def local_path(self, path: str) -> Path | None:
        """A filesystem path for ``path`` when the store is local (logs are written there
        directly), else None."""
        return None

    def close(self) -> None:
        """Release clients and thread pools."""


def blob_path(key: str) -> str:
    return f"{BLOBS}/{hex_part(key)[:2]}/{key}"


class LocalBlobs(BlobStore):
    """A directory. Writes go to a temp file and are renamed into place; reads are checked
    against the key once per process and file (inode, size, mtime)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self._checked = CheckedFiles()  # per store object: another reader checks again
        try:
            (self.root / BLOBS / "tmp").mkdir(parents=True, exist_ok=True)
            clean_stale_tmp(self.root / BLOBS / "tmp")
        except OSError as err:
            raise StoreError(
                f"cannot create the store at {self.root}: {err.strerror}",
                hint="set JUPYTER_FLOW_ROOT (or --root) to a writable directory",
            ) from None

    def _file(self, path: str) -> Path:
        if path.startswith("/") or ".." in path.split("/"):
            raise StoreError(f"invalid store path {path!r}")
        return self.root / path

    def put_blob(self, chunks: Sequence[memoryview | bytes]) -> str:
        total = sum(memoryview(c).nbytes for c in chunks)
        try:
            if total < 1 << 20:
                hasher = KeyHasher()
                for chunk in chunks:
                    hasher.update(chunk)
                key = hasher.key()
                final = self.root / blob_path(key)
                if not self._stored_whole(final, key, total):
                    self._write_new(final, chunks, total)
                return key
            return self._put_large(chunks, total)
        except OSError as err:
            friendly = store_write_error(err, self.root, total)
            if friendly is None:
                raise
            raise friendly from None

    def _stored_whole(self, final: Path, key: str, size: int) -> bool:
        """Dedup trusts an existing blob only if its size and its bytes match the key; a
        damaged file under the right name is replaced by the new, good bytes."""
        try:
            with open(final, "rb") as fh:
                if os.fstat(fh.fileno()).st_size != size:
                    return False
                return self._checked.open(key, key, fh.fileno()) is not None
        except FileNotFoundError:
            return False

    def _put_large(self, chunks: Sequence[memoryview | bytes], total: int) -> str:
        # Hash in a thread while this thread writes: both release the GIL, so the cost is
        # max(hash, write) rather than their sum.
        hasher = KeyHasher(size_hint=total)

        def hash_all() -> None:
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                for start in range(0, view.nbytes, 64 << 20):
                    hasher.update(view[start : start + (64 << 20)])

        thread = threading.Thread(target=hash_all, name="jupyter-flow-hash")
        thread.start()
        tmp = self.root / BLOBS / "tmp" / _unique()
        try:
            write_file(tmp, chunks, total)
        except BaseException:
            thread.join()
            raise
        thread.join()
        key = hasher.key()
        final = self.root / blob_path(key)
        if self._stored_whole(final, key, total):
            tmp.unlink()
        else:
            try:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            fsync_dir(final.parent)
        return key

    def _write_new(
        self,
        final: Path,
        chunks: Sequence[memoryview | bytes],
        total: int | None = None,
        *,
        sync: bool = True,
    ) -> None:
        if total is None:
            total = sum(memoryview(c).nbytes for c in chunks)
        tmp = final.parent / f".{final.name}.{_unique()}.tmp"
        try:  # the folder usually exists: make it only when told it does not
            write_file(tmp, chunks, total, sync=sync)
        except FileNotFoundError:
            final.parent.mkdir(parents=True, exist_ok=True)
            write_file(tmp, chunks, total, sync=sync)
        try:
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def open_blob(self, key: str) -> Any:
        algorithm_of(key)  # text that is not a key never becomes a path
        path = self.root / blob_path(key)
        try:
            with open(path, "rb") as fh:
                buffer = self._checked.open(key, key, fh.fileno())
        except FileNotFoundError:
            raise StoreError(
                f"artifact blob {key[:12]} is missing from {self.root}",
                hint="the store was cleaned or moved, or the blob was set aside as corrupt; "
                "resume the run to recompute the task that wrote it",
            ) from None
        if buffer is None:
            raise CorruptBlob(
                f"artifact blob {key} in {self.root} is corrupt (its bytes do not match its "
                "key); it was not loaded",
                key=key,
                set_aside=self._set_aside(key, path),
                hint="resume the run: the task that wrote it is recomputed",
            )
        return buffer

    def _set_aside(self, key: str, path: Path) -> str | None:
        """Move a damaged blob to blobs/corrupt/ (kept for inspection): the key then counts
        as missing, so resume recomputes the task that made it. None if it cannot be moved."""
        self._checked.forget(key)
        aside = self.root / BLOBS / CORRUPT / f"{key}.{os.urandom(4).hex()}"
        try:
            aside.parent.mkdir(exist_ok=True)
            os.replace(path, aside)
        except OSError:
            return None
        return str(aside)

    def missing_blobs(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if not (self.root / blob_path(k)).exists()}

    def put(self, path: str, data: bytes) -> None:
        try:
            # Not fsync'd (a task writes three records; an fsync costs ~5 ms here): a
            # crash of a process loses nothing, and a record torn by a power loss reads as
            # damaged, is skipped with a warning and its task recomputed on resume.
            self._write_new(self._file(path), [data], sync=False)
        except OSError as err:
            friendly = store_write_error(err, self.root, len(data))
            if friendly is None:
                raise
            raise friendly from None

    def get(self, path: str) -> bytes | None:
        try:
            return self._file(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def list(self, prefix: str) -> list[str]:
        base = self._file(prefix.rstrip("/")) if prefix else self.root
        found: list[str] = []
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            found.extend(f"{rel}/{f}" for f in files if not f.endswith(".tmp"))
        return sorted(found)

    def delete(self, path: str) -> None:
        self._file(path).unlink(missing_ok=True)

    def delete_many(self, paths: Sequence[str]) -> None:
        """Remove the files, then the folders they leave empty (a folder costs a block)."""
        folders: set[str] = set()
        for path in paths:
            file = self._file(path)
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
            parts = path.split("/")[:-1]  # the folders between the file and the root
            folders.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
        kept: set[str] = set()  # folders left (logs stay): their parents are not empty
        for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
            if folder in kept:
                kept.add(folder.rpartition("/")[0])
                continue
            try:
                (self.root / folder).rmdir()
            except FileNotFoundError:
                pass
            except OSError:  # not empty
                kept.add(folder.rpartition("/")[0])

    def local_path(self, path: str) -> Path | None:
        file = self._file(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        return file
