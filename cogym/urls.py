"""Opening an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``) for a datastore or
a registry, with errors that name the URL and say what to do.

It imports nothing of cogym but its errors, so that both the datastore and the registry use it.
fsspec itself is imported on the first URL opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cogym.errors import CogymError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["BUCKET_PROTOCOLS", "access_hint", "open_url"]

BUCKET_PROTOCOLS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss")
"""Protocols whose first path part is a bucket (or container) that must exist."""


def open_url(
    url: str,
    storage_options: dict[str, Any],
    what: str,
    error: Callable[[str], CogymError],
) -> tuple[AbstractFileSystem, str, str]:
    """The filesystem of ``url``, the root path on it (no trailing ``/``) and its protocol.

    ``storage_options`` go to fsspec. A URL fsspec cannot open (unknown protocol, malformed,
    options it refuses, the protocol's package not installed) raises ``error(message)``, the
    message naming ``what`` (``"datastore"``, ``"registry"``) at ``url`` and the fix.
    """
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as exc:
        raise error(
            f"cannot open the {what} at {url}: {exc} (fsspec needs a package for this "
            "protocol: s3fs for s3://, gcsfs for gs://; `pip install s3fs`)"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise error(f"cannot open the {what} at {url}: {exc}") from exc
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return fs, root.rstrip("/"), protocol


def access_hint(exc: BaseException, protocol: str, bucket: str) -> str:
    """What to check when reaching a URL of ``protocol`` (whose bucket is ``bucket``, for
    protocols that have one) raised ``exc``: the bucket, the credentials, or the endpoint."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, FileNotFoundError) and protocol in BUCKET_PROTOCOLS:
        return f"check that bucket {bucket!r} exists (create it first) and the URL is right"
    if isinstance(exc, PermissionError) or "credential" in text.lower():
        return (
            "check the credentials (for S3: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or storage_options) and that they may read and write this bucket"
        )
    return "check the URL, the endpoint (e.g. AWS_ENDPOINT_URL) and the network"
