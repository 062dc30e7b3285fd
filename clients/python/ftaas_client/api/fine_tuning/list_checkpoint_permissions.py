from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.checkpoint_permission_list import CheckpointPermissionList
from ...models.error_body import ErrorBody
from ...models.list_checkpoint_permissions_order import ListCheckpointPermissionsOrder
from ...types import UNSET, Response, Unset


def _get_kwargs(
    checkpoint_path: str,
    *,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10,
    order: ListCheckpointPermissionsOrder | Unset = ListCheckpointPermissionsOrder.DESCENDING,
    project_id: None | str | Unset = UNSET,
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

    json_project_id: None | str | Unset
    if isinstance(project_id, Unset):
        json_project_id = UNSET
    else:
        json_project_id = project_id
    params["project_id"] = json_project_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/fine_tuning/checkpoints/{checkpoint_path}".format(
            checkpoint_path=quote(str(checkpoint_path), safe=""),
        ),
        "params": params,
    }

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
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10,
    order: ListCheckpointPermissionsOrder | Unset = ListCheckpointPermissionsOrder.DESCENDING,
    project_id: None | str | Unset = UNSET,
) -> Response[CheckpointPermissionList | ErrorBody]:
    """Who one of your checkpoints is shared with

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset):  Default: 10.
        order (ListCheckpointPermissionsOrder | Unset): By creation time Default:
            ListCheckpointPermissionsOrder.DESCENDING.
        project_id (None | str | Unset): Only this project's permission

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionList | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
        after=after,
        limit=limit,
        order=order,
        project_id=project_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10,
    order: ListCheckpointPermissionsOrder | Unset = ListCheckpointPermissionsOrder.DESCENDING,
    project_id: None | str | Unset = UNSET,
) -> CheckpointPermissionList | ErrorBody | None:
    """Who one of your checkpoints is shared with

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset):  Default: 10.
        order (ListCheckpointPermissionsOrder | Unset): By creation time Default:
            ListCheckpointPermissionsOrder.DESCENDING.
        project_id (None | str | Unset): Only this project's permission

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointPermissionList | ErrorBody
    """

    return sync_detailed(
        checkpoint_path=checkpoint_path,
        client=client,
        after=after,
        limit=limit,
        order=order,
        project_id=project_id,
    ).parsed


async def asyncio_detailed(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10,
    order: ListCheckpointPermissionsOrder | Unset = ListCheckpointPermissionsOrder.DESCENDING,
    project_id: None | str | Unset = UNSET,
) -> Response[CheckpointPermissionList | ErrorBody]:
    """Who one of your checkpoints is shared with

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset):  Default: 10.
        order (ListCheckpointPermissionsOrder | Unset): By creation time Default:
            ListCheckpointPermissionsOrder.DESCENDING.
        project_id (None | str | Unset): Only this project's permission

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionList | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
        after=after,
        limit=limit,
        order=order,
        project_id=project_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 10,
    order: ListCheckpointPermissionsOrder | Unset = ListCheckpointPermissionsOrder.DESCENDING,
    project_id: None | str | Unset = UNSET,
) -> CheckpointPermissionList | ErrorBody | None:
    """Who one of your checkpoints is shared with

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one
        after (None | str | Unset): The last id of the previous page; empty or absent for the
            first page
        limit (int | Unset):  Default: 10.
        order (ListCheckpointPermissionsOrder | Unset): By creation time Default:
            ListCheckpointPermissionsOrder.DESCENDING.
        project_id (None | str | Unset): Only this project's permission

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
            after=after,
            limit=limit,
            order=order,
            project_id=project_id,
        )
    ).parsed
