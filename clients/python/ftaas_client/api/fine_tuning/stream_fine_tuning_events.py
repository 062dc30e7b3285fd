from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.fine_tuning_job_stream_message import FineTuningJobStreamMessage
from ...types import Response


def _get_kwargs(
    fine_tuning_job_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/fine_tuning/jobs/{fine_tuning_job_id}/events/stream".format(
            fine_tuning_job_id=quote(str(fine_tuning_job_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | FineTuningJobStreamMessage | None:
    if response.status_code == 200:
        response_200 = FineTuningJobStreamMessage.from_dict(response.text)

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
) -> Response[ErrorBody | FineTuningJobStreamMessage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    fine_tuning_job_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | FineTuningJobStreamMessage]:
    """A job's events as they happen, oldest first (server-sent events; ftaas extension)

     Each event is an SSE message `event: fine_tuning.job.event` whose data is the event object and whose
    id is its id (send `Last-Event-ID` to go on after it). Once the job has ended or is paused, a last
    message `event: fine_tuning.job` carries the job, and the stream ends.

    Args:
        fine_tuning_job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FineTuningJobStreamMessage]
    """

    kwargs = _get_kwargs(
        fine_tuning_job_id=fine_tuning_job_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    fine_tuning_job_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | FineTuningJobStreamMessage | None:
    """A job's events as they happen, oldest first (server-sent events; ftaas extension)

     Each event is an SSE message `event: fine_tuning.job.event` whose data is the event object and whose
    id is its id (send `Last-Event-ID` to go on after it). Once the job has ended or is paused, a last
    message `event: fine_tuning.job` carries the job, and the stream ends.

    Args:
        fine_tuning_job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FineTuningJobStreamMessage
    """

    return sync_detailed(
        fine_tuning_job_id=fine_tuning_job_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    fine_tuning_job_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | FineTuningJobStreamMessage]:
    """A job's events as they happen, oldest first (server-sent events; ftaas extension)

     Each event is an SSE message `event: fine_tuning.job.event` whose data is the event object and whose
    id is its id (send `Last-Event-ID` to go on after it). Once the job has ended or is paused, a last
    message `event: fine_tuning.job` carries the job, and the stream ends.

    Args:
        fine_tuning_job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FineTuningJobStreamMessage]
    """

    kwargs = _get_kwargs(
        fine_tuning_job_id=fine_tuning_job_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    fine_tuning_job_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | FineTuningJobStreamMessage | None:
    """A job's events as they happen, oldest first (server-sent events; ftaas extension)

     Each event is an SSE message `event: fine_tuning.job.event` whose data is the event object and whose
    id is its id (send `Last-Event-ID` to go on after it). Once the job has ended or is paused, a last
    message `event: fine_tuning.job` carries the job, and the stream ends.

    Args:
        fine_tuning_job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FineTuningJobStreamMessage
    """

    return (
        await asyncio_detailed(
            fine_tuning_job_id=fine_tuning_job_id,
            client=client,
        )
    ).parsed
