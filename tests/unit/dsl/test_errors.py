"""Refusals: syntax errors name line, column and what fits; the empty file, the size limit, variables, bounds."""

from __future__ import annotations

import time
from uuid import UUID

import pytest

from kontor.core import limits, resolve
from kontor.dsl import compile
from kontor.errors import Code, KontorError, codes

from .strategies import REFERENCE


def refused(source: str, code: Code) -> str:
    with pytest.raises(KontorError) as caught:
        compile(source)
    assert caught.value.code is code, caught.value.detail
    assert caught.value.entity_type == "Transaction"
    return caught.value.detail


def tx(body: str) -> str:
    return f"(transaction V1 (chart-of-accounts-group-name G) {body})"


def send_clause(source: str = "(from @a :remaining)", destination: str = "(to @b :remaining)") -> str:
    return f"(send BRL 10|0 (source {source}) (distribute {destination}))"


def send(source: str = "(from @a :remaining)", destination: str = "(to @b :remaining)") -> str:
    return tx(send_clause(source, destination))


# --- syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        (
            "(transaction V1\n  (chart-of-accounts-group-name G)\n  (send BRL 1|0 (source (frm @a :remaining))))",
            'line 3, column 26: found "frm"; expected "from"',
        ),
        ("(transaction V2", 'line 1, column 14: found "V2"; expected "V1"'),
        ("(transaction V1 (chart-of-accounts-group-name G) (send", "line 1, column 55: found the end of the file"),
        (send(destination="(to send :remaining)"), 'found "send", a keyword, which cannot be used as a name'),
        (tx("(code 42) (send"), 'found "42", an integer where a name must have a letter; expected a name'),
        (send("(from @a :share 5 :of)"), 'found ")"; expected an integer'),
        (send("(from @a :share -5)"), 'found "-5"; expected an integer'),
        (send("(from @a :amount BRL 1.5|0)"), "found the character '.'"),
        (send("(from @a :amount BRL 15)"), 'found ")"; expected "|"'),
        (tx("# comment"), "found the character '#'"),
        (tx('(description "never closed)'), 'found a " that opens a string never closed'),
        (send() + " trailing", 'found "trailing"; expected the end of the file'),
        (send() + ")", 'found ")"; expected the end of the file'),
        ("\ufeff" + send(), "line 1, column 1: found the character '\\ufeff'"),
    ],
    ids=[
        "misspelt-keyword",
        "version",
        "truncated",
        "keyword-as-name",
        "integer-as-name",
        "share-of-without-integer",
        "negative",
        "decimal",
        "amount-without-bar",
        "comment",
        "unclosed-string",
        "text-after-the-end",
        "extra-parenthesis",
        "byte-order-mark",
    ],
)
def test_syntax_errors_say_where_what_and_what_fits(source: str, detail: str) -> None:
    assert detail in refused(source, codes.DSL_FILE_INVALID)


def test_clauses_out_of_order_are_syntax_errors() -> None:
    # Midaz's order: description, code, pending, metadata; on legs: rate, description, chart-of-accounts, metadata.
    refused(tx('(code C) (description "d") (send'), codes.DSL_FILE_INVALID)
    refused(send('(from @a :remaining (chart-of-accounts C) (description "d"))'), codes.DSL_FILE_INVALID)


@pytest.mark.parametrize("construct", ["(route R)", "(balance-key savings)", "(transaction-date 2024-01-01)"])
def test_unknown_constructs_are_refused_not_ignored(construct: str) -> None:
    refused(send(f"(from @a :remaining {construct})"), codes.DSL_FILE_INVALID)


def test_a_leg_without_a_form_is_a_syntax_error() -> None:
    refused(send("(from @a)"), codes.DSL_FILE_INVALID)


# --- empty, size ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["", " ", "\n\r\n\t  "])
def test_empty_or_whitespace_only_is_0049(source: str) -> None:
    refused(source, codes.DSL_FILE_EMPTY)


def test_other_whitespace_is_not_gold_whitespace() -> None:
    refused("\f", codes.DSL_FILE_INVALID)


def test_a_script_over_the_size_limit_is_refused() -> None:
    padding = limits.DSL_SOURCE_BYTES_MAX - len(REFERENCE.encode())
    compile(REFERENCE + " " * padding)
    detail = refused(REFERENCE + " " * (padding + 1), codes.PAYLOAD_TOO_LARGE)
    assert str(limits.DSL_SOURCE_BYTES_MAX) in detail


def test_the_size_limit_counts_utf8_bytes() -> None:
    text = "é" * (limits.DSL_SOURCE_BYTES_MAX // 2 + 1)  # two bytes each
    refused(tx(f'(description "{text}")'), codes.PAYLOAD_TOO_LARGE)


# --- what parses but is refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        send("(from $payer :remaining)"),
        send("(from @a :amount BRL $value|0)"),
        send("(from @a :share 10 :of $p)"),
        tx("(send BRL 10|$scale (source (from @a :remaining)) (distribute (to @b :remaining)))"),
    ],
)
def test_variables_are_refused_by_name(source: str) -> None:
    assert "is not supported" in refused(source, codes.DSL_INVALID)


