"""KONTOR_EVENTS_RABBITMQ_TYPES / KONTOR_EVENTS_NATS_TYPES: the event types a broker sink publishes."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kontor.config import Settings
from kontor.events.runtime import check, chosen_types
from kontor.events.sinks.nats import NatsSink
from kontor.events.sinks.rabbitmq import RabbitMQSink
from kontor.store.events import JournalEvent


def event(event_type: str) -> JournalEvent:
    now = datetime.datetime.now(datetime.UTC)
    return JournalEvent(uuid.uuid4(), uuid.uuid4(), 1, uuid.uuid4(), event_type, "s", now, "{}")


def test_a_list_is_read_with_spaces_and_empty_items_ignored() -> None:
    assert chosen_types(" transaction.posted, ,balance.changed ", "X") == {"transaction.posted", "balance.changed"}


def test_empty_means_every_type() -> None:
    assert chosen_types("", "X") == frozenset()
    sink = RabbitMQSink("amqp://127.0.0.1/", "x", 1.0)
    assert sink.wants(event("balance.changed")) and sink.wants(event("account.created"))


def test_an_unknown_type_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"KONTOR_EVENTS_NATS_TYPES: not event types: balance\.moved, txn"):
        chosen_types("transaction.posted,txn,balance.moved", "KONTOR_EVENTS_NATS_TYPES")


def test_check_refuses_settings_a_relay_could_not_run_with() -> None:
    check(Settings(events_rabbitmq_types="transaction.posted"))
    with pytest.raises(ValueError, match="KONTOR_EVENTS_RABBITMQ_TYPES"):
        check(Settings(events_rabbitmq_types="transaction.post"))


@pytest.mark.parametrize(
    "sink",
    [
        RabbitMQSink("amqp://127.0.0.1/", "x", 1.0, frozenset({"transaction.posted"})),
        NatsSink("nats://127.0.0.1:4222", "S", "s", 1.0, frozenset({"transaction.posted"})),
    ],
)
def test_a_limited_sink_wants_only_its_types(sink: RabbitMQSink | NatsSink) -> None:
    assert sink.wants(event("transaction.posted"))
    assert not sink.wants(event("balance.changed"))


@pytest.mark.parametrize("command", ["serve", "relay"])
def test_kontor_refuses_to_start_with_an_unknown_type(command: str) -> None:
    kontor = Path(sys.executable).parent / "kontor"
    env = {**os.environ, "KONTOR_EVENTS_RABBITMQ_TYPES": "transaction.posted,transaction.pending"}
    done = subprocess.run([str(kontor), command], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "KONTOR_EVENTS_RABBITMQ_TYPES: not event types: transaction.pending" in done.stderr
