"""The journal's hash chain: each ledger's events form one gapless, tamper-evident sequence.

``hash(n) = SHA-256(hash(n-1) || canonical(n))`` where ``canonical`` is the JSON array
``[seq, id, event_type, subject, created_at]``, a newline and the payload (object keys sorted). A
row that carries more than one event (``span``, the money changes' balance.changed events derived
from their transaction) adds its span to the array: ``[..., created_at, span]``; a row of span 1 is
hashed as every row was before spans existed. The first row of a ledger chains from 32 zero bytes.
``kontor verify`` recomputes every link.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import msgspec

_CANONICAL = msgspec.json.Encoder(order="sorted")

GENESIS = bytes(32)
# Text that JSON writes as it is between quotes (ids, event types, timestamps).
_PLAIN = re.compile(r"[A-Za-z0-9._:+-]*")


def canonical_payload(payload: Any) -> str:
    """The one JSON text of a payload that is stored and hashed: sorted keys, no spaces."""
    return _CANONICAL.encode(payload).decode()


def link(
    prev_hash: bytes,
    seq: int,
    event_id: str,
    event_type: str,
    subject: str,
    created_at: str,
    payload_text: str,
    span: int = 1,
) -> bytes:
    """The hash of one journal row given the previous row's hash."""
    texts = (event_id, event_type, subject, created_at)
    tail = "" if span == 1 else f",{span}"
    if all(_PLAIN.fullmatch(text) for text in texts):
        head = f'[{seq},"{event_id}","{event_type}","{subject}","{created_at}"{tail}]'  # what json.dumps writes
    else:
        head = json.dumps([seq, *texts, *([span] if span != 1 else [])], separators=(",", ":"))
    digest = hashlib.sha256(prev_hash)
    digest.update(head.encode())
    digest.update(b"\n")
    digest.update(payload_text.encode())
    return digest.digest()
