"""S3 failures a user can fix, as ``StoreError``s that say what to set or grant.

botocore is imported inside ``boto_errors`` only: it exists whenever an S3 store does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import CorruptBlob, StoreError
from .blobs import blob_path

if TYPE_CHECKING:
    from .s3 import S3Blobs

_NOT_FOUND = ("404", "NoSuchKey", "NotFound")
_DENIED = (
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
)
_WRONG_REGION = ("301", "PermanentRedirect", "AuthorizationHeaderMalformed", "IncorrectEndpoint")


class _Missing:
    """Marks "not found is an answer": ``boto_errors`` swallows it and the caller returns."""


def missing_blob(store: S3Blobs, key: str) -> StoreError:
    return StoreError(
        f"artifact blob {key[:12]} is missing from {store.url}",
        hint="the store was cleaned or moved; re-run the step that wrote it",
    )


@contextlib.contextmanager
def boto_errors(store: S3Blobs, action: str, missing: object = _Missing) -> Iterator[None]:
    """Turn botocore failures into ``StoreError``s that say what to fix.

    ``missing``: when the object is not found, raise it if it is an exception, else swallow
    the error (the caller then returns its not-found answer).
    """
    from botocore import exceptions as bx

    where = store.url
    try:
        yield
    except bx.NoCredentialsError:
        raise StoreError(
            f"no AWS credentials found to {action} in {where}",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or run where an IAM role provides them",
        ) from None
    except (bx.PartialCredentialsError, bx.ProfileNotFound) as err:
        raise StoreError(
            f"the AWS credentials are incomplete: {err}",
            hint="set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a valid AWS_PROFILE",
        ) from None
    except bx.EndpointConnectionError as err:
        raise StoreError(
            f"cannot reach S3 to {action} in {where}: {err}",
            hint="check the network and JUPYTER_FLOW_S3_ENDPOINT_URL / AWS_ENDPOINT_URL_S3",
        ) from None
    except bx.ClientError as err:
        if missing is not _Missing and _code(err) in _NOT_FOUND:
            if isinstance(missing, BaseException):
                raise missing from None
            return
        raise _client_error(err, store, action) from None
    except StoreError:
        raise
    except Exception as err:
        if type(err).__module__.startswith(("botocore", "s3transfer", "urllib3")):
            raise StoreError(f"S3 failed to {action} in {where}: {err}") from None
        raise


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _client_error(err: Any, store: S3Blobs, action: str) -> StoreError:
    code = _code(err)
    message = err.response.get("Error", {}).get("Message", "") or str(err)
    if code in ("NoSuchBucket",):
        return StoreError(
            f"the bucket {store.bucket!r} does not exist (for {store.url})",
            hint="create it (aws s3 mb s3://BUCKET) or point JUPYTER_FLOW_ROOT / --root "
            "at an existing bucket",
        )
    if code in _DENIED:
        return StoreError(
            f"access denied: cannot {action} in {store.url} ({code}: {message})",
            hint="check the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and grant them "
            f"s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on "
            f"arn:aws:s3:::{store.bucket}" + (f"/{store.prefix}/*" if store.prefix else "/*"),
        )
    if code in _WRONG_REGION:
        headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = headers.get("x-amz-bucket-region") or err.response.get("Error", {}).get("Region")
        where = f"region {region!r}" if region else "another region"
        return StoreError(
            f"the bucket {store.bucket!r} is in {where}, not the configured one ({message})",
            hint=f"set AWS_DEFAULT_REGION={region or '<the bucket region>'} "
            "(or JUPYTER_FLOW_S3_REGION, or `region` under [s3] in jupyter_flow.toml)",
        )
    if code in ("SlowDown", "ServiceUnavailable", "InternalError", "503", "500"):
        return StoreError(
            f"S3 kept failing to {action} in {store.url} ({code}: {message})",
            hint="S3 is throttling or unavailable; retry later or raise "
            "JUPYTER_FLOW_S3_MAX_ATTEMPTS",
        )
    return StoreError(f"S3 failed to {action} in {store.url} ({code}: {message})")


def corrupt_blob(store: S3Blobs, key: str, set_aside: str | None) -> CorruptBlob:
    """The error for an object whose bytes do not match its key (fetched twice)."""
    headline = (
        f"artifact blob {key} in {store.url} is corrupt: its bytes do not match its key "
        "(checked on two downloads); the value was not loaded"
    )
    if set_aside is not None:
        hint = (
            f"the damaged object was moved to {set_aside}; resume the run: the task that "
            "made it is recomputed"
        )
    else:
        hint = (
            f"it could not be moved aside: delete s3://{store.bucket}/{store._key(blob_path(key))}"
            " and resume the run: the task that made it is recomputed"
        )
    return CorruptBlob(headline, key=key, set_aside=set_aside, hint=hint)
