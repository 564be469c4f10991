"""``boto3``: sessions and clients for the Batch executor, the AWS schedule target and the
S3 store, made one way.

Every client gets botocore's ``standard`` retry mode (throttling, 5xx and dropped
connections retried with backoff and jitter, ``MAX_ATTEMPTS`` tries), a connection pool
for its callers' threads and the same profile / region / endpoint handling; a profile or
an endpoint that cannot work is an error naming the setting, not a botocore traceback.
(``runtime/launcher.py`` builds its own: it runs, stdlib only, in bare containers.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, MissingExtraError

MAX_ATTEMPTS = 8  # tries per request, the first included
RETRY_MODE = "standard"  # or "adaptive" (client-side rate limiting), "legacy"
POOL = 20  # connections per client: parallel submits, describes and log reads


def boto3(purpose: str) -> Any:
    """The ``boto3`` package, or an error saying which extra to install."""
    try:
        import boto3
    except ImportError:
        raise MissingExtraError("boto3", "aws", purpose) from None
    return boto3


def session(purpose: str, *, profile: str | None = None, region: str | None = None) -> Any:
    """A session of ``profile`` (None: the default chain, ``AWS_PROFILE``) in ``region``
    (None: the profile's, ``AWS_REGION``/``AWS_DEFAULT_REGION``)."""
    module = boto3(purpose)
    from botocore.exceptions import ProfileNotFound

    try:
        return module.session.Session(profile_name=profile or None, region_name=region or None)
    except ProfileNotFound:
        known = sorted(module.session.Session().available_profiles)
        raise ConfigError(
            f"{purpose}: the AWS profile {profile!r} does not exist",
            hint=f"profiles in your AWS config: {', '.join(known) or 'none'} "
            "(~/.aws/config, AWS_CONFIG_FILE); fix the profile setting or run "
            f"aws configure --profile {profile}",
        ) from None


def client(
    service: str,
    purpose: str,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    retry_mode: str = RETRY_MODE,
    pool: int = POOL,
    connect_timeout: float = 60,
    read_timeout: float = 60,
    s3: Mapping[str, Any] | None = None,
    endpoint_setting: str = "endpoint_url",
) -> Any:
    """A ``service`` client; ``s3`` is botocore's S3 config (addressing style, payload
    signing), ``endpoint_setting`` the setting to name when ``endpoint_url`` is bad."""
    made = session(purpose, profile=profile, region=region)
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    options: dict[str, Any] = {
        "retries": {"mode": retry_mode, "total_max_attempts": max_attempts},
        "max_pool_connections": pool,
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
    }
    if s3 is not None:
        options["s3"] = dict(s3)
        options["signature_version"] = "s3v4"  # presigned URLs too (not V2)
    try:
        return made.client(service, endpoint_url=endpoint_url or None, config=Config(**options))
    except ValueError as err:  # e.g. a malformed endpoint URL
        raise ConfigError(
            f"{purpose}: cannot create an AWS {service} client: {err}",
            hint=f"check {endpoint_setting} (e.g. http://127.0.0.1:9000)",
        ) from None
    except NoRegionError:
        raise ConfigError(
            f"{purpose}: no AWS region configured for {service}",
            hint="set region in the settings, or AWS_REGION / a profile with a region",
        ) from None
