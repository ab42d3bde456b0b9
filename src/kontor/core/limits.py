"""Every named upper bound kontor enforces, in one place.

Each limit is enforced where input enters and answered with a named error code; raising one is a
decision with consequences (memory per batch, SQL parameter counts, page sizes), so change it here.
"""

from __future__ import annotations

# Pagination (Midaz: MAX_PAGINATION_LIMIT default 100, page size default 10).
PAGE_LIMIT_DEFAULT = 10
PAGE_LIMIT_MAX = 100
# Offset paging reads ``(page - 1) * limit`` rows past the start, a PostgreSQL bigint; this bound
# keeps that far inside int64 and still lies beyond any ledger's list of entities.
PAGE_NUMBER_MAX = 1_000_000_000
SEARCH_TERM_LENGTH_MAX = 256
# Transaction and operation lists without dates look back this many months (Midaz default 1).
LIST_DEFAULT_WINDOW_MONTHS = 1

# Metadata (Midaz: keys <= 100, values <= 2000, flat scalars).
METADATA_KEY_LENGTH_MAX = 100
METADATA_VALUE_LENGTH_MAX = 2000
METADATA_KEYS_MAX = 100
PAYLOAD_NESTING_DEPTH_MAX = 10
PAYLOAD_KEYS_MAX = 100

# Request bodies.
REQUEST_BODY_BYTES_MAX = 1 << 20
SETTINGS_BODY_BYTES_MAX = 64 << 10

# Amounts: exact decimals, bounded so that every amount fits PostgreSQL NUMERIC and the core's
# arithmetic context without rounding.
AMOUNT_INTEGER_DIGITS_MAX = 30
AMOUNT_SCALE_MAX = 30

# Transactions: legs per side (``send.source.from`` or ``send.distribute.to``). Midaz sets no bound;
# this one keeps a single transaction's balance locks and operation rows within one batch's budget.
LEGS_PER_SIDE_MAX = 1000
# Share percentages are integers, read as int64 by Midaz; the bound also keeps the exact share
# computation within the core's decimal precision.
SHARE_PERCENTAGE_MAX = 2**63 - 1

# The bulk endpoint: transactions per request, and the request body it may need.
BATCH_TRANSACTIONS_MAX = 1000
BATCH_BODY_BYTES_MAX = 8 << 20

# Text fields of a transaction and its legs, as Midaz bounds them (the JSON body states the same
# bounds as msgspec constraints): descriptions, aliases and chart-of-accounts names; codes and
# asset codes.
TEXT_LENGTH_MAX = 256
CODE_LENGTH_MAX = 100

# The Gold DSL: the largest script POST .../transactions/dsl compiles (UTF-8 bytes). Midaz sets no
# bound; a real script is a few hundred bytes, and this one keeps a parse to a fraction of a second.
DSL_SOURCE_BYTES_MAX = 64 << 10
