"""The lean network streams under HeyGenClient's pool (heyrender/api/transport.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore
import httpx

from heyrender.api.transport import FLUSH_BYTES, LeanBackend, LeanStream, lean_transport


class FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, sock: socket.socket | None = None, fail_writes: bool = False) -> None:
        self.sock = sock
        self.sent: list[bytes] = []
        self.fail_writes = fail_writes
        self.closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"answer"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self.fail_writes:
            raise httpcore.WriteError("broken pipe")
        self.sent.append(buffer)

    async def aclose(self) -> None:
        self.closed = True

    def get_extra_info(self, info: str) -> Any:
        return self.sock if info == "socket" else None


def test_a_request_written_in_pieces_is_sent_once_before_its_answer_is_read() -> None:
    inner = FakeStream()
    stream = LeanStream(inner)

    async def exchange() -> bytes:
        await stream.write(b"POST / HTTP/1.1\r\n\r\n")
        await stream.write(b"")
        await stream.write(b'{"a":1}')
        assert inner.sent == []
        return await stream.read(100)

    assert asyncio.run(exchange()) == b"answer"
    assert inner.sent == [b'POST / HTTP/1.1\r\n\r\n{"a":1}']


def test_a_large_body_is_sent_as_it_comes() -> None:
    inner = FakeStream()
    stream = LeanStream(inner)
    asyncio.run(stream.write(b"x" * FLUSH_BYTES))
    assert inner.sent == [b"x" * FLUSH_BYTES]


def test_a_failed_send_is_left_to_the_read_as_httpcore_does() -> None:
    inner = FakeStream(fail_writes=True)
    stream = LeanStream(inner)

    async def exchange() -> bytes:
        await stream.write(b"GET / HTTP/1.1\r\n\r\n")
        return await stream.read(100)

    assert asyncio.run(exchange()) == b"answer"


def test_an_idle_connection_reads_as_closed_once_the_server_closes_it() -> None:
    ours, theirs = socket.socketpair()
    try:
        stream = LeanStream(FakeStream(ours))
        assert stream.get_extra_info("socket") is ours
        assert stream.get_extra_info("is_readable") is False
        theirs.close()
        assert stream.get_extra_info("is_readable") is True
        ours.close()
        assert stream.get_extra_info("is_readable") is True  # no descriptor: treated as closed
    finally:
        ours.close()
        theirs.close()


def test_a_stream_without_a_socket_reads_as_closed() -> None:
    assert LeanStream(FakeStream(None)).get_extra_info("is_readable") is True


def test_the_transport_wraps_httpx_s_own_backend() -> None:
    transport = lean_transport(httpx.Limits(max_connections=2))
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, LeanBackend)
