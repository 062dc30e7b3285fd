from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.checkpoint_permission_deleted import CheckpointPermissionDeleted
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    checkpoint_path: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v1/fine_tuning/checkpoints/{checkpoint_path}".format(
            checkpoint_path=quote(str(checkpoint_path), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CheckpointPermissionDeleted | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CheckpointPermissionDeleted.from_dict(response.json())

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
) -> Response[CheckpointPermissionDeleted | ErrorBody]:
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
) -> Response[CheckpointPermissionDeleted | ErrorBody]:
    """Stop sharing a checkpoint with a project: it can no longer train from it or call it, at once

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionDeleted | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
) -> CheckpointPermissionDeleted | ErrorBody | None:
    """Stop sharing a checkpoint with a project: it can no longer train from it or call it, at once

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointPermissionDeleted | ErrorBody
    """

    return sync_detailed(
        checkpoint_path=checkpoint_path,
        client=client,
    ).parsed


async def asyncio_detailed(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
) -> Response[CheckpointPermissionDeleted | ErrorBody]:
    """Stop sharing a checkpoint with a project: it can no longer train from it or call it, at once

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointPermissionDeleted | ErrorBody]
    """

    kwargs = _get_kwargs(
        checkpoint_path=checkpoint_path,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    checkpoint_path: str,
    *,
    client: AuthenticatedClient,
) -> CheckpointPermissionDeleted | ErrorBody | None:
    """Stop sharing a checkpoint with a project: it can no longer train from it or call it, at once

    Args:
        checkpoint_path (str): `{fine_tuned_model_checkpoint}/permissions` (the checkpoint's
            `ft:…:ckpt-step-N` name or `ftckpt-…` id), and `/{permission_id}` after it to delete one

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointPermissionDeleted | ErrorBody
    """

    return (
        await asyncio_detailed(
            checkpoint_path=checkpoint_path,
            client=client,
        )
    ).parsed
