"""The publisher's hand-packed frames against pamqp's own marshalling of the same values (the
oracle), and against the properties aio-pika sent before."""

from __future__ import annotations

import uuid

import aio_pika
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import body, commands, frame, header, heartbeat

from kontor.events.sinks.amqp_frames import (
    FRAME_MAX_BYTES,
    FRAME_OVERHEAD_BYTES,
    Message,
    body_frames,
    content_header_frame,
    negotiated_frame_max,
    publish_frame,
    unmarshal_frames,
)

CONTENT_TYPE = "application/cloudevents+json"
# Every integer type a table integer can take, and the edges between them.
SEQS = [0, 1, 127, 128, -1, -128, -129, 32767, 32768, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1]


def message(body_bytes: bytes = b"{}", seq: int = 1, **extra: object) -> Message:
    values: dict[str, object] = {
        "routing_key": "balance.changed",
        "body": body_bytes,
        "content_type": CONTENT_TYPE,
        "message_id": str(uuid.uuid4()),
        "message_type": "balance.changed",
        "headers": {"organizationid": str(uuid.uuid4()), "ledgerid": str(uuid.uuid4()), "seq": seq},
        **extra,
    }
    return Message(**values)  # type: ignore[arg-type]


def oracle_header(channel: int, m: Message) -> bytes:
    properties = commands.Basic.Properties(
        content_type=m.content_type,
        headers=dict(m.headers),
        delivery_mode=2,
        priority=0,
        message_id=m.message_id,
        message_type=m.message_type,
    )
    return frame.marshal(header.ContentHeader(0, len(m.body), properties), channel)


@pytest.mark.parametrize("seq", SEQS)
def test_the_content_header_is_pamqps_byte_for_byte(seq):
    m = message(seq=seq)
    assert content_header_frame(1, m) == oracle_header(1, m)
    assert content_header_frame(7, m) == oracle_header(7, m)


def test_non_ascii_header_values_and_names_are_pamqps_byte_for_byte():
    m = message(
        b"\xc3\xa9" * 10,
        message_id="évènement-€-日本",
        message_type="transação.criada",
        headers={"organizationid": "São Paulo €", "ledgerid": "日本語", "seq": 42, "ação": "ñ", "Zebra": ""},
    )
    assert content_header_frame(1, m) == oracle_header(1, m)


@given(
    # pamqp cuts names past 128 bytes: 32 characters are at most 128 bytes of UTF-8.
    headers=st.dictionaries(
        st.text(min_size=1, max_size=32),
        st.one_of(st.text(max_size=300), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
        max_size=6,
    ),
    message_id=st.text(min_size=1, max_size=60),
    message_type=st.text(min_size=1, max_size=60),
    body_bytes=st.binary(max_size=300),
)
def test_any_strings_and_integers_pack_as_pamqp_packs_them(headers, message_id, message_type, body_bytes):
    m = message(body_bytes, headers=headers, message_id=message_id, message_type=message_type)
    assert content_header_frame(1, m) == oracle_header(1, m)


def test_the_header_carries_what_aio_pika_sent():
    m = message(b"x" * 1500, seq=123456)
    sent = aio_pika.Message(
        m.body,
        content_type=m.content_type,
        message_id=m.message_id,
        type=m.message_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=dict(m.headers),
    )
    assert content_header_frame(1, m) == frame.marshal(header.ContentHeader(0, len(m.body), sent.properties), 1)


def test_the_publish_method_frame_is_pamqps():
    expected = commands.Basic.Publish(exchange="kontor.events", routing_key="transaction.posted", mandatory=False)
    assert publish_frame(1, "kontor.events", "transaction.posted") == frame.marshal(expected, 1)


@pytest.mark.parametrize("frame_max", [4096, 10_000, FRAME_MAX_BYTES])
def test_a_body_longer_than_frame_max_is_cut_into_frames_pamqp_reads_back(frame_max):
    text = ("ação € 日本 " * 40_000).encode()
    frames: list[bytes] = []
    body_frames(3, text, frame_max, frames)
    step = frame_max - FRAME_OVERHEAD_BYTES
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    wire = b"".join(frames)
    assert wire == b"".join(frame.marshal(body.ContentBody(chunk), 3) for chunk in chunks)
    buffer = bytearray(wire)
    read = unmarshal_frames(buffer)
    assert buffer == b""
    assert len(read) == len(chunks) > 1
    assert all(isinstance(f, body.ContentBody) and len(f) <= step for f in read)
    assert b"".join(f.value for f in read if isinstance(f, body.ContentBody)) == text


@pytest.mark.parametrize(("size", "count"), [(0, 0), (1, 1), (4088, 1), (4089, 2), (8176, 2), (8177, 3)])
def test_body_frames_fill_frame_max_exactly(size, count):
    frames: list[bytes] = []
    body_frames(1, b"b" * size, 4096, frames)
    pieces = [b"".join(frames[i : i + 3]) for i in range(0, len(frames), 3)]
    assert len(pieces) == count
    assert [len(piece) for piece in pieces[:-1]] == [4096] * (count - 1)  # all full but the last
    assert sum(len(piece) - FRAME_OVERHEAD_BYTES for piece in pieces) == size


def test_a_whole_message_reads_back_as_it_was_given():
    m = message(b"z" * 10_000, seq=70_000)
    frames = [publish_frame(1, "kontor.events", m.routing_key), content_header_frame(1, m)]
    body_frames(1, m.body, 4096, frames)
    read = unmarshal_frames(bytearray(b"".join(frames)))
    method, content, *bodies = read
    assert isinstance(method, commands.Basic.Publish) and method.routing_key == m.routing_key
    assert method.exchange == "kontor.events" and method.mandatory is False
    assert isinstance(content, header.ContentHeader) and content.body_size == len(m.body)
    props = content.properties
    assert (props.content_type, props.message_id, props.message_type) == (CONTENT_TYPE, m.message_id, m.message_type)
    assert (props.delivery_mode, props.priority, props.headers) == (2, 0, m.headers)
    assert b"".join(b.value for b in bodies if isinstance(b, body.ContentBody)) == m.body


def test_a_partial_frame_stays_in_the_buffer_until_it_is_whole():
    ack = frame.marshal(commands.Basic.Ack(delivery_tag=5, multiple=True), 1)
    wire = ack + heartbeat.Heartbeat.marshal() + ack
    buffer = bytearray(wire[:-3])
    first = unmarshal_frames(buffer)
    assert [type(f) for f in first] == [commands.Basic.Ack, heartbeat.Heartbeat]
    assert buffer == ack[:-3]
    buffer += wire[-3:]
    (last,) = unmarshal_frames(buffer)
    assert isinstance(last, commands.Basic.Ack) and (last.delivery_tag, last.multiple) == (5, True)
    assert buffer == b""


def test_a_broker_that_speaks_another_protocol_is_refused():
    with pytest.raises(ValueError, match="AMQP 0-9-1"):
        unmarshal_frames(bytearray(b"AMQP\x00\x00\x09\x01"))


def test_frame_max_is_the_servers_but_never_more_than_ours():
    assert negotiated_frame_max(0) == FRAME_MAX_BYTES
    assert negotiated_frame_max(4096) == 4096
    assert negotiated_frame_max(1_048_576) == FRAME_MAX_BYTES
