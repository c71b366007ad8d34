"""httpcore's network streams, made lean for many small requests over a kept-alive pool.

Two costs that httpcore's own streams pay on every request, measured in apply (py-spy):
- Before each request and after each answer, the pool asks every idle connection whether
  the server closed it ("is_readable"). anyio answers by building a dict of its socket's
  attributes, with a getpeername() call and an IP address parse, for every connection.
  Here the socket is looked up once per connection, and polled with one poll object.
- A request is written in pieces (its headers, then its body), one send() each. Here the
  pieces are held until the answer is read (or 64 KiB wait), then sent in one send().
  A failed send is dropped as httpcore drops it: the read that follows reports the loss.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

FLUSH_BYTES = 65536


class LeanStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._write_timeout: float | None = None
        raw: socket.socket | None = stream.get_extra_info("socket")
        self._socket = raw
        self._poll: Any = None
        if raw is not None and raw.fileno() >= 0 and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(raw.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            await self._flush()
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending.append(buffer)
        self._pending_bytes += len(buffer)
        self._write_timeout = timeout
        if self._pending_bytes >= FLUSH_BYTES:
            await self._stream.write(self._taken(), timeout)

    def _taken(self) -> bytes:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        return data

    async def _flush(self) -> None:
        # as httpcore does: the server may have answered already; the read tells
        with contextlib.suppress(httpcore.WriteError):
            await self._stream.write(self._taken(), self._write_timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._pending:
            await self._stream.write(self._taken(), self._write_timeout)
        return LeanStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        if info == "socket":
            return self._socket
        return self._stream.get_extra_info(info)

    def _readable(self) -> bool:
        """Whether a read would not wait: data, or the server's close (httpcore's meaning)."""
        if self._socket is None or self._socket.fileno() < 0:
            return True
        if self._poll is None:
            readable: bool = self._stream.get_extra_info("is_readable")
            return readable
        return bool(self._poll.poll(0))


class LeanBackend(httpcore.AsyncNetworkBackend):
    """Another backend's connections, each wrapped in a LeanStream."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return LeanStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return LeanStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def lean_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its pool's connections made lean where httpx's layout allows
    (httpx does not take a network backend; left as it is if its internals differ)."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and backend is not None:
        pool._network_backend = LeanBackend(backend)
    return transport
