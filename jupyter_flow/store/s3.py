"""The S3 backend of the byte store: ``s3://bucket/prefix``.

Blobs are named by the hash of their bytes (``hashing.py``: BLAKE3), so a value already in
the bucket (with the right size) is never uploaded again. Large blobs are uploaded as
parallel multipart transfers straight from the encoder's memoryviews, one part copied at a
time, without joining them into one buffer. Downloads are parallel ranged GETs written
straight into a file in a local, content-addressed cache (spliced from the socket over
plain HTTP, ``s3_body.py``), hashed range by range as they arrive through a memory map of
it, then opened as copy-on-write maps like local blobs. Every read is
checked against the key (``checked.py``; SHA-256 keys of older stores too): a damaged
cached copy is fetched again, and a damaged object is set aside and raises
``CorruptBlob``, never loads. Documents are single PUTs, which S3 applies atomically:
readers see the old or the new record, never a torn one.

boto3 is imported only here, when an ``s3://`` root is opened. Credentials come from the
standard AWS chain; the endpoint (MinIO, SeaweedFS, ...) from ``JUPYTER_FLOW_S3_ENDPOINT_URL``
or ``AWS_ENDPOINT_URL_S3``. Every S3 failure a user can fix becomes a ``StoreError`` that
says what to set.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from threading import Lock
from typing import Any

from ..errors import ConfigError, MissingExtraError, StoreError
from ..tempdirs import private_tmp
from .blobs import BLOBS, BlobStore, blob_path
from .cache_room import cache_full, reserve_room
from .checked import CheckedFiles, map_file, stamp_of
from .chunks import ChunkReader
from .durable import FULL
from .hashing import KeyHasher, algorithm_of, hex_part
from .s3_body import read_body_into
from .s3_errors import boto_errors, corrupt_blob, missing_blob

MB = 1 << 20
DOWNLOAD_RANGE = 32 * MB  # fewer, longer GETs: less per-request cost on both ends
_HEAD_BATCH = 64  # up to this many keys: parallel HEADs; more: list the key's shards
CORRUPT = f"{BLOBS}-corrupt"  # objects that failed their check, kept for a post-mortem
_cache_checks = CheckedFiles()  # by cache path: one check per process, whichever store reads


@dataclass(frozen=True)
class S3Options:
    """How to reach S3 and how hard to push it. Environment beats the config file's
    ``[s3]`` table, which beats these defaults."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    # Measured against SeaweedFS: more or bigger parts in flight cost the server more
    # memory and CPU per byte than they gain.
    concurrency: int = 8  # parallel part requests per transfer
    part_size_mb: int = 16
    max_attempts: int = 8  # tries per request (first included): throttling, 5xx, resets
    retry_mode: str = "standard"  # or "adaptive" (client-side rate limiting)
    cache_dir: str | None = None

    _ENV = {
        "endpoint_url": ("JUPYTER_FLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"),
        "region": ("JUPYTER_FLOW_S3_REGION",),
        "profile": ("JUPYTER_FLOW_S3_PROFILE",),
        "concurrency": ("JUPYTER_FLOW_S3_CONCURRENCY",),
        "part_size_mb": ("JUPYTER_FLOW_S3_PART_SIZE_MB",),
        "max_attempts": ("JUPYTER_FLOW_S3_MAX_ATTEMPTS",),
        "retry_mode": ("JUPYTER_FLOW_S3_RETRY_MODE",),
        "cache_dir": ("JUPYTER_FLOW_BLOB_CACHE",),
    }

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, configured: Mapping[str, Any] | None = None
    ) -> S3Options:
        env = os.environ if env is None else env
        if configured is None:
            from ..config import Settings

            configured = Settings.load(env=env).backend_options("s3")
        values: dict[str, Any] = {}
        names = {f.name: f for f in fields(cls)}
        for name, value in configured.items():
            if name not in names:
                raise ConfigError(
                    f"unknown s3 setting {name!r}",
                    hint=f"known s3 settings: {', '.join(sorted(names))}",
                )
            values[name] = value
        for name, variables in cls._ENV.items():
            found = next((env[v] for v in variables if env.get(v)), None)
            if found is not None:
                values[name] = found
        if not values.get("cache_dir") and env.get("JUPYTER_FLOW_CACHE"):
            values["cache_dir"] = str(Path(env["JUPYTER_FLOW_CACHE"]) / "blobs")
        try:
            for name in ("concurrency", "part_size_mb", "max_attempts"):
                if name in values:
                    values[name] = max(1, int(values[name]))
        except ValueError as err:
            raise ConfigError(f"bad s3 setting: {err}") from None
        if values.get("retry_mode", "standard") not in ("standard", "adaptive", "legacy"):
            raise ConfigError(
                f"unknown s3 retry_mode {values['retry_mode']!r}",
                hint="use 'standard' or 'adaptive'",
            )
        return replace(cls(), **values)

    def blob_cache(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "jupyter_flow" / "blobs"


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, "some/prefix")."""
    if not url.startswith("s3://"):
        raise StoreError(f"not an S3 URL: {url!r}", hint="write it as s3://bucket/prefix")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise StoreError(f"the S3 URL {url!r} names no bucket", hint="write s3://bucket/prefix")
    return bucket, prefix.strip("/")


class S3Blobs(BlobStore):
    """A ``BlobStore`` in an S3 bucket under a prefix. Thread-safe (boto3 clients are)."""

    def __init__(self, url: str, options: S3Options | None = None) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.options = options or S3Options.load()
        self._client = _make_client(self.options)
        self._cache = self.options.blob_cache()

    # -- keys ---------------------------------------------------------------------------
    def _key(self, path: str) -> str:
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise StoreError(f"invalid store path {path!r}")
        return f"{self.prefix}/{path}" if self.prefix else path

    def _relative(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    # -- blobs --------------------------------------------------------------------------
    def put_blob(self, chunks: Sequence[memoryview | bytes]) -> str:
        reader = ChunkReader(chunks)
        key = reader.key()
        s3_key = self._key(blob_path(key))
        if self._stored_size(s3_key) == reader.size:  # dedup; a truncated object is replaced
            return key
        with boto_errors(self, "upload an artifact"):
            if reader.size < self._part_size(reader.size):
                self._client.put_object(Bucket=self.bucket, Key=s3_key, Body=reader.read())
            else:
                self._upload_parts(reader, s3_key)
        return key

    def _upload_parts(self, reader: ChunkReader, s3_key: str) -> None:
        """A multipart upload, ``concurrency`` parts at a time, each part one copy of its
        bytes sent whole: a third less client CPU than s3transfer, which re-reads every
        part through file wrappers and callbacks. An upload that fails is aborted, so no
        parts are left to pay for. Parts carry CRC32 checksums, listed again at completion,
        as S3 expects when the upload is created with a checksum algorithm."""
        part = self._part_size(reader.size)
        client, bucket = self._client, self.bucket
        upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=s3_key, ChecksumAlgorithm="CRC32"
        )["UploadId"]

        def send(number: int) -> dict[str, Any]:
            start = (number - 1) * part
            body = reader.pread(start, min(reader.size, start + part))
            answer = client.upload_part(
                Bucket=bucket,
                Key=s3_key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="CRC32",
            )
            done = {"PartNumber": number, "ETag": answer["ETag"]}
            if answer.get("ChecksumCRC32"):
                done["ChecksumCRC32"] = answer["ChecksumCRC32"]
            return done

        numbers = range(1, -(-reader.size // part) + 1)
        try:
            with ThreadPoolExecutor(min(self.options.concurrency, len(numbers))) as pool:
                parts = list(pool.map(send, numbers))
            client.complete_multipart_upload(
                Bucket=bucket, Key=s3_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(Bucket=bucket, Key=s3_key, UploadId=upload_id)
            raise

    def open_blob(self, key: str) -> Any:
        """The blob's bytes, checked against its key. A download is hashed range by range
        as the ranges arrive and enters the cache only if it matches; a cached copy is
        trusted only if this process has checked that very file (same inode, size and
        mtime), else it is hashed once. A bad cached copy is deleted and fetched again; an
        object that fails the check on two downloads is set aside and ``CorruptBlob``
        raised: its bytes are never returned."""
        algorithm_of(key)  # refuse text that is not a key before touching the cache
        path = self._cache / hex_part(key)[:2] / key
        buffer = self._open_checked(key, path)
        if buffer is not None:
            return buffer
        size = 0
        for _ in range(2):  # a download that fails its check is fetched once more
            size, buffer = self._download(key, path)
            if buffer is not None:
                return buffer
        raise corrupt_blob(self, key, self._set_aside(key, size))

    def _open_checked(self, key: str, path: Path) -> Any:
        """A copy-on-write map of the cache file if it exists and its bytes match ``key``;
        else None (a file that does not match is deleted)."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 -- closed by the with below
        except FileNotFoundError:
            return None
        with fh:
            buffer = _cache_checks.open(str(path), key, fh.fileno())
        if buffer is None:
            path.unlink(missing_ok=True)
        return buffer

    def _set_aside(self, key: str, size: int) -> str | None:
        """Move a corrupt object to ``blobs-corrupt/<key>`` (a server-side copy, then the
        original deleted), so the blob counts as missing and ``resume`` recomputes it.
        Returns where it went, or None if it could not be moved."""
        source = self._key(blob_path(key))
        target = self._key(f"{CORRUPT}/{key}")
        client, bucket = self._client, self.bucket
        try:
            with boto_errors(self, f"set aside corrupt blob {key[:12]}"):
                if size < 5 << 30:  # one CopyObject copies up to 5 GB
                    client.copy_object(
                        Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source}
                    )
                else:
                    client.copy({"Bucket": bucket, "Key": source}, bucket, target)
                client.delete_object(Bucket=bucket, Key=source)
        except StoreError:
            return None
        return f"s3://{bucket}/{target}"

    def _download(self, key: str, path: Path) -> tuple[int, Any]:
        """Fetch a blob into the cache, checking its bytes as they arrive. Returns its size
        and a copy-on-write map of it, or None for the map if the bytes do not match the
        key (nothing then enters the cache). The file is written under a temporary name and
        renamed once checked, so the cache never holds a torn or unchecked blob."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # e.g. a read-only home in a container: fall back to /tmp
            self._cache = private_tmp("blobs")
            path = self._cache / hex_part(key)[:2] / key
            path.parent.mkdir(parents=True, exist_ok=True)
        s3_key = self._key(blob_path(key))
        action = f"download artifact blob {key[:12]}"
        with boto_errors(self, action, missing=missing_blob(self, key)):
            size = int(self._client.head_object(Bucket=self.bucket, Key=s3_key)["ContentLength"])
            hasher = KeyHasher(algorithm_of(key), size_hint=size)
            tmp = path.with_name(f".{key}.{uuid.uuid4().hex}.tmp")
            try:
                with open(tmp, "wb+") as fh:
                    reserve_room(fh.fileno(), path.parent, size)
                    try:
                        self._download_ranges(s3_key, size, fh.fileno(), hasher)
                    except OSError as err:  # where nothing could be reserved
                        if err.errno in FULL:
                            raise cache_full(path.parent, size) from None
                        raise
                    if hasher.key() != key:
                        return size, None
                    stamp = stamp_of(fh.fileno())
                    buffer = map_file(fh.fileno(), size)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        _cache_checks.remember(str(path), stamp)
        return size, buffer

    def _download_ranges(self, s3_key: str, size: int, fd: int, hasher: KeyHasher) -> None:
        """Parallel ranged GETs straight into the file ``fd`` (``s3_body``): no temporary
        buffers, queues or writer thread (half boto3 ``download_file``'s CPU per byte).
        Each range is fed to ``hasher`` (in order) as soon as it and those before it have
        arrived, while later ranges are still in flight."""
        if size == 0:
            return
        # every connection busy for mid-size blobs; long ranges for big ones
        part = min(DOWNLOAD_RANGE, max(4 * MB, -(-size // self.options.concurrency)))
        lock = Lock()  # see s3_body: one writer at a time, no spinning on the inode lock
        mapped = mmap.mmap(fd, size)
        view = memoryview(mapped)
        try:
            starts = range(0, size, part)
            workers = max(1, min(self.options.concurrency, len(starts)))
            with ThreadPoolExecutor(workers) as pool:
                for start in pool.map(
                    lambda a: self._get_range(s3_key, fd, view, lock, a, min(size, a + part)),
                    starts,
                ):
                    hasher.update(view[start : min(size, start + part)])
        finally:
            view.release()
            # a failed range's traceback still holds its slice of the map: closing it then
            # would replace the real error with a BufferError; the map goes with the slice
            with contextlib.suppress(BufferError):
                mapped.close()

    def _get_range(
        self, s3_key: str, fd: int, view: memoryview, lock: Lock, start: int, end: int
    ) -> int:
        """Fetch bytes ``start:end`` of the file ``fd`` (mapped as ``view``; ``lock``
        held around each write to it); returns ``start``."""
        from http.client import HTTPException

        from botocore.exceptions import IncompleteReadError, ResponseStreamingError

        cut_off = (IncompleteReadError, ResponseStreamingError, HTTPException, OSError)
        for attempt in range(3):  # botocore retries requests, not a body cut off midway
            try:
                response = self._client.get_object(
                    Bucket=self.bucket, Key=s3_key, Range=f"bytes={start}-{end - 1}"
                )
                if int(response.get("ContentLength", -1)) != end - start:
                    raise StoreError(f"S3 ignored the byte range of a GET of {s3_key}")
                if read_body_into(response, view[start:end], fd, start, lock) == end - start:
                    return start
            except cut_off as err:
                if attempt == 2 or getattr(err, "errno", None) in FULL:
                    raise  # a full disk does not get better by fetching again
        raise StoreError(f"S3 returned a short body for {s3_key} bytes {start}-{end - 1}")

    def missing_blobs(self, keys: Iterable[str]) -> set[str]:
        wanted = set(keys)
        if not wanted:
            return set()
        if len(wanted) <= _HEAD_BATCH:
            with ThreadPoolExecutor(min(len(wanted), self.options.concurrency)) as pool:
                found = pool.map(lambda k: self._exists(self._key(blob_path(k))), sorted(wanted))
                return {k for k, ok in zip(sorted(wanted), found, strict=True) if not ok}
        shards = sorted({hex_part(k)[:2] for k in wanted})
        with ThreadPoolExecutor(min(len(shards), self.options.concurrency)) as pool:
            listed = pool.map(lambda s: self.list(f"{BLOBS}/{s}"), shards)
            present = {p.rsplit("/", 1)[-1] for paths in listed for p in paths}
        return wanted - present

    def _stored_size(self, s3_key: str) -> int | None:
        """The size of the object at ``s3_key``, or None when there is none."""
        with boto_errors(self, "check for an artifact", missing=None):
            answer = self._client.head_object(Bucket=self.bucket, Key=s3_key)
            return int(answer["ContentLength"])
        return None

    def _exists(self, s3_key: str) -> bool:
        with boto_errors(self, "check for an artifact", missing=False):
            self._client.head_object(Bucket=self.bucket, Key=s3_key)
            return True
        return False

    def _part_size(self, size: int) -> int:
        # S3 allows 10,000 parts: grow parts for huge blobs rather than fail
        return max(self.options.part_size_mb * MB, -(-size // 9_000))

    # -- documents ----------------------------------------------------------------------
    def presigned_put(self, path: str, seconds: int) -> str:
        """A URL that lets a holder without credentials or boto3 PUT ``path`` for
        ``seconds`` (signed here, no request; capped by the credentials' own lifetime)."""
        return str(
            self._client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": self._key(path)},
                ExpiresIn=seconds,
            )
        )

    def put(self, path: str, data: bytes) -> None:
        with boto_errors(self, f"write {path}"):
            self._client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)

    def get(self, path: str) -> bytes | None:
        with boto_errors(self, f"read {path}", missing=None):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(path))
            data: bytes = response["Body"].read()
            return data
        return None

    def list(self, prefix: str) -> list[str]:
        stem = prefix.strip("/")
        s3_prefix = (self._key(stem) + "/") if stem else (f"{self.prefix}/" if self.prefix else "")
        found: list[str] = []
        with boto_errors(self, f"list {prefix or 'the store'}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=s3_prefix
            )
            for page in pages:
                found.extend(self._relative(obj["Key"]) for obj in page.get("Contents", ()))
        return sorted(found)

    def delete(self, path: str) -> None:
        with boto_errors(self, f"delete {path}", missing=None):
            self._client.delete_object(Bucket=self.bucket, Key=self._key(path))

    def delete_many(self, paths: Sequence[str]) -> None:
        """One DeleteObjects request per 1000 keys (S3's limit), not one request each."""
        keys = [{"Key": self._key(p)} for p in paths]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with boto_errors(self, f"delete {len(batch)} records", missing=None):
                answer = self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                failed = answer.get("Errors") or []
                if failed:
                    first = failed[0]
                    raise StoreError(
                        f"S3 did not delete {len(failed)} of {len(batch)} objects in "
                        f"{self.url}, e.g. {first.get('Key')}: {first.get('Message')}",
                        hint="check the credentials allow s3:DeleteObject on the bucket",
                    )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()


# -- client --------------------------------------------------------------------------------


def _make_client(options: S3Options) -> Any:
    from ..sdk import aws

    # The body is covered by a CRC32 checksum (and TLS on https); skipping the SigV4
    # SHA-256 of every payload saves CPU on both ends (S3 does the same over https).
    s3_config: dict[str, Any] = {"payload_signing_enabled": False}
    if options.endpoint_url:
        s3_config["addressing_style"] = "path"  # MinIO/SeaweedFS: no bucket DNS names
    try:
        return aws.client(
            "s3",
            "an s3:// store",
            profile=options.profile,
            region=options.region,
            endpoint_url=options.endpoint_url,
            max_attempts=options.max_attempts,
            retry_mode=options.retry_mode,
            pool=options.concurrency + 8,
            connect_timeout=10,
            read_timeout=120,
            s3=s3_config,
            endpoint_setting="JUPYTER_FLOW_S3_ENDPOINT_URL",
        )
    except MissingExtraError:
        raise
    except ConfigError as err:  # a profile or endpoint that cannot work: the store's setting
        raise StoreError(err.headline, hint=err.hint) from None
