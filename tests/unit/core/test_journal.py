"""The journal's link hash: the head is the JSON array json.dumps writes, whatever the texts."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from kontor.core.journal import GENESIS, link


def reference(prev: bytes, seq: int, event_id: str, event_type: str, subject: str, created_at: str, text: str) -> bytes:
    head = json.dumps([seq, event_id, event_type, subject, created_at], separators=(",", ":"))
    return hashlib.sha256(prev + head.encode() + b"\n" + text.encode()).digest()


def test_a_typical_event_links_as_the_reference_does() -> None:
    args = (
        GENESIS,
        7,
        "01a1fd97-79e9-76de-af27-432c78bb9738",
        "balance.changed",
        "01a1fd97-79fc-7719-8f54-4fd2162722f3:01a1fd97-7a00-7000-8000-000000000001",
        "2026-11-21T10:00:00.5Z",
        '{"a":1}',
    )
    assert link(*args) == reference(*args)


@given(
    seq=st.integers(min_value=0, max_value=2**62),
    texts=st.lists(st.text(max_size=40), min_size=4, max_size=4),
    payload=st.text(max_size=60),
)
def test_any_texts_link_as_the_reference_does(seq: int, texts: list[str], payload: str) -> None:
    event_id, event_type, subject, created_at = texts
    prev = hashlib.sha256(payload.encode(errors="surrogatepass")).digest()
    try:
        payload.encode()
    except UnicodeEncodeError:
        return  # a lone surrogate is never a stored payload
    assert link(prev, seq, event_id, event_type, subject, created_at, payload) == reference(
        prev, seq, event_id, event_type, subject, created_at, payload
    )


def test_a_span_is_hashed_only_when_it_is_not_one() -> None:
    args = (GENESIS, 9, "01a1fd97-79e9-76de-af27-432c78bb9738", "transaction.posted", "s", "2026-12-02T19:00:00Z", "{}")
    assert link(*args, 1) == link(*args) == reference(*args)
    head = json.dumps([9, *args[2:6], 3], separators=(",", ":"))
    assert link(*args, 3) == hashlib.sha256(GENESIS + head.encode() + b"\n{}").digest()
    assert link(*args, 3) != link(*args, 2)
