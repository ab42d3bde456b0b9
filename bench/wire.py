"""A minimal HTTP/1.1 keep-alive client on asyncio, cheap enough that the load generator is not the bottleneck.

A general client (httpx) spends several times kontor's own CPU per request on header objects, URL
parsing and connection pooling; the benchmark needs none of that. Each connection carries one request
at a time, prepared as bytes in advance, and reads responses framed by ``Content-Length``, which is
how uvicorn answers every request kontor serves. A chunked response is refused as a protocol error
rather than misread.
"""

from __future__ import annotations

import asyncio

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"
TRANSFER_ENCODING = b"\r\ntransfer-encoding:"
CONNECTION_CLOSE = b"\r\nconnection: close"


class ConnectionClosed(Exception):
    """The connection ended (or was refused) before a whole response arrived."""


class ProtocolError(ConnectionClosed):
    """The server answered something this client does not read (no ``Content-Length``, chunked)."""


Response = tuple[int, bytes]


def request(method: str, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request as the bytes to send."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``send`` writes a prepared request and waits for its response."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = _parse(self._buffer)
        except ProtocolError as exc:
            waiter.set_exception(exc)
            self.close()
            return
        if parsed is not None:
            status, body, consumed, close = parsed
            del self._buffer[:consumed]
            waiter.set_result((status, body))
            if close:
                self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionClosed(str(exc or "closed by the server")))

    async def send(self, raw: bytes) -> Response:
        """Send one prepared request; its status and body."""
        if self.closed or self._transport is None:
            raise ConnectionClosed("connection already closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


def _parse(buffer: bytearray) -> tuple[int, bytes, int, bool] | None:
    """(status, body, bytes consumed, server closes) once a whole response is buffered, else None."""
    end = buffer.find(HEADER_END)
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    length = 0
    at = head.find(CONTENT_LENGTH)
    if at >= 0:
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + len(CONTENT_LENGTH) : stop if stop >= 0 else None])
    elif head.find(TRANSFER_ENCODING) >= 0:
        raise ProtocolError("a response without Content-Length (chunked) is not supported")
    start = end + len(HEADER_END)
    if len(buffer) < start + length:
        return None
    return int(head[9:12]), bytes(buffer[start : start + length]), start + length, CONNECTION_CLOSE in head


async def send_all(host: str, port: int, requests: list[bytes], concurrency: int) -> list[Response]:
    """Send every request over ``concurrency`` connections; the responses in request order.

    A connection lost mid-request gives status 0 for that request, and the next one opens anew.
    """
    answers: list[Response] = [(0, b"")] * len(requests)
    cursor = iter(range(len(requests)))

    async def client() -> None:
        connection = await Connection.open(host, port)
        try:
            for index in cursor:
                if connection.closed:
                    connection = await Connection.open(host, port)
                try:
                    answers[index] = await connection.send(requests[index])
                except ConnectionClosed as exc:
                    answers[index] = (0, str(exc).encode())
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(max(1, min(concurrency, len(requests))))))
    return answers
