"""Snapshots: each Gold construct compiles to the TransactionIntent written out here."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from kontor.core import LegIntent, Share, TransactionIntent, resolve
from kontor.core.plan import LegRate
from kontor.dsl import compile

from .strategies import EVERY_FORM, PENDING, REFERENCE, WITH_RATE


def script(source: str, destination: str = "(to @bob :remaining)", value: str = "100|0") -> str:
    """A minimal transaction around one source leg."""
    return (
        f"(transaction V1 (chart-of-accounts-group-name G) (send BRL {value} "
        f"(source {source}) (distribute {destination})))"
    )


def only_source(source: str) -> LegIntent:
    intent = compile(script(source))
    assert len(intent.sources) == 1
    return intent.sources[0]


# --- the reference examples ----------------------------------------------------------------------


def test_reference_example() -> None:
    assert compile(REFERENCE) == TransactionIntent(
        asset="BRL",
        value=Decimal(100),
        sources=(LegIntent("@alice", amount=Decimal(100), description="debit alice"),),
        destinations=(LegIntent("@bob", share=Share(60)), LegIntent("@fees", remaining=True)),
        pending=False,
        description="pay invoice",
        code="INV42",
        chart_of_accounts_group_name="PAYMENTS",
        metadata={"invoice": "42"},
    )


def test_every_form_and_clause() -> None:
    assert compile(EVERY_FORM) == TransactionIntent(
        asset="BRL",
        value=Decimal(100),
        sources=(
            LegIntent("@alice", share=Share(50, 80), description="alice part", chart_of_accounts="CA-1101"),
            LegIntent("@carol", remaining=True, metadata={"leg": "a"}),
        ),
        destinations=(
            LegIntent("@bob", amount=Decimal(60), description="to bob"),
            LegIntent("@fees", share=Share(10)),
            LegIntent("@dave", remaining=True),
        ),
        description="pay invoice 42",
        code="INV42",
        chart_of_accounts_group_name="PAYMENTS",
        metadata={"invoice": "42", "channel": "web"},
    )


def test_pending() -> None:
    assert compile(PENDING) == TransactionIntent(
        asset="BRL",
        value=Decimal(25),
        sources=(LegIntent("@alice", amount=Decimal(25)),),
        destinations=(LegIntent("@bob", remaining=True),),
        pending=True,
        chart_of_accounts_group_name="HOLD",
    )


def test_template_rates_and_side_remaining() -> None:
    # transaction-template is a synonym; a side's :remaining means nothing; a rate is the leg's
    # rate as in the JSON body (its value 0 means "the stored rate", its external id is canonical).
    assert compile(WITH_RATE) == TransactionIntent(
        asset="BRL",
        value=Decimal(10),
        sources=(LegIntent("@alice", amount=Decimal(10)),),
        destinations=(
            LegIntent("@bob", share=Share(50), rate=LegRate("BRL", "USD", Decimal(5), str(UUID(int=0)))),
            LegIntent(
                "@carol",
                remaining=True,
                rate=LegRate("BRL", "EUR", None, "0198a3c4-0000-7000-8000-000000000001"),
                description="d",
                chart_of_accounts="C",
                metadata={"k": "v"},
            ),
        ),
        chart_of_accounts_group_name="FX",
    )


def test_the_reference_example_resolves() -> None:
    resolved = resolve(compile(REFERENCE))
    assert [(leg.alias, leg.amount) for leg in resolved.legs] == [
        ("@alice", Decimal(100)),
        ("@bob", Decimal(60)),
        ("@fees", Decimal(40)),
    ]


# --- each leg form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("(from @a :amount BRL 100|0)", LegIntent("@a", amount=Decimal(100))),
        ("(from @a :share 40)", LegIntent("@a", share=Share(40))),
        ("(from @a :share 40 :of 50)", LegIntent("@a", share=Share(40, 50))),
        ("(from @a :remaining)", LegIntent("@a", remaining=True)),
    ],
    ids=["amount", "share", "share-of", "remaining"],
)
def test_leg_forms(source: str, expected: LegIntent) -> None:
    assert only_source(source) == expected


def test_every_leg_clause_in_order() -> None:
    leg = only_source(
        f'(from @a :amount BRL 7|0 (rate {UUID(int=1)} BRL -> USD 3|0) (description "why")'
        " (chart-of-accounts 1101/x) (metadata (k v) (n 1)))"
    )
    assert leg == LegIntent(
        "@a",
        amount=Decimal(7),
        rate=LegRate("BRL", "USD", Decimal(3), str(UUID(int=1))),
        description="why",
        chart_of_accounts="1101/x",
        metadata={"k": "v", "n": "1"},
    )


# --- numbers, words and texts --------------------------------------------------------------------


def test_the_integer_after_the_bar_is_ignored() -> None:
    # Midaz v4: `100|2` is 100 (v3 read the 2 as a scale).
    intent = compile(script("(from @a :amount BRL 100|2)", value="100|2"))
    assert intent.value == Decimal(100)
    assert intent.sources[0].amount == Decimal(100)


def test_leading_zeros_and_zero_amounts_are_integers() -> None:
    intent = compile(script("(from @a :amount BRL 0|0) (from @b :share 007 :of 0)", value="007|0"))
    assert intent.value == Decimal(7)
    assert [leg.amount for leg in intent.sources] == [Decimal(0), None]
    assert intent.sources[1].share == Share(7, 0)


def test_aliases_are_lexed_as_midaz_lexes_them() -> None:
    # ACCOUNT is @ then [A-Za-z0-9_/-]* (so "@" alone lexes), and a bare word is an alias too.
    intent = compile(script("(from @external/BRL :remaining) (from plain_word-1 :remaining) (from @ :remaining)"))
    assert [leg.alias for leg in intent.sources] == ["@external/BRL", "plain_word-1", "@"]


def test_metadata_values_are_text_and_the_last_repeated_key_wins() -> None:
    intent = compile(
        "(transaction V1 (chart-of-accounts-group-name G) (metadata (a 1) (2 b) (a 3))"
        " (send BRL 1|0 (source (from @a :remaining)) (distribute (to @b :remaining))))"
    )
    assert intent.metadata == {"a": "3", "2": "b"}


def test_strings_keep_everything_between_the_quotes() -> None:
    # No escapes: a string runs to the next quote, newlines and parentheses included.
    intent = compile(
        '(transaction V1 (chart-of-accounts-group-name G) (description "a (b)\n c\\") '
        "(send BRL 1|0 (source (from @a :remaining)) (distribute (to @b :remaining))))"
    )
    assert intent.description == "a (b)\n c\\"


def test_empty_string_and_whitespace_between_tokens() -> None:
    intent = compile(
        '\r\n\t( transaction\tV1(chart-of-accounts-group-name G)(description "")'
        "(send BRL 1 | 0(source(from @a :share 1 :of 2))(distribute(to @b :remaining))))\n"
    )
    assert intent.description == ""
    assert intent.value == Decimal(1)
    assert intent.sources[0].share == Share(1, 2)


def test_words_mixing_digits_and_letters_are_names() -> None:
    # Midaz's UUID token: 42abc and 42-x are words, 42 alone is an integer.
    intent = compile(
        "(transaction V1 (chart-of-accounts-group-name 42abc) (code 0-0)"
        " (send BRL 1|0 (source (from 1a :remaining)) (distribute (to 2-b :remaining))))"
    )
    assert intent.chart_of_accounts_group_name == "42abc"
    assert intent.code == "0-0"
    assert [intent.sources[0].alias, intent.destinations[0].alias] == ["1a", "2-b"]
