"""Wire models for /v1/files (OpenAI's `file` object)."""

from dataclasses import dataclass
from typing import Literal

from litestar.datastructures import UploadFile
from pydantic import BaseModel, Field

from jobs.records import FileRecord


@dataclass
class FileUpload:
    file: UploadFile
    purpose: str


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["processed", "error"]
    status_details: str | None = None
    expires_at: int | None = None
    # ftaas extensions: what the upload check found
    format: str | None = Field(None, description="chat, prompt_completion, text, classification or preference.")
    n_examples: int | None = None

    @classmethod
    def from_record(cls, record: FileRecord) -> "FileObject":
        return cls(
            id=record.id, bytes=record.bytes, created_at=record.created_at, filename=record.filename,
            purpose=record.purpose, status=record.status, format=record.format,
            n_examples=record.n_examples if record.purpose == "fine-tune" else None,
        )


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True
