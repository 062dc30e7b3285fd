from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.checkpoint_permission_list import CheckpointPermissionList
from ...models.error_body import ErrorBody
from ...models.permission_create import PermissionCreate
from ...types import Response


def _get_kwargs(
    checkpoint_path: str,
    *,
    body: PermissionCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/fine_tuning/checkpoints/{checkpoint_path}".format(
            checkpoint_path=quote(str(checkpoint_path), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CheckpointPermissionList | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CheckpointPermissionList.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

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
) -> Response[CheckpointPermissionList | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    body: PermissionCreate,
) -> Response[CheckpointPermissionList | ErrorBody]:
    """Share one of your checkpoints with other projects (tenants)

     They can then train from it and call it by its name or id. Sharing again with a project that has a
    permission returns that permission.

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        body (PermissionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionList | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    body: PermissionCreate,
) -> CheckpointPermissionList | ErrorBody | None:
    """Share one of your checkpoints with other projects (tenants)

     They can then train from it and call it by its name or id. Sharing again with a project that has a
    permission returns that permission.

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        body (PermissionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointPermissionList | ErrorBody
    """

    return sync_detailed(
        checkpoint_path=checkpoint_path,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    body: PermissionCreate,
) -> Response[CheckpointPermissionList | ErrorBody]:
    """Share one of your checkpoints with other projects (tenants)

     They can then train from it and call it by its name or id. Sharing again with a project that has a
    permission returns that permission.

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        body (PermissionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionList | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    body: PermissionCreate,
) -> CheckpointPermissionList | ErrorBody | None:
    """Share one of your checkpoints with other projects (tenants)

     They can then train from it and call it by its name or id. Sharing again with a project that has a
    permission returns that permission.

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        body (PermissionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointPermissionList | ErrorBody
    """

    return (
        await asyncio_detailed(
            checkpoint_path=checkpoint_path,
            client=client,
            body=body,
        )
    ).parsed
