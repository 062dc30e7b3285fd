"""Uploads: checked line by line and hashed while streaming to the store; recorded only when valid."""

import asyncio
import hashlib
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from jobs import keys
from jobs.data.formats import FORMAT_DESCRIPTIONS, check_jsonl, human_bytes
from jobs.ids import new_file_id
from jobs.records import FileRecord
from jobs.repository import RecordNotFound
from jobs.store import Store
from service.dependencies import Services
from service.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, quoted
from service.fine_tuning.service import unfinished_jobs
from service.pagination import page_after
from service.quotas import admitting_file

ACCEPTED_PURPOSES = ("fine-tune",)
MAX_FILENAME_CHARS = 255
DOWNLOAD_CHUNK_BYTES = 256 * 1024


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than the upload limit of {max_bytes} bytes ({human_bytes(max_bytes)}): split it into "
        "files of at most that size and upload each (a job can continue training the model another job made)",
        param="file",
    )


class _MeteredFile:
    """Reads an upload for the checks, hashing and counting its bytes; past `max_bytes` it stops with a 413."""

    def __init__(self, fileobj: BinaryIO, max_bytes: int) -> None:
        self._file, self._max_bytes = fileobj, max_bytes
        self.digest, self.size = hashlib.sha256(), 0

    def readline(self, limit: int = -1) -> bytes:
        line = self._file.readline(limit)
        self.size += len(line)
        if self.size > self._max_bytes:
            raise too_large(self._max_bytes)
        self.digest.update(line)
        return line


def _base_name(filename: str) -> str:
    """The last part of a path: browsers and some clients send the file's whole path."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()


def _field_problems(purpose: str, filename: str) -> list[tuple[str, str]]:
    """(param, message) for each problem with the upload's purpose and (base) filename."""
    problems = []
    if purpose not in ACCEPTED_PURPOSES:
        problems.append(("purpose", f"purpose must be one of: {', '.join(ACCEPTED_PURPOSES)} (got {purpose[:60]!r})"))
    if filename in ("", ".", ".."):
        problems.append(("file", "the filename names no file"))
    elif len(filename) > MAX_FILENAME_CHARS:
        problems.append(("file", f"the filename is {len(filename)} characters long; at most {MAX_FILENAME_CHARS} are allowed"))
    elif control := [c for c in filename if unicodedata.category(c) in ("Cc", "Cs")]:  # controls, lone surrogates
        problems.append(("file", f"the filename contains U+{ord(control[0]):04X}, a control character; rename the file"))
    return problems


def _check_upload(fileobj: BinaryIO, filename: str, max_bytes: int, max_line_bytes: int) -> tuple[str, int, str | None, int]:
    fileobj.seek(0)
    metered = _MeteredFile(fileobj, max_bytes)
    check = check_jsonl(metered, max_line_bytes=max_line_bytes)
    if not check.ok:
        raise InvalidRequest(
            f"{filename} is not a valid fine-tuning file: {check.summary()}. "
            "Each line must be a JSON object, all lines of one of these formats: "
            + "; ".join(FORMAT_DESCRIPTIONS.values()) + ".",
            param="file", code="invalid_file",
        )
    fileobj.seek(0)
    return metered.digest.hexdigest(), metered.size, check.format, check.n_examples


async def upload_file(services: Services, tenant: str, fileobj: BinaryIO, filename: str, purpose: str) -> FileRecord:
    filename = _base_name(filename)
    problems = _field_problems(purpose, filename)
    if problems:
        raise InvalidRequest("; ".join(message for _, message in problems), param=problems[0][0])
    settings = services.settings
    sha256, size, fmt, n_examples = await asyncio.to_thread(
        _check_upload, fileobj, filename, settings.max_upload_bytes, settings.max_line_bytes
    )
    file_id = new_file_id()
    record = FileRecord(
        id=file_id, tenant=tenant, filename=filename, purpose=purpose, bytes=size, sha256=sha256,
        format=fmt, n_examples=n_examples,
    )
    async with admitting_file(services, tenant, size):
        await asyncio.to_thread(services.store.put_fileobj, keys.file_content(tenant, file_id), fileobj)
        await services.files.save(record)  # the record is written last: until then the file does not exist
    services.metrics.uploaded_bytes.inc(size)
    return record


async def get_file(services: Services, tenant: str, file_id: str) -> FileRecord:
    try:
        return await services.files.get(tenant, file_id)
    except RecordNotFound:
        raise NotFound(f"no file {quoted(file_id)}", param="file_id") from None


async def delete_file(services: Services, tenant: str, file_id: str) -> None:
    """Delete a file, unless a job that has not ended trains on it (it reads the file again when it resumes)."""
    await get_file(services, tenant, file_id)
    users = [job.id for job in await unfinished_jobs(services, tenant)
             if file_id in (job.spec.training_file, job.spec.validation_file)]
    if users:
        raise Conflict(f"file {file_id} is used by job{'s' if len(users) > 1 else ''} {', '.join(users)}, which "
                       "has not ended; cancel it or let it finish, then delete the file", param="file_id")
    await services.files.delete(tenant, file_id)


async def file_content(services: Services, tenant: str, file_id: str) -> AsyncIterator[bytes]:
    """The file's bytes in chunks, from a copy on local disk: a download never holds a whole file in memory."""
    await get_file(services, tenant, file_id)
    copy = await asyncio.to_thread(_local_copy, services.store, keys.file_content(tenant, file_id))
    return _chunks(copy)


def _local_copy(store: Store, key: str) -> BinaryIO:
    """The object, downloaded into a temporary file that is deleted at once: it stays readable while open,
    and nothing is left behind however the download ends."""
    with tempfile.TemporaryDirectory(prefix="ftaas-download-") as folder:
        path = Path(folder) / "content"
        store.download_file(key, path)
        return open(path, "rb")


async def _chunks(fileobj: BinaryIO) -> AsyncIterator[bytes]:
    with fileobj:
        while chunk := await asyncio.to_thread(fileobj.read, DOWNLOAD_CHUNK_BYTES):
            yield chunk


async def list_files(services: Services, tenant: str, purpose: str | None, order: str, after: str | None,
                     limit: int) -> tuple[list[FileRecord], bool]:
    """The tenant's files of `purpose` (all without one), newest first (`order` "desc") or oldest first, a page
    of `limit` after the file `after`."""
    records = [r for r in await services.files.list(tenant) if purpose is None or r.purpose == purpose]
    if order == "asc":
        records.reverse()
    return page_after(records, lambda r: r.id, after, limit, "file" + (f" of purpose {quoted(purpose)}" if purpose else ""))
