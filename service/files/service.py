"""Uploads: checked line by line and hashed while streaming to the store; recorded only when valid."""

import asyncio
import hashlib
from collections.abc import Iterator
from typing import BinaryIO

from jobs import keys
from jobs.data.formats import FORMAT_DESCRIPTIONS, check_jsonl
from jobs.ids import new_file_id
from jobs.records import FileRecord
from jobs.repository import RecordNotFound
from service.dependencies import Services
from service.errors import InvalidRequest, NotFound

ACCEPTED_PURPOSES = ("fine-tune",)


def _hashed_lines(fileobj: BinaryIO, digest: "hashlib._Hash", size: list[int]) -> Iterator[bytes]:
    for line in fileobj:
        digest.update(line)
        size[0] += len(line)
        yield line


def _check_upload(fileobj: BinaryIO, filename: str) -> tuple[str, int, str | None, int]:
    digest, size = hashlib.sha256(), [0]
    fileobj.seek(0)
    check = check_jsonl(_hashed_lines(fileobj, digest, size))
    if not check.ok:
        raise InvalidRequest(
            f"{filename} is not a valid fine-tuning file: {check.summary()}. "
            "Each line must be a JSON object, all lines of one of these formats: "
            + "; ".join(FORMAT_DESCRIPTIONS.values()) + ".",
            param="file", code="invalid_file",
        )
    fileobj.seek(0)
    return digest.hexdigest(), size[0], check.format, check.n_examples


async def upload_file(services: Services, tenant: str, fileobj: BinaryIO, filename: str, purpose: str) -> FileRecord:
    if purpose not in ACCEPTED_PURPOSES:
        raise InvalidRequest(
            f"purpose must be one of: {', '.join(ACCEPTED_PURPOSES)} (got {purpose!r})", param="purpose"
        )
    sha256, size, fmt, n_examples = await asyncio.to_thread(_check_upload, fileobj, filename)
    file_id = new_file_id()
    await asyncio.to_thread(services.store.put_fileobj, keys.file_content(tenant, file_id), fileobj)
    record = FileRecord(
        id=file_id, tenant=tenant, filename=filename, purpose=purpose, bytes=size, sha256=sha256,
        format=fmt, n_examples=n_examples,
    )
    await services.files.save(record)  # the record is written last: until then the file does not exist
    services.metrics.uploaded_bytes.inc(size)
    return record


async def get_file(services: Services, tenant: str, file_id: str) -> FileRecord:
    try:
        return await services.files.get(tenant, file_id)
    except RecordNotFound:
        raise NotFound(f"no file '{file_id}'", param="file_id") from None


async def file_content(services: Services, tenant: str, file_id: str) -> bytes:
    await get_file(services, tenant, file_id)
    return await asyncio.to_thread(services.store.get_bytes, keys.file_content(tenant, file_id))
