"""AMQP 0-9-1 frames as a publisher writes and reads them, without I/O.

A message is three frames or more: the Basic.Publish method (built by pamqp, once per routing key),
the content header (packed here with ``struct``: pamqp's generic property encoders cost more than
the rest of a publish) and the body, cut into frames of at most ``frame_max`` bytes. The header
holds the same properties, in the same encoding, as aio-pika sent: content type, headers (keys
sorted, each integer in its smallest type), delivery mode 2 (persistent), priority 0, message id
and type. ``tests/unit/events/test_amqp_frames.py`` checks the packed frames byte for byte against
pamqp's marshalling of the same values. Everything received is unmarshalled by pamqp.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping
from typing import NamedTuple

from pamqp import commands, frame

from kontor.errors import invariant

FRAME_MAX_BYTES = 131072  # the largest frame sent or accepted (RabbitMQ's default frame_max)
FRAME_OVERHEAD_BYTES = 8  # a frame's type, channel and size, and its end octet

_FRAME_END = b"\xce"
_BODY_FRAME = struct.Struct(">BHI")  # type 3, channel, size
_HEADER_FRAME = struct.Struct(">BHIHHQH")  # type 2, channel, size; class 60, weight 0, body size, flags
_HEADER_FIXED_BYTES = 14  # class, weight, body size and flags
_LONG = struct.Struct(">I")
# A Basic.Ack method frame, the one frame a publisher receives per message: type 1, channel, size
# 13; class 60, method 80, delivery tag, flags (bit 0: multiple); then the frame end.
_ACK_FRAME = struct.Struct(">BHIHHQBB")
_ACK_FRAME_BYTES = _ACK_FRAME.size
# Present in every message: content type, headers, delivery mode, priority, message id, type.
_PROPERTY_FLAGS = 0x8000 | 0x2000 | 0x1000 | 0x0800 | 0x0080 | 0x0020
_PERSISTENT_PRIORITY_0 = b"\x02\x00"  # delivery mode 2 (persistent); priority 0, as aio-pika sent
# A table integer takes the smallest type that holds it, in pamqp's order of preference.
_TABLE_INTEGERS = (
    (-(2**7), 2**7 - 1, b"b", struct.Struct(">b")),
    (-(2**15), 2**15 - 1, b"s", struct.Struct(">h")),
    (0, 2**16 - 1, b"u", struct.Struct(">H")),
    (-(2**31), 2**31 - 1, b"I", struct.Struct(">i")),
    (0, 2**32 - 1, b"i", struct.Struct(">I")),
    (-(2**63), 2**63 - 1, b"l", struct.Struct(">q")),
)


class Message(NamedTuple):
    """One persistent message. Header values are strings or integers (not booleans)."""

    routing_key: str
    body: bytes
    content_type: str
    message_id: str
    message_type: str
    headers: Mapping[str, str | int]


def short_string(text: str) -> bytes:
    data = text.encode()
    invariant(len(data) <= 255, f"an AMQP short string holds 255 bytes, not {len(data)}")
    return bytes((len(data),)) + data


# Names, content types, message types and a chain's ids repeat from message to message.
_known_short_string = functools.lru_cache(maxsize=1024)(short_string)


@functools.lru_cache(maxsize=1024)
def _string_field(key: str, value: str) -> bytes:
    data = value.encode()
    return _known_short_string(key) + b"S" + _LONG.pack(len(data)) + data


def field_table(fields: Mapping[str, str | int]) -> bytes:
    """A field table as pamqp writes it: keys sorted, each integer in its smallest type."""
    parts = []
    for key in sorted(fields):
        value = fields[key]
        if isinstance(value, str):
            parts.append(_string_field(key, value))
        else:
            parts += (_known_short_string(key), _table_integer(value))
    table = b"".join(parts)
    return _LONG.pack(len(table)) + table


def _table_integer(value: int) -> bytes:
    for low, high, kind, packer in _TABLE_INTEGERS:
        if low <= value <= high:
            return kind + packer.pack(value)
    raise ValueError(f"{value} does not fit an AMQP table integer")


def publish_frame(channel: int, exchange: str, routing_key: str) -> bytes:
    """The Basic.Publish method frame (mandatory false): built once per routing key."""
    return frame.marshal(commands.Basic.Publish(exchange=exchange, routing_key=routing_key), channel)


def content_header_frame(channel: int, message: Message) -> bytes:
    """The content header frame of a persistent message, packed by hand."""
    content_type = _known_short_string(message.content_type)
    headers = field_table(message.headers)
    message_id = short_string(message.message_id)
    message_type = _known_short_string(message.message_type)
    size = _HEADER_FIXED_BYTES + len(content_type) + len(headers) + 2 + len(message_id) + len(message_type)
    fixed = _HEADER_FRAME.pack(2, channel, size, 60, 0, len(message.body), _PROPERTY_FLAGS)
    return b"".join((fixed, content_type, headers, _PERSISTENT_PRIORITY_0, message_id, message_type, _FRAME_END))


def body_frames(channel: int, body: bytes, frame_max: int, out: list[bytes]) -> None:
    """Append the body frames of ``body`` to ``out``: none for an empty body, each at most ``frame_max``."""
    step = frame_max - FRAME_OVERHEAD_BYTES
    for start in range(0, len(body), step):
        chunk = body[start : start + step]
        out += (_BODY_FRAME.pack(3, channel, len(chunk)), chunk, _FRAME_END)


def negotiated_frame_max(server_frame_max: int) -> int:
    """The server's frame_max (0: no limit), never more than ours."""
    return FRAME_MAX_BYTES if server_frame_max == 0 else min(server_frame_max, FRAME_MAX_BYTES)


def unmarshal_frames(buffer: bytearray) -> list[frame.FrameTypes]:
    """The complete frames at the start of ``buffer``, removed from it; a partial frame stays."""
    frames: list[frame.FrameTypes] = []
    offset = 0
    while len(buffer) - offset >= FRAME_OVERHEAD_BYTES:
        if buffer.startswith(b"AMQP", offset):  # the broker's answer to a protocol it does not speak
            raise ValueError(f"the broker does not speak AMQP 0-9-1: {bytes(buffer[offset : offset + 8])!r}")
        size = _LONG.unpack_from(buffer, offset + 3)[0]
        if size > FRAME_MAX_BYTES:
            raise ValueError(f"a frame of {size} bytes is past the limit of {FRAME_MAX_BYTES}")
        end = offset + FRAME_OVERHEAD_BYTES + size
        if len(buffer) < end:
            break
        if end - offset == _ACK_FRAME_BYTES and buffer[offset] == 1:
            _, _, _, class_id, method_id, tag, flags, frame_end = _ACK_FRAME.unpack_from(buffer, offset)
            if class_id == 60 and method_id == 80 and frame_end == 0xCE:  # read without pamqp: the hot path
                frames.append(commands.Basic.Ack(tag, bool(flags & 1)))
                offset = end
                continue
        frames.append(frame.unmarshal(bytes(buffer[offset:end]))[2])
        offset = end
    del buffer[:offset]
    return frames
