"""The S3-compatible endpoint of the settings (``backup.s3_endpoint_url``), through boto3:
objects named by ``arn:aws:s3:::bucket/key`` ARNs, uploads of exported ``.rdb`` files and
downloads of the ``.rdb`` files a new group is seeded from.

A download is written beside its final name (``.part``), fsynced and only then renamed into
place, so a file under its final name is always whole; its SHA-256 is computed as it is written.
Blocking: callers run these in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cachefleet.aws_clients import aws_client
from cachefleet.errors import PermanentError
from cachefleet.model.ids import Scope
from cachefleet.settings import BackupSettings, Settings

#: How an S3 object is named in ``SnapshotArns``.
S3_ARN_PREFIX = "arn:aws:s3:::"
_CHUNK = 1 << 20
_NOT_FOUND = ("404", "NotFound")


class S3Failure(PermanentError):
    """An S3 request that cannot succeed by trying again: ``reason`` is ``no-bucket``,
    ``no-key`` or ``refused``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class S3Object:
    """One object: its bucket and key."""

    bucket: str
    key: str

    @property
    def arn(self) -> str:
        return f"{S3_ARN_PREFIX}{self.bucket}/{self.key}"


def parse_s3_arn(arn: str) -> S3Object | None:
    """The object an ``arn:aws:s3:::bucket/key`` ARN names; None when it is not an S3 ARN or
    names no key.

    >>> parse_s3_arn("arn:aws:s3:::backups/daily/orders.rdb")
    S3Object(bucket='backups', key='daily/orders.rdb')
    >>> parse_s3_arn("arn:aws:s3:::backups") is None
    True
    """
    if not arn.startswith(S3_ARN_PREFIX):
        return None
    bucket, _, key = arn.removeprefix(S3_ARN_PREFIX).partition("/")
    if not bucket or not key:
        return None
    return S3Object(bucket, key)


def export_key(name: str, index: int) -> str:
    """The object an export of snapshot ``name`` writes for its ``index``-th shard (from 1).

    >>> export_key("orders-copy", 2)
    'orders-copy-0002.rdb'
    """
    return f"{name}-{index:04d}.rdb"


def seeds_root(data_dir: Path) -> Path:
    """Where ``.rdb`` objects are downloaded to before they seed a new group."""
    return data_dir / "seeds"


def staged_seed(data_dir: Path, scope: Scope, group_key: str, index: int) -> Path:
    """Where the ``index``-th ``.rdb`` object a new group is seeded from is downloaded to
    (removed once the group's node or cluster loaded it)."""
    return seeds_root(data_dir) / scope.region / scope.account / group_key / f"{index:04d}.rdb"


@dataclass(frozen=True, slots=True)
class Download:
    """A downloaded object: its size in bytes and its SHA-256 (hex)."""

    size: int
    sha256: str


class S3Objects:
    """The configured S3-compatible endpoint (``configured`` False: none is)."""

    def __init__(self, settings: BackupSettings, default_region: str) -> None:
        self._settings = settings
        self._region = settings.s3_region or default_region
        self._client: Any = None

    @property
    def configured(self) -> bool:
        return bool(self._settings.s3_endpoint_url)

    def _s3(self) -> Any:
        if self._client is None:
            settings = self._settings
            self._client = aws_client(
                "s3", settings.s3_endpoint_url, self._region,
                (settings.access_key_id, settings.secret_access_key), settings.timeout_s,
                attempts=2, s3={"addressing_style": "path"},
            )  # fmt: skip
        return self._client

    def check_bucket(self, bucket: str) -> None:
        """:raises S3Failure: the bucket does not exist (``no-bucket``) or cannot be used."""
        try:
            self._s3().head_bucket(Bucket=bucket)
        except Exception as exc:
            if _code(exc) in (*_NOT_FOUND, "NoSuchBucket"):
                raise _missing_bucket(bucket) from exc
            raise _refused(exc) from exc

    def exists(self, target: S3Object) -> bool:
        """Whether the object exists (its bucket must)."""
        try:
            self._s3().head_object(Bucket=target.bucket, Key=target.key)
        except Exception as exc:
            if _code(exc) in (*_NOT_FOUND, "NoSuchKey"):
                return False
            raise _refused(exc) from exc
        return True

    def check_object(self, target: S3Object) -> None:
        """:raises S3Failure: the bucket (``no-bucket``) or the object (``no-key``) is missing."""
        self.check_bucket(target.bucket)
        if not self.exists(target):
            raise _missing_key(target)

    def put(self, source: Path | S3Object, target: S3Object) -> None:
        """Write a local file, or copy an object of the endpoint, as ``target`` (replacing it: a
        repeat after a crash is harmless).

        :raises S3Failure: a bucket is gone or the endpoint refused the object.
        """
        try:
            if isinstance(source, S3Object):
                origin = {"Bucket": source.bucket, "Key": source.key}
                self._s3().copy(origin, target.bucket, target.key)
            else:
                self._s3().upload_file(str(source), target.bucket, target.key)
        except Exception as exc:
            if "NoSuchBucket" in str(exc):  # the transfer manager wraps the error in its own
                raise _missing_bucket(target.bucket) from exc
            raise _refused(exc) from exc

    def put_stream(self, source: BinaryIO, target: S3Object) -> None:
        """Write what a readable stream gives as ``target`` (replacing it).

        :raises S3Failure: a bucket is gone or the endpoint refused the object.
        """
        try:
            self._s3().upload_fileobj(source, target.bucket, target.key)
        except Exception as exc:
            if "NoSuchBucket" in str(exc):
                raise _missing_bucket(target.bucket) from exc
            raise _refused(exc) from exc

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        """Delete every object whose key begins with ``prefix``.

        :raises S3Failure: the endpoint refused.
        """
        try:
            pages = (
                self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            )
            for page in pages:
                for found in page.get("Contents", []):
                    self._s3().delete_object(Bucket=bucket, Key=found["Key"])
        except Exception as exc:
            raise _refused(exc) from exc

    def download(self, source: S3Object, destination: Path) -> Download:
        """Copy an object into ``destination``, whole or not at all.

        :raises S3Failure: the bucket or the object is missing.
        """
        partial = destination.with_name(destination.name + ".part")
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        try:
            body = self._s3().get_object(Bucket=source.bucket, Key=source.key)["Body"]
            with partial.open("wb") as out:
                while chunk := body.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except Exception as exc:
            partial.unlink(missing_ok=True)
            code = _code(exc)
            if code == "NoSuchBucket":
                raise _missing_bucket(source.bucket) from exc
            if code in (*_NOT_FOUND, "NoSuchKey"):
                raise _missing_key(source) from exc
            raise _refused(exc) from exc
        partial.replace(destination)
        return Download(size, digest.hexdigest())


def s3_endpoint(settings: Settings) -> S3Objects:
    """The installation's S3-compatible endpoint (setting ``backup.s3_endpoint_url``)."""
    return S3Objects(settings.backup, settings.network.default_region)


def _code(exc: Exception) -> str:
    """The error code of a botocore error ("" for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _missing_bucket(bucket: str) -> S3Failure:
    return S3Failure(f"The S3 bucket {bucket} does not exist.", "no-bucket")


def _missing_key(target: S3Object) -> S3Failure:
    return S3Failure(
        f"The object {target.key} does not exist in the S3 bucket {target.bucket}.", "no-key"
    )


def _refused(exc: Exception) -> S3Failure:
    return S3Failure(f"the S3 endpoint refused the request: {exc}", "refused")
