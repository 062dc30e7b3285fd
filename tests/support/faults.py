"""Faults on demand: a loopback TCP proxy in front of a real server (moto's S3, Redis) that a test can cut.

    with CuttableProxy(("127.0.0.1", 6379)) as proxy:   # point the client at proxy.url / proxy.port
        ...
        proxy.cut()      # open connections are reset, new ones refused (nothing listens on the port)
        ...
        proxy.restore()  # the same port accepts and forwards again

Cut connections fail at once (refused, not dropped), so clients with retries hear of the outage in
seconds. The proxy runs an asyncio loop in a daemon thread; its methods are called from the test's thread.
"""

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Self

import pytest

CHUNK = 64 * 1024


class CuttableProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as s:  # a free port, kept across cut() and restore()
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cuttable-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._server is None

    def start(self) -> Self:
        self._thread.start()
        self.restore()
        return self

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()  # reset, not a polite close: the peer sees the connection die
        self._open.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, upstream_writer}
        self._open |= pair
        try:
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        finally:
            self._open -= pair


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
    except (OSError, RuntimeError):  # the other side went away (or the proxy cut it)
        writer.transport.abort()


def _host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rstrip("/").rpartition(":")
    return host, int(port)


@pytest.fixture
def s3_proxy(s3_endpoint: str) -> Iterator[CuttableProxy]:
    """A cuttable proxy in front of the session's moto S3 server; use `s3_proxy.url` as the endpoint_url."""
    with CuttableProxy(_host_port(s3_endpoint)) as proxy:
        yield proxy


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[CuttableProxy]:
    """A cuttable proxy in front of the test Redis; use `redis://127.0.0.1:{redis_proxy.port}/15`."""
    from redis.connection import parse_url

    options = parse_url(redis_url)
    with CuttableProxy((options.get("host", "127.0.0.1"), options.get("port", 6379))) as proxy:
        yield proxy
