"""The object store: one interface, two back-ends (an S3-protocol bucket, a local folder).

Blocking I/O: async callers run these methods in a thread. Keys come from `jobs.keys`.
Writes are atomic per object (local: write-then-rename; S3: a PUT is atomic), so a reader never
sees half an object; a multi-object artifact becomes visible when its manifest is written last.
"""

import contextlib
import datetime
import json
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

log = logging.getLogger("ftaas.store")

MAX_KEY_BYTES = 1024  # S3's limit
MAX_SEGMENT_BYTES = 255  # a file name on the local back-end
# An upload whose multipart upload was never completed (its writer died or lost the store) is aborted after
# this; the largest upload the API takes streams in well under it.
STALE_MULTIPART_UPLOAD_S = 3600


class ObjectNotFound(KeyError):
    pass


class InvalidKey(ValueError):
    """A key no object may have (a '..' segment, a NUL, too long): refused before it reaches a back-end."""


class StoreUnavailable(ConnectionError):
    """The store could not be reached or answered with a server error; the same call may work later."""


def check_key(key: str) -> str:
    segments = key.split("/")
    if (
        not key or key.startswith("/") or "\x00" in key or len(key.encode()) > MAX_KEY_BYTES
        or any(s in (".", "..") for s in segments)
        or any(len(s.encode()) > MAX_SEGMENT_BYTES for s in segments)
    ):
        raise InvalidKey(f"not a store key: {key[:120]!r}")
    return key


class Store(ABC):
    @abstractmethod
    def put_fileobj(self, key: str, fileobj: BinaryIO) -> None:
        """Stream a readable binary file object to `key` without holding it in memory."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def download_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`, recursively."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def check(self) -> None:
        """Raise if the store cannot be reached (readiness probe)."""

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as fileobj:
            self.put_fileobj(key, fileobj)

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, json.dumps(value, separators=(",", ":")).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def upload_folder(self, prefix: str, folder: Path) -> list[str]:
        keys = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            self.put_file(key, path)
            keys.append(key)
        return keys

    def download_folder(self, prefix: str, folder: Path) -> None:
        for key in self.list_keys(prefix):
            target = folder / key[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            self.download_file(key, target)

    def delete_prefix(self, prefix: str) -> None:
        for key in list(self.list_keys(prefix)):
            self.delete(key)

    def abort_stale_uploads(self, older_than_s: float = STALE_MULTIPART_UPLOAD_S) -> int:
        """Clean up what interrupted uploads left behind; returns how many. Only S3 leaves anything."""
        return 0


class LocalStore(Store):
    """A folder on disk; the embedded default for `make run` and `ftaas up`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise InvalidKey(f"key escapes the store: {key!r}")
        return path

    def _atomic_write(self, key: str, write: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_fileobj(self, key: str, fileobj: BinaryIO) -> None:
        self._atomic_write(key, lambda out: shutil.copyfileobj(fileobj, out, 1 << 20))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._atomic_write(key, lambda out: out.write(data))

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def download_file(self, key: str, path: Path) -> None:
        source = self._path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        shutil.copyfile(source, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix.endswith("/") else self._path(prefix).parent
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root.resolve()).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"store folder {self.root} is not writable")


class S3Store(Store):
    """Any S3-protocol service: AWS S3, MinIO, R2, Ceph (set `endpoint_url` for the non-AWS ones).

    Connection failures, timeouts and 5xx answers (after botocore's own retries) raise StoreUnavailable,
    so callers can tell "try again later" from "no such object" and from a bug.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            # Short connect timeouts: during an outage a caller hears so within seconds, not minutes.
            config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextlib.contextmanager
    def _errors(self, key: str):
        """Translate botocore's errors: a missing object, an outage, or (re-raised) anything else."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            if code in {"404", "NoSuchKey", "NotFound"}:
                raise ObjectNotFound(key) from None
            if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}:
                raise StoreUnavailable(f"the object store answered {code} for {key!r}") from exc
            raise
        except (BotoCoreError, S3UploadFailedError) as exc:  # connection refused or reset, timeouts
            raise StoreUnavailable(f"the object store is not reachable ({type(exc).__name__})") from exc

    def put_fileobj(self, key: str, fileobj: BinaryIO) -> None:
        with self._errors(key):
            self.client.upload_fileobj(fileobj, self.bucket, self._key(key))  # multipart for large files

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def download_file(self, key: str, path: Path) -> None:
        with self._errors(key):
            self.client.download_file(self.bucket, self._key(key), str(path))

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ObjectNotFound:
            return False

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix):]

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def check(self) -> None:
        with self._errors(""):
            self.client.head_bucket(Bucket=self.bucket)

    def abort_stale_uploads(self, older_than_s: float = STALE_MULTIPART_UPLOAD_S) -> int:
        """Abort multipart uploads begun under our prefix more than `older_than_s` ago and never completed
        (a writer that died or lost the store mid-upload); their parts would otherwise be billed forever."""
        cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=older_than_s)
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        with self._errors(self.prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] <= cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                        aborted += 1
        if aborted:
            log.warning("aborted %d incomplete multipart uploads older than %.0f s", aborted, older_than_s)
        return aborted


def open_store(url: str, endpoint_url: str | None = None, region: str | None = None) -> Store:
    """`file:///abs/path` (or a plain path) → LocalStore; `s3://bucket/prefix` → S3Store."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"store url {url!r} names no bucket; expected s3://bucket/prefix")
        return S3Store(parsed.netloc, parsed.path, endpoint_url=endpoint_url, region=region)
    if parsed.scheme in ("file", ""):
        path = parsed.path if parsed.scheme == "file" else url
        return LocalStore(Path(path).expanduser())
    raise ValueError(f"store url {url!r}: expected file:///path or s3://bucket/prefix")
