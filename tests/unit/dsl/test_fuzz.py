"""Fuzz: whatever the text, compiling (and resolving) it answers an intent or a coded refusal, quickly."""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings

from kontor.core import TransactionIntent, resolve
from kontor.dsl import compile
from kontor.errors import KontorError, codes

from .strategies import VALID_SCRIPTS, gold_inputs, mutated_scripts, random_texts, tokens

# The refusals the compiler may answer, and nothing else.
COMPILE_CODES = {
    codes.DSL_FILE_INVALID,
    codes.DSL_FILE_EMPTY,
    codes.DSL_INVALID,
    codes.INVALID_FIELD,
    codes.METADATA_KEY_TOO_LONG,
    codes.METADATA_VALUE_TOO_LONG,
    codes.PAYLOAD_TOO_MANY_KEYS,
    codes.PAYLOAD_TOO_LARGE,
}
POSITION = re.compile(r"line \d+, column \d+")
# A parse of these small inputs takes a millisecond; the deadline catches any runaway.
FUZZ_SETTINGS = settings(
    max_examples=400, deadline=timedelta(milliseconds=500), suppress_health_check=[HealthCheck.too_slow]
)


def compile_or_refuse(source: str) -> TransactionIntent | None:
    try:
        intent = compile(source)
    except KontorError as error:
        assert error.code in COMPILE_CODES, error
        if error.code in (codes.DSL_FILE_INVALID, codes.DSL_INVALID):
            assert POSITION.search(error.detail), error.detail
        event(f"refused {error.code.code}")
        return None
    event("compiled")
    return intent


@FUZZ_SETTINGS
@given(source=random_texts())
def test_random_text_compiles_or_is_refused_with_a_code(source: str) -> None:
    compile_or_refuse(source)


@FUZZ_SETTINGS
@given(source=mutated_scripts())
def test_mutated_scripts_compile_and_resolve_or_are_refused_with_a_code(source: str) -> None:
    intent = compile_or_refuse(source)
    if intent is not None:
        try:
            resolve(intent)
        except KontorError as error:
            event(f"resolve refused {error.code.code}")


@settings(max_examples=100, deadline=timedelta(milliseconds=500))
@given(source=gold_inputs())
def test_compiling_is_deterministic(source: str) -> None:
    first = compile_or_refuse(source)
    assert compile_or_refuse(source) == first


def test_the_valid_scripts_survive_tokenising() -> None:
    # The mutations work on tokens(): joined back unchanged, each example still compiles.
    for script in VALID_SCRIPTS:
        assert compile(" ".join(tokens(script))) == compile(script)
