"""Emulator throughput: requests per second at 200 concurrent connections.

Also the emulator's load check (moved here from tests/ to keep `make test` fast): it exits
non-zero unless every request answered 200.

Starts the emulator in its own process, creates a video, then keeps 200
connections busy with status polls for a fixed time, from this process. The
load comes from aiohttp's client, which is light enough to find the server's
limit; `--client httpx` shows what heyrender's own client reaches.

    python bench/emulator_rps.py [--connections 200] [--seconds 10] [--client aiohttp|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import aiohttp
import httpx

from heyrender.emulator.process import EmulatorProcess

BODY = {"avatar_id": "a", "voice_id": "v", "script": "hello", "title": "bench"}
HEADERS = {"x-api-key": "bench"}


async def with_aiohttp(url: str, connections: int, seconds: float) -> Counter[int]:
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(url, connector=connector, headers=HEADERS) as http:
        async with http.post("/v2/videos", json=BODY) as answer:
            video_id = (await answer.json())["data"]["video_id"]
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                async with http.get(f"/v2/videos/{video_id}") as answer:
                    await answer.read()
                    statuses[answer.status] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


async def with_httpx(url: str, connections: int, seconds: float) -> Counter[int]:
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits, timeout=30) as http:
        video_id = (await http.post("/v2/videos", json=BODY)).json()["data"]["video_id"]
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                statuses[(await http.get(f"/v2/videos/{video_id}")).status_code] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client", choices=["aiohttp", "httpx"], default="aiohttp")
    args = parser.parse_args()
    load = with_aiohttp if args.client == "aiohttp" else with_httpx
    emulator = EmulatorProcess("--quiet", "--max-concurrent", "1000", "--render-seconds", "3600")
    try:
        started = time.perf_counter()
        statuses = asyncio.run(load(emulator.url, args.connections, args.seconds))
        took = time.perf_counter() - started
    finally:
        emulator.stop()
    done = sum(statuses.values())
    print(f"client:      {args.client}, {args.connections} concurrent connections")
    print(f"requests:    {done:,} in {took:.1f} s, {done - statuses[200]} not 200")
    print(f"throughput:  {done / took:,.0f} requests/s")
    if done == 0 or statuses[200] != done:
        raise SystemExit("some requests did not answer 200")


if __name__ == "__main__":
    main()
