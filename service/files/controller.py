from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath

from service.errors import ERROR_RESPONSES
from service.dependencies import Deps, Tenant
from service.files import service
from service.files.schemas import FileList, FileObject, FileUpload


class FilesController(Controller):
    path = "/files"
    tags = ["files"]

    @post("/", responses=ERROR_RESPONSES, operation_id="create_file", status_code=200, summary="Upload a JSONL training file")
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
    async def list_files(self, services: Deps, tenant: Tenant) -> FileList:
        return FileList(data=[FileObject.from_record(r) for r in await services.files.list(tenant)])

    @get("/{file_id:str}", responses=ERROR_RESPONSES, operation_id="retrieve_file", summary="Get a file's record")
    async def retrieve_file(self, services: Deps, tenant: Tenant, file_id: FromPath[str]) -> FileObject:
        return FileObject.from_record(await service.get_file(services, tenant, file_id))

    @get("/{file_id:str}/content", responses=ERROR_RESPONSES, operation_id="retrieve_file_content", summary="Download a file's content")
    async def retrieve_file_content(self, services: Deps, tenant: Tenant, file_id: FromPath[str]) -> Response[bytes]:
        content = await service.file_content(services, tenant, file_id)
        return Response(content, media_type="application/octet-stream")
