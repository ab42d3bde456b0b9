"""Docs that cannot drift: every setting's environment variable is documented in README.md."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from kontor.config import ENV, Settings, load

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_has_a_variable_listed_in_the_readme():
    assert set(ENV) == {f.name for f in fields(Settings)}
    missing = [name for name in ENV.values() if f"| `{name}` |" not in README]
    assert not missing, f"document these in README.md's configuration table: {missing}"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("1", True), ("off", False), ("No", False)])
def test_booleans(raw: str, value: bool):
    assert load({"KONTOR_EVENTS_RELAY": raw}).events_relay is value


def test_a_bad_boolean_is_refused():
    with pytest.raises(SystemExit):
        load({"KONTOR_EVENTS_WEBHOOKS": "maybe"})
