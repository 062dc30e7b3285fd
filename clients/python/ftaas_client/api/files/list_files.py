from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.file_list import FileList
from ...models.list_files_order import ListFilesOrder
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10000,
    order: ListFilesOrder | Unset = ListFilesOrder.DESC,
    purpose: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_after: None | str | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    params["limit"] = limit

    json_order: str | Unset = UNSET
    if not isinstance(order, Unset):
        json_order = order.value

    params["order"] = json_order

    json_purpose: None | str | Unset
    if isinstance(purpose, Unset):
        json_purpose = UNSET
    else:
        json_purpose = purpose
    params["purpose"] = json_purpose

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/files",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | FileList | None:
    if response.status_code == 200:
        response_200 = FileList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | FileList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10000,
    order: ListFilesOrder | Unset = ListFilesOrder.DESC,
    purpose: None | str | Unset = UNSET,
) -> Response[ErrorBody | FileList]:
    """List the caller's files, newest first

    Args:
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset): Page size (OpenAI's: 1 to 10,000) Default: 10000.
        order (ListFilesOrder | Unset): By creation time Default: ListFilesOrder.DESC.
        purpose (None | str | Unset): Only files of this purpose

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FileList]
    """

    kwargs = _get_kwargs(
        after=after,
        limit=limit,
        order=order,
        purpose=purpose,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10000,
    order: ListFilesOrder | Unset = ListFilesOrder.DESC,
    purpose: None | str | Unset = UNSET,
) -> ErrorBody | FileList | None:
    """List the caller's files, newest first

    Args:
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset): Page size (OpenAI's: 1 to 10,000) Default: 10000.
        order (ListFilesOrder | Unset): By creation time Default: ListFilesOrder.DESC.
        purpose (None | str | Unset): Only files of this purpose

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FileList
    """

    return sync_detailed(
        client=client,
        after=after,
        limit=limit,
        order=order,
        purpose=purpose,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10000,
    order: ListFilesOrder | Unset = ListFilesOrder.DESC,
    purpose: None | str | Unset = UNSET,
) -> Response[ErrorBody | FileList]:
    """List the caller's files, newest first

    Args:
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset): Page size (OpenAI's: 1 to 10,000) Default: 10000.
        order (ListFilesOrder | Unset): By creation time Default: ListFilesOrder.DESC.
        purpose (None | str | Unset): Only files of this purpose

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FileList]
    """

    kwargs = _get_kwargs(
        after=after,
        limit=limit,
        order=order,
        purpose=purpose,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10000,
    order: ListFilesOrder | Unset = ListFilesOrder.DESC,
    purpose: None | str | Unset = UNSET,
) -> ErrorBody | FileList | None:
    """List the caller's files, newest first

    Args:
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset): Page size (OpenAI's: 1 to 10,000) Default: 10000.
        order (ListFilesOrder | Unset): By creation time Default: ListFilesOrder.DESC.
        purpose (None | str | Unset): Only files of this purpose

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FileList
    """

    return (
        await asyncio_detailed(
            client=client,
            after=after,
            limit=limit,
            order=order,
            purpose=purpose,
        )
    ).parsed
