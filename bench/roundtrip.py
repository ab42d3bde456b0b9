"""``python -m bench.roundtrip``: what one round trip to PostgreSQL costs, back to back and paced.

The open-loop phase (e) sends 100 transfers/s, so between requests every process on the machine
goes idle. This measures a bare ``SELECT 1`` on kontor's driver and event loop against the
embedded server over its unix socket: 500 back to back, 500 paced at 100/s, 50 at 10/s. On the
2-core virtual machine of docs/benchmarks.md a paced round trip costs several times a hot one:
the waking up of both processes, not the query, and a single transfer makes six of them.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import uvloop

from bench.report import percentile
from bench.stack import Database

PACES = (("back to back", 0.0, 500), ("paced at 100/s", 0.01, 500), ("paced at 10/s", 0.1, 50))


async def _measure(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for label, gap_s, count in PACES:
            latencies_ms = []
            for _ in range(count):
                started = time.perf_counter()
                await conn.fetchval("SELECT 1")
                latencies_ms.append((time.perf_counter() - started) * 1000)
                if gap_s:
                    await asyncio.sleep(gap_s)
            p50, p99 = percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.99)
            print(f"{label:>15}: SELECT 1 round trip p50 {p50 * 1000:.0f} µs, p99 {p99 * 1000:.0f} µs ({count})")
    finally:
        await conn.close()


def main() -> None:
    database = Database.start(None)
    try:
        uvloop.run(_measure(database.url))
    finally:
        database.stop()


if __name__ == "__main__":
    main()
