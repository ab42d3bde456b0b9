"""Compile a Gold script into the core's :class:`~kontor.core.plan.TransactionIntent`.

The grammar (``grammar.lark``) is Midaz v4's Gold language; this module adds the rules a grammar
cannot state. Checks run in this order, and the first failure answers:

1. the script is at most ``DSL_SOURCE_BYTES_MAX`` UTF-8 bytes (400 ``0143``);
2. it is not empty or whitespace only (400 ``0049``);
3. it parses: else 400 ``0048``, naming the line, the column, what was found and what was expected;
4. it uses no ``$variable``: Midaz lexes them but never substitutes them (a variable amount
   silently becomes 0 there), so kontor refuses them (400 ``0017``);
5. its texts fit the bounds the JSON body has: descriptions, aliases and chart-of-accounts names
   at most ``TEXT_LENGTH_MAX``, codes and asset codes at most ``CODE_LENGTH_MAX`` (400 ``0047``),
   share percentages at most ``SHARE_PERCENTAGE_MAX``, a rate's external id a UUID and its value
   a bounded amount (``0047``), and metadata as Midaz bounds it (``0050``/``0051``/``0145``).

Leg forms, amounts and balancing are not checked here: :func:`kontor.core.resolve.resolve` does it
for the DSL exactly as for the JSON body, with the same codes.

What a script means, as in Midaz v4:

* ``100|2`` is 100: the integer after the bar is read by the grammar and ignored (v3 read it as a
  scale; v4 amounts are plain decimals). Amounts and shares are integers only.
* ``(metadata (k v)...)`` keys and values are words or integers, kept as text (``42`` is ``"42"``);
  a repeated key keeps its last value.
* ``:amount ASSET n|m`` ignores its asset, as the JSON body's ``amount.asset`` is ignored: the
  transaction has one asset, ``send``'s.
* ``(rate EXTERNAL-ID FROM -> TO n|m)`` is the leg's rate, as the JSON body's ``rate``
  ``{externalId, from, to, value}`` is (Midaz reads and never applies it; kontor's exchange engine
  does): the external id must be a UUID (400 ``0047``, as in the JSON body), and a value of 0 means
  "use the stored rate", as an absent JSON value does.
* A ``:remaining`` right after ``source`` or ``distribute`` means nothing, as in the JSON body.
* ``transaction-template`` compiles exactly like ``transaction``.
* Leg balance keys, routes and ``transactionDate`` cannot be written in Gold: legs use the default
  balance.

Where kontor is stricter than Midaz: text after the closing parenthesis is refused (Midaz's parser
stops there and ignores it), and so are ``$variables``. Where it keeps more: a leg's
``(chart-of-accounts X)`` reaches its operation, as the JSON body's ``chartOfAccounts`` does
(Midaz's DSL reader drops it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any
from uuid import UUID

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from kontor.core import limits
from kontor.core.money import parse_amount
from kontor.core.plan import LegIntent, LegRate, Share, TransactionIntent
from kontor.errors import KontorError, codes

_ENTITY = "Transaction"
# Gold's whitespace, the only text the lexer skips.
_WHITESPACE = " \t\r\n"
# How much of an offending token an error message quotes.
_QUOTE_CHARS_MAX = 40
# How the terminals that are not literal keywords read in "expected ..." (VARIABLE is left out:
# the grammar lexes variables only to refuse them).
_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "an integer",
    "ACCOUNT": "an account alias (@name)",
    "STRING": 'a "string"',
    "$END": "the end of the file",
}


def compile(source: str) -> TransactionIntent:
    """Compile a Gold script into a transaction intent, or refuse it with the first failing rule.

    Guards the rules listed in this module's docstring, in that order. Pure: the result still has
    to be resolved (:func:`kontor.core.resolve`) and posted.
    """
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > limits.DSL_SOURCE_BYTES_MAX:
        raise KontorError(
            codes.PAYLOAD_TOO_LARGE,
            f"The DSL file is {size} bytes; it may be at most {limits.DSL_SOURCE_BYTES_MAX} bytes.",
            entity_type=_ENTITY,
        )
    if source.strip(_WHITESPACE) == "":
        raise KontorError(codes.DSL_FILE_EMPTY, "The DSL file is empty.", entity_type=_ENTITY)
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(source, error) from None
    try:
        intent: TransactionIntent = _Compiler().transform(tree)
    except VisitError as error:
        # Lark wraps what a transformer method raises; the refusal itself is what the caller needs.
        raise error.orig_exc from None
    return intent


@cache
def _parser() -> Lark:
    """The LALR(1) parser, built once. Its basic lexer reserves keywords as Midaz's lexer does."""
    grammar = files("kontor.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        lexer_callbacks={"NAME": _integer_or_name},
        maybe_placeholders=False,
    )


