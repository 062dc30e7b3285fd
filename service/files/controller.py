from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Stream

from service.dependencies import Deps, Tenant
from service.errors import BODY_RESPONSES, CONFLICT_RESPONSES, ERROR_RESPONSES, InvalidRequest
from service.files import service
from service.files.schemas import FileDeleted, FileList, FileObject, FileUpload
from service.idempotency import idempotent
from service.pagination import After, cursor

FilesLimit = Annotated[int, QueryParameter(ge=1, le=10000, description="Page size (OpenAI's: 1 to 10,000)")]

HOW_TO_UPLOAD = (
    "send multipart/form-data with a 'file' part (the JSONL file, with its filename) and a 'purpose' part, "
    "e.g. curl -F purpose=fine-tune -F file=@train.jsonl"
)


def _form_problem(form: FormMultiDict) -> tuple[str, str] | None:
    """(param, message) when the form is not one file and one purpose."""
    files, purposes = form.getall("file", []), form.getall("purpose", [])
    if len(files) != 1:
        return "file", "the 'file' part is missing" if not files else f"the 'file' part is sent {len(files)} times"
    if not isinstance(files[0], UploadFile):
        return "file", "the 'file' part is not a file (it has no filename)"
    if len(purposes) != 1:
        return "purpose", "the 'purpose' part is missing" if not purposes else f"the 'purpose' part is sent {len(purposes)} times"
    return None


async def read_upload_form(request: Request) -> None:
    """Read the form before Litestar binds it to FileUpload (which then reuses it), so that every way it can be
    wrong gets a clear 4xx: Litestar's own messages are terse, and a form field that is not UTF-8 would be a 500."""
    content_type = request.content_type[0]
    if content_type != RequestEncodingType.MULTI_PART:
        raise InvalidRequest(f"the body is {content_type or 'missing'}: {HOW_TO_UPLOAD}")
    try:
        form = await request.form()
    except RequestEntityTooLarge:
        raise service.too_large(request.app.state.settings.max_upload_bytes) from None
    except ClientException as exc:
        raise InvalidRequest(f"the body is not a readable form ({exc.detail}): {HOW_TO_UPLOAD}") from None
    except (UnicodeDecodeError, LookupError):  # a field's text in a charset that is unknown or does not fit it
        raise InvalidRequest(f"a form field could not be read as text: {HOW_TO_UPLOAD}") from None
    if problem := _form_problem(form):
        for value in form.values():
            if isinstance(value, UploadFile):
                await value.close()
        param, message = problem
        raise InvalidRequest(f"{message}: {HOW_TO_UPLOAD}", param=param)


class FilesController(Controller):
    path = "/files"
    tags = ["files"]

    @post(
        "/", responses=BODY_RESPONSES, operation_id="create_file", status_code=200, summary="Upload a JSONL training file",
        before_request=read_upload_form, middleware=[idempotent],
    )
    async def create_file(
        self, services: Deps, tenant: Tenant,
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> FileObject:
        try:
            record = await service.upload_file(services, tenant, data.file.file, data.file.filename, data.purpose)
        finally:
            await data.file.close()
        return FileObject.from_record(record)

    @get("/", responses=ERROR_RESPONSES, operation_id="list_files", summary="List the caller's files, newest first")
    async def list_files(
        self, services: Deps, tenant: Tenant, after: After = None, limit: FilesLimit = 10000,
        order: Annotated[Literal["asc", "desc"], QueryParameter(description="By creation time")] = "desc",
        purpose: Annotated[str | None, QueryParameter(description="Only files of this purpose")] = None,
    ) -> FileList:
        records, has_more = await service.list_files(services, tenant, purpose, order, cursor(after), limit)
        data = [FileObject.from_record(r) for r in records]
        return FileList(data=data, has_more=has_more, first_id=data[0].id if data else None,
                        last_id=data[-1].id if data else None)

    @get("/{file_id:str}", responses=ERROR_RESPONSES, operation_id="retrieve_file", summary="Get a file's record")
    async def retrieve_file(self, services: Deps, tenant: Tenant, file_id: FromPath[str]) -> FileObject:
        return FileObject.from_record(await service.get_file(services, tenant, file_id))

    @delete(
        "/{file_id:str}", responses=CONFLICT_RESPONSES, operation_id="delete_file", status_code=200,
        summary="Delete a file", description="A file that a job which has not ended trains on cannot be deleted (409).",
    )
    async def delete_file(self, services: Deps, tenant: Tenant, file_id: FromPath[str]) -> FileDeleted:
        await service.delete_file(services, tenant, file_id)
        return FileDeleted(id=file_id)

    @get(
        "/{file_id:str}/content", responses=ERROR_RESPONSES, operation_id="retrieve_file_content",
        summary="Download a file's content", media_type="application/octet-stream",
    )
    async def retrieve_file_content(self, services: Deps, tenant: Tenant, file_id: FromPath[str]) -> Response[bytes]:
        # Streamed; the annotation stays Response[bytes] (a Stream is one) so that the published schema is unchanged.
        return Stream(await service.file_content(services, tenant, file_id), media_type="application/octet-stream")