def test_texts_are_bounded_as_in_the_json_body() -> None:
    too_long = "d" * (limits.TEXT_LENGTH_MAX + 1)
    source = send(f'(from @a :remaining (description "{too_long}"))')
    detail = refused(source, codes.INVALID_FIELD)
    column = source.index('"d') + 1
    assert f"line 1, column {column}: the description" in detail and "256" in detail
    refused(tx(f'(description "{too_long}") {send_clause()}'), codes.INVALID_FIELD)
    refused(send(f"(from @{too_long} :remaining)"), codes.INVALID_FIELD)
    refused(send(f"(from @a :remaining (chart-of-accounts {too_long}))"), codes.INVALID_FIELD)
    refused(tx(f"(code {'C' * (limits.CODE_LENGTH_MAX + 1)}) {send_clause()}"), codes.INVALID_FIELD)
    refused(send(f"(from @a :amount {'C' * (limits.CODE_LENGTH_MAX + 1)} 10|0)"), codes.INVALID_FIELD)
    refused(send('(from @a :remaining (description "nul \x00"))'), codes.INVALID_FIELD)
    compile(tx(f'(description "{"d" * limits.TEXT_LENGTH_MAX}") {send_clause()}'))


def test_a_rate_needs_a_uuid_and_a_bounded_value() -> None:
    detail = refused(send("(from @a :remaining (rate r1 BRL -> USD 1|0))"), codes.INVALID_FIELD)
    assert 'the rate\'s external id "r1" is not a UUID' in detail
    refused(send(f"(from @a :remaining (rate {UUID(int=0)} BRL -> USD {'9' * 40}|0))"), codes.INVALID_FIELD)
    refused(send(f"(from @a :remaining (rate {UUID(int=0)} BRL -> {'U' * 101} 1|0))"), codes.INVALID_FIELD)


def test_metadata_is_bounded_as_in_the_json_body() -> None:
    def with_metadata(pairs: str) -> str:
        return send(f"(from @a :remaining (metadata {pairs}))")

    refused(with_metadata(f"({'k' * (limits.METADATA_KEY_LENGTH_MAX + 1)} v)"), codes.METADATA_KEY_TOO_LONG)
    refused(with_metadata(f"(k {'v' * (limits.METADATA_VALUE_LENGTH_MAX + 1)})"), codes.METADATA_VALUE_TOO_LONG)
    many = " ".join(f"(k{i} v)" for i in range(limits.METADATA_KEYS_MAX + 1))
    refused(with_metadata(many), codes.PAYLOAD_TOO_MANY_KEYS)
    compile(with_metadata(" ".join(f"(k{i} v)" for i in range(limits.METADATA_KEYS_MAX))))


def test_a_share_beyond_int64_is_refused_before_converting() -> None:
    detail = refused(send(f"(from @a :share {'9' * 5000})"), codes.INVALID_FIELD)
    assert str(limits.SHARE_PERCENTAGE_MAX) in detail
    assert compile(send(f"(from @a :share {limits.SHARE_PERCENTAGE_MAX})")).sources[0].share is not None


# --- semantics come from resolve() ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value", "code"),
    [
        ("(from @a :amount BRL 5|0)", "10|0", codes.TRANSACTION_VALUE_MISMATCH),
        ("(from @a :share 50)", "10|0", codes.TRANSACTION_VALUE_MISMATCH),
        ("(from @a :remaining)", "0|0", codes.NON_POSITIVE_VALUE),
        ("(from @b :remaining)", "10|0", codes.SAME_SOURCE_AND_DESTINATION),
        (f"(from @a :amount BRL {'1' * 40}|0)", f"{'1' * 40}|0", codes.INVALID_FIELD),
    ],
    ids=["amount-mismatch", "share-mismatch", "zero-value", "same-balance", "amount-too-large"],
)
def test_leg_semantics_are_resolved_with_their_normal_codes(source: str, value: str, code: Code) -> None:
    intent = compile(tx(f"(send BRL {value} (source {source}) (distribute (to @b :remaining)))"))
    with pytest.raises(KontorError) as caught:
        resolve(intent)
    assert caught.value.code is code


def test_many_legs_compile_then_resolve_refuses_them() -> None:
    legs = " ".join(f"(from @a{i} :amount BRL 1|0)" for i in range(limits.LEGS_PER_SIDE_MAX + 1))
    intent = compile(tx(f"(send BRL {limits.LEGS_PER_SIDE_MAX + 1}|0 (source {legs}) (distribute (to @b :remaining)))"))
    with pytest.raises(KontorError) as caught:
        resolve(intent)
    assert caught.value.code is codes.INVALID_FIELD


# --- bounded time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "1" * limits.DSL_SOURCE_BYTES_MAX,
        "a" * limits.DSL_SOURCE_BYTES_MAX,
        '"' + "x" * (limits.DSL_SOURCE_BYTES_MAX - 1),
        "(" * limits.DSL_SOURCE_BYTES_MAX,
        "@" * limits.DSL_SOURCE_BYTES_MAX,
        tx(f'(description "{"x" * (limits.DSL_SOURCE_BYTES_MAX - 100)}")'),
        tx("(send BRL 1|0 (source " + "(from @a :remaining)" * 3000),
    ],
    ids=["digits", "word", "open-string", "parentheses", "at-signs", "long-string", "many-legs-truncated"],
)
def test_adversarial_scripts_at_the_size_limit_are_refused_quickly(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(KontorError):
        compile(source)
    assert time.perf_counter() - started < 2.0
