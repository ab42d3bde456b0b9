"""Gold scripts for tests: valid examples, and Hypothesis strategies for random text and mutations of them.

Shared by the unit tests of the compiler and the end-to-end fuzz of POST .../transactions/dsl.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

# The reference example (midaz-api.md 3.9).
REFERENCE = """(transaction V1
  (chart-of-accounts-group-name PAYMENTS)
  (description "pay invoice") (code INV42) (pending false) (metadata (invoice 42))
  (send BRL 100|0
    (source (from @alice :amount BRL 100|0 (description "debit alice")))
    (distribute (to @bob :share 60) (to @fees :remaining))))
"""

# Every leg form, every optional clause, on both sides.
EVERY_FORM = """(transaction V1
  (chart-of-accounts-group-name PAYMENTS)
  (description "pay invoice 42") (code INV42) (metadata (invoice 42) (channel web))
  (send BRL 100|0
    (source
      (from @alice :share 50 :of 80 (description "alice part") (chart-of-accounts CA-1101))
      (from @carol :remaining (metadata (leg a))))
    (distribute
      (to @bob :amount BRL 60|2 (description "to bob"))
      (to @fees :share 10)
      (to @dave :remaining))))
"""

PENDING = """(transaction V1 (chart-of-accounts-group-name HOLD) (pending true)
  (send BRL 25|0 (source (from @alice :amount BRL 25|0)) (distribute (to @bob :remaining))))
"""

WITH_RATE = """(transaction-template V1 (chart-of-accounts-group-name FX)
  (send BRL 10|0
    (source :remaining (from @alice :amount BRL 10|0))
    (distribute :remaining
      (to @bob :share 50 (rate 00000000-0000-0000-0000-000000000000 BRL -> USD 5|1))
      (to @carol :remaining (rate 0198A3C4-0000-7000-8000-000000000001 BRL -> EUR 0|0) (description "d")
        (chart-of-accounts C) (metadata (k v))))))
"""

VALID_SCRIPTS = (REFERENCE, EVERY_FORM, PENDING, WITH_RATE)

# Gold's tokens, as a mutation sees them: parentheses, strings, and runs of anything else.
_TOKEN = re.compile(r'[()]|"[^"]*"|[^\s()"]+')
# Material for insertions and replacements: every keyword and punctuation, and some near misses.
VOCABULARY = (
    "(",
    ")",
    "transaction",
    "transaction-template",
    "V1",
    "V2",
    "chart-of-accounts-group-name",
    "description",
    "code",
    "pending",
    "true",
    "false",
    "metadata",
    "send",
    "source",
    "distribute",
    "from",
    "to",
    "rate",
    "->",
    "chart-of-accounts",
    ":amount",
    ":share",
    ":of",
    ":remaining",
    "|",
    "@alice",
    "@",
    "BRL",
    "0",
    "100",
    "-5",
    "1.5",
    "99999999999999999999999999999999999999",
    "$x",
    '"text"',
    '"',
    "#",
    "\x00",
    "é",
)


def tokens(script: str) -> list[str]:
    return _TOKEN.findall(script)


@st.composite
def mutated_scripts(draw: st.DrawFn) -> str:
    """A valid script with one to four token-level mutations: drop, duplicate, swap, replace, insert, truncate."""
    parts = tokens(draw(st.sampled_from(VALID_SCRIPTS)))
    for _ in range(draw(st.integers(1, 4))):
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        j = draw(st.integers(0, len(parts) - 1))
        operation = draw(st.sampled_from(["drop", "duplicate", "swap", "replace", "insert", "truncate"]))
        if operation == "drop":
            del parts[i]
        elif operation == "duplicate":
            parts.insert(i, parts[i])
        elif operation == "swap":
            parts[i], parts[j] = parts[j], parts[i]
        elif operation == "replace":
            parts[i] = draw(st.sampled_from(VOCABULARY))
        elif operation == "insert":
            parts.insert(i, draw(st.sampled_from(VOCABULARY)))
        else:
            parts = parts[:i]
    separator = draw(st.sampled_from([" ", "\n", "\t", "\r\n"]))
    return separator.join(parts)


def random_texts() -> st.SearchStrategy[str]:
    """Arbitrary text, and arbitrary sequences of Gold's own tokens (which reach deeper into the parser)."""
    return st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join),
    )


def gold_inputs() -> st.SearchStrategy[str]:
    return st.one_of(mutated_scripts(), random_texts())