def _integer_or_name(token: Token) -> Token:
    # A word of digits only is an integer; Midaz's lexer has the same rule (INT before UUID).
    if token.value.isdigit():
        token.type = "INT"
    return token


# --- syntax errors -------------------------------------------------------------------------------


def _syntax_error(source: str, error: UnexpectedInput) -> KontorError:
    """Guards: a syntax error names where it is, what was found there and what would have fit."""
    line, column = error.line, error.column
    if isinstance(error, UnexpectedToken) and error.token.type == "$END":
        line, column = _end_of(source)
        found, expected = "the end of the file", _expected(error.expected)
    elif isinstance(error, UnexpectedToken):
        found, expected = _found(error.token, error.expected), _expected(error.expected)
    elif isinstance(error, UnexpectedCharacters):
        found, expected = _found_character(error.char), ""
    else:  # pragma: no cover - the LALR parser raises only the two kinds above
        found, expected = "input", ""
    detail = f"Syntax error at line {line}, column {column}: found {found}"
    detail += f"; expected {expected}." if expected else "."
    return KontorError(codes.DSL_FILE_INVALID, detail, entity_type=_ENTITY)


def _end_of(source: str) -> tuple[int, int]:
    last_line = source.rsplit("\n", 1)[-1]
    return source.count("\n") + 1, len(last_line) + 1


def _found(token: Token, expected: set[str]) -> str:
    text = _quote(str(token.value))
    if _is_keyword(token.type) and "NAME" in expected:
        return f"{text}, a keyword, which cannot be used as a name"
    if token.type == "INT" and "NAME" in expected:
        return f"{text}, an integer where a name must have a letter"
    return text


def _found_character(character: str) -> str:
    if character == '"':
        return 'a " that opens a string never closed'
    return f"the character {character!r}"


def _expected(names: set[str]) -> str:
    shown = sorted({_describe(name) for name in names if name != "VARIABLE"})
    return " or ".join(shown)


