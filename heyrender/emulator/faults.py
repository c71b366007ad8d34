"""The faults the emulator can inject, and dropping a connection without an answer."""

from __future__ import annotations

import asyncio

from aiohttp import web

READ_FAULTS = ("500", "502", "503", "slow", "drop")
CREATE_FAULTS = (*READ_FAULTS, "created-then-drop", "created-then-502")


async def drop(request: web.Request) -> web.StreamResponse:
    """Closes the connection without an answer."""
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
