"""Wake-ups when the journal grows: one LISTEN connection per process, shared by relays and streams.

The journal's insert trigger NOTIFYs ``kontor_journal`` at commit with the chain it extended. A
waiter takes a ``token`` *before* it reads the journal and waits on it after finding nothing new:
a commit in between has already set the token, so no wake-up is lost. Waiters also give up after
a timeout and read again (the polling fallback), so a lost connection only delays events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from kontor.store import events as store

log = logging.getLogger("kontor.events")

Chain = tuple[UUID, UUID]
RECONNECT_DELAY_MAX_S = 5.0
KEEPALIVE_S = 30.0


class Notifier:
    """Per-chain wake-up tokens, set by notifications from PostgreSQL."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._tokens: dict[Chain | None, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def token(self, chain: Chain | None = None) -> asyncio.Event:
        """An event set at the next commit that extends ``chain`` (None: any chain)."""
        token = self._tokens.get(chain)
        if token is None:
            token = self._tokens[chain] = asyncio.Event()
        return token

    async def wait(self, token: asyncio.Event, timeout_s: float) -> bool:
        """Wait until ``token`` is set or ``timeout_s`` passes; whether it was set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(token.wait(), timeout_s)
        return token.is_set()

    def notify(self, chain: Chain | None) -> None:
        """Wake the waiters of ``chain`` and of any chain (None wakes everyone)."""
        keys = list(self._tokens) if chain is None else [chain, None]
        for key in keys:
            token = self._tokens.pop(key, None)
            if token is not None:
                token.set()

    def _on_payload(self, payload: str) -> None:
        organization_id, _, ledger_id = payload.partition("/")
        try:
            self.notify((UUID(organization_id), UUID(ledger_id)))
        except ValueError:
            self.notify(None)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kontor-events-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay_s = 0.1
        while True:
            try:
                await self._listen()
                delay_s = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events: LISTEN connection failed (%s); retrying in %.1f s", exc, delay_s)
            self.connected.clear()
            self.notify(None)  # whatever was missed meanwhile: everyone reads again
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, RECONNECT_DELAY_MAX_S)

    async def _listen(self) -> None:
        conn = await store.connect(self._url, "listen")
        lost = asyncio.Event()
        try:
            store.on_termination(conn, lost.set)
            await store.listen(conn, self._on_payload)
            self.connected.set()
            self.notify(None)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_S)
                if not lost.is_set():
                    await store.ping(conn)  # a half-open socket fails here rather than never
        finally:
            await store.close(conn)