def _describe(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    return f'"{_literal(name) or name}"'


@cache
def _literals() -> dict[str, str]:
    return {t.name: t.pattern.value for t in _parser().terminals if isinstance(t.pattern, PatternStr)}


def _literal(name: str) -> str | None:
    return _literals().get(name)


def _is_keyword(name: str) -> bool:
    literal = _literal(name)
    return literal is not None and literal[0].isalpha()


def _quote(text: str) -> str:
    if len(text) > _QUOTE_CHARS_MAX:
        text = text[:_QUOTE_CHARS_MAX] + "..."
    return f'"{text}"'


# --- compiling the tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Send:
    asset: str
    value: Decimal
    sources: tuple[LegIntent, ...]
    destinations: tuple[LegIntent, ...]


# A header or leg clause, ``(field, value)``: the keyword arguments of the intent it belongs to.
_Clause = tuple[str, Any]


class _Compiler(Transformer[Token, TransactionIntent]):
    """Turns the parse tree into a ``TransactionIntent``; each method is one grammar rule."""

    def VARIABLE(self, token: Token) -> Token:  # noqa: N802 - lark names terminal callbacks as terminals
        raise KontorError(
            codes.DSL_INVALID,
            f"{_at(token)}: the variable {_quote(str(token))} is not supported; write the value itself.",
            entity_type=_ENTITY,
        )

    def start(self, children: list[Any]) -> TransactionIntent:
        *clauses, send = children
        fields = dict(clauses)
        return TransactionIntent(
            asset=send.asset, value=send.value, sources=send.sources, destinations=send.destinations, **fields
        )

    def group(self, children: list[Token]) -> _Clause:
        return "chart_of_accounts_group_name", _text(children[0], "chart-of-accounts-group-name")

    def description(self, children: list[Token]) -> _Clause:
        token = children[0]
        return "description", _bounded(token, token.value[1:-1], "description", limits.TEXT_LENGTH_MAX)

    def code(self, children: list[Token]) -> _Clause:
        return "code", _bounded(children[0], children[0].value, "code", limits.CODE_LENGTH_MAX)

    def pending(self, children: list[Token]) -> _Clause:
        return "pending", children[0].type == "TRUE"

    def metadata(self, children: list[tuple[Token, Token]]) -> _Clause:
        metadata = {str(key): str(value) for key, value in children}
        _check_metadata(children, len(metadata))
        return "metadata", metadata

    def pair(self, children: list[Token]) -> tuple[Token, Token]:
        return children[0], children[1]

    def send(self, children: list[Any]) -> _Send:
        asset, value, _ignored, sources, destinations = children
        return _Send(
            _bounded(asset, asset.value, "asset", limits.CODE_LENGTH_MAX), Decimal(value), sources, destinations
        )

    def source(self, children: list[Any]) -> tuple[LegIntent, ...]:
        return tuple(child for child in children if isinstance(child, LegIntent))

    distribute = source

    def from_leg(self, children: list[Any]) -> LegIntent:
        account, form, *clauses = children
        return LegIntent(alias=_text(account, "account alias"), **dict((form, *clauses)))

    to_leg = from_leg

    def amount(self, children: list[Token]) -> _Clause:
        asset, value, _ignored = children
        _bounded(asset, asset.value, "asset", limits.CODE_LENGTH_MAX)
        return "amount", Decimal(value)

    def share(self, children: list[Token]) -> _Clause:
        return "share", Share(_percentage(children[0]))

    def share_of(self, children: list[Token]) -> _Clause:
        return "share", Share(_percentage(children[0]), _percentage(children[1]))

    def remaining(self, _children: list[Token]) -> _Clause:
        return "remaining", True

    def rate(self, children: list[Token]) -> _Clause:
        external_id, from_asset, to_asset, value, _ignored = children
        value_or_stored = parse_amount(Decimal(value), "rate.value", entity_type=_ENTITY) or None
        rate = LegRate(
            from_asset=_bounded(from_asset, from_asset.value, "rate's from asset", limits.CODE_LENGTH_MAX),
            to_asset=_bounded(to_asset, to_asset.value, "rate's to asset", limits.CODE_LENGTH_MAX),
            value=value_or_stored,
            external_id=_uuid(external_id),
        )
        return "rate", rate

    def chart(self, children: list[Token]) -> _Clause:
        return "chart_of_accounts", _text(children[0], "chart-of-accounts")


def _at(token: Token) -> str:
    return f"At line {token.line}, column {token.column}"


def _text(token: Token, what: str) -> str:
    return _bounded(token, token.value, what, limits.TEXT_LENGTH_MAX)


def _bounded(token: Token, text: str, what: str, length_max: int) -> str:
    """Guards: a text is at most ``length_max`` characters and has no NUL (as in the JSON body)."""
    if len(text) > length_max:
        problem = f"is longer than {length_max} characters"
    elif "\x00" in text:
        problem = "contains a NUL character"
    else:
        return text
    raise KontorError(codes.INVALID_FIELD, f"{_at(token)}: the {what} {problem}.", entity_type=_ENTITY)


def _uuid(token: Token) -> str:
    """Guards: a rate's external id is a UUID, as the JSON body's ``rate.externalId`` must be."""
    try:
        return str(UUID(token.value))
    except ValueError:
        raise KontorError(
            codes.INVALID_FIELD,
            f"{_at(token)}: the rate's external id {_quote(token.value)} is not a UUID.",
            entity_type=_ENTITY,
        ) from None


def _percentage(token: Token) -> int:
    """Guards: a share percentage is an integer Midaz can read (int64), checked before converting."""
    digits = token.value.lstrip("0") or "0"
    if len(digits) > len(str(limits.SHARE_PERCENTAGE_MAX)) or int(digits) > limits.SHARE_PERCENTAGE_MAX:
        raise KontorError(
            codes.INVALID_FIELD,
            f"{_at(token)}: the share {_quote(digits)} is larger than {limits.SHARE_PERCENTAGE_MAX}.",
            entity_type=_ENTITY,
        )
    return int(digits)


def _check_metadata(pairs: list[tuple[Token, Token]], distinct_keys: int) -> None:
    """Guards: Midaz's metadata bounds (key 0050, value 0051, number of keys 0145)."""
    if distinct_keys > limits.METADATA_KEYS_MAX:
        raise KontorError(
            codes.PAYLOAD_TOO_MANY_KEYS,
            f"{_at(pairs[0][0])}: metadata may hold at most {limits.METADATA_KEYS_MAX} keys.",
            entity_type=_ENTITY,
        )
    for key, value in pairs:
        if len(key) > limits.METADATA_KEY_LENGTH_MAX:
            raise KontorError(
                codes.METADATA_KEY_TOO_LONG,
                f"{_at(key)}: the metadata key is longer than {limits.METADATA_KEY_LENGTH_MAX} characters.",
                entity_type=_ENTITY,
            )
        if len(value) > limits.METADATA_VALUE_LENGTH_MAX:
            raise KontorError(
                codes.METADATA_VALUE_TOO_LONG,
                f"{_at(value)}: the metadata value is longer than {limits.METADATA_VALUE_LENGTH_MAX} characters.",
                entity_type=_ENTITY,
            )
