"""The vocabulary of expected failures.

Every rejection kontor can answer has one entry here: a stable Midaz code, an HTTP status and a
short title. Code raises ``KontorError(codes.X, detail)``; the HTTP layer turns it into an
RFC 9457 problem body in exactly one place (``kontor.api.problems``).

Class tree::

    Exception
     └── KontorError            an expected failure with a code (4xx, or 503 when the db is away)
          └── FieldErrors       a request body failed validation on one or more fields

Programmer errors are not KontorErrors: they are ``InvariantViolation`` (raised by ``invariant()``),
and the HTTP layer answers them 500 with no internals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """One entry of the error catalog."""

    code: str
    status: int
    title: str
    message: str


_CATALOG: dict[str, Code] = {}


def _code(code: str, status: int, title: str, message: str) -> Code:
    entry = Code(code, status, title, message)
    if code in _CATALOG:
        raise RuntimeError(f"error code {code} declared twice")
    _CATALOG[code] = entry
    return entry


def catalog() -> dict[str, Code]:
    """Every declared code, by its code string."""
    return dict(_CATALOG)


class codes:  # noqa: N801 - a namespace of constants, read as ``codes.INSUFFICIENT_FUNDS``
    """The catalog, grouped as the reference groups it."""

    # Request shape (400).
    MISSING_FIELD = _code("0009", 400, "Missing Fields in Request", "A required field is missing.")
    INVALID_FIELD = _code("0047", 400, "Bad Request", "A field has an invalid value or format.")
    UNEXPECTED_FIELD = _code(
        "0053", 400, "Unexpected Fields in the Request", "The request has fields the endpoint does not accept."
    )
    UNMARSHALLING = _code(
        "0094", 400, "Unmarshalling error", "The request body is not valid JSON of the expected types."
    )
    INVALID_PATH_PARAMETER = _code("0065", 400, "Invalid Path Parameter", "A path parameter is not a valid UUID.")
    METADATA_KEY_TOO_LONG = _code("0050", 400, "Metadata Key Length Exceeded", "A metadata key exceeds 100 characters.")
    METADATA_VALUE_TOO_LONG = _code(
        "0051", 400, "Metadata Value Length Exceeded", "A metadata value exceeds 2000 characters or is not a scalar."
    )
    METADATA_NESTED = _code(
        "0067", 400, "Invalid Metadata Nesting", "Metadata values must be strings, numbers or booleans."
    )
    PAYLOAD_NESTING_TOO_DEEP = _code("0144", 400, "Payload Nesting Too Deep", "The payload nests objects too deeply.")
    PAYLOAD_TOO_MANY_KEYS = _code("0145", 400, "Payload Has Too Many Keys", "The payload has too many object keys.")
    PAYLOAD_TOO_LARGE = _code("0143", 400, "Payload Too Large", "The request body exceeds the allowed size.")
    DATE_RANGE_INVERTED = _code("0078", 400, "Invalid Date Range", "start_date must not be after end_date.")
    PAGINATION_LIMIT_EXCEEDED = _code("0080", 400, "Pagination Limit Exceeded", "limit exceeds the maximum page size.")
    INVALID_SORT_ORDER = _code("0081", 400, "Invalid Sort Order", "sort_order must be asc or desc.")
    INVALID_QUERY_PARAMETER = _code("0082", 400, "Invalid Query Parameter", "A query parameter has an invalid value.")
    DATES_REQUIRED_TOGETHER = _code(
        "0083", 400, "Invalid Date Range", "start_date and end_date must be given together."
    )
    INVALID_DATE_FORMAT = _code("0131", 400, "Invalid Date Format", "Dates must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.")
    FUTURE_TIMESTAMP = _code("0140", 400, "Future Timestamp", "The date may not be in the future.")
    MISSING_QUERY_PARAMETER = _code("0142", 400, "Missing Query Parameter", "A required query parameter is missing.")

    # Not found (404).
    ENTITY_NOT_FOUND = _code("0007", 404, "Entity Not Found", "No entity matches the given identifier.")
    ORGANIZATION_NOT_FOUND = _code("0038", 404, "Organization ID Not Found", "The organization does not exist.")
    PARENT_ORGANIZATION_NOT_FOUND = _code(
        "0039", 404, "Parent Organization ID Not Found", "The parent organization does not exist."
    )
    LEDGER_NOT_FOUND = _code("0037", 404, "Ledger ID Not Found", "The ledger does not exist.")
    ASSET_NOT_FOUND = _code("0055", 404, "Asset ID Not Found", "The asset does not exist.")
    ASSET_CODE_NOT_FOUND = _code("0034", 404, "Asset Code Not Found", "No asset with this code exists in the ledger.")
    ACCOUNT_NOT_FOUND = _code("0052", 404, "Account ID Not Found", "The account does not exist.")
    ALIAS_NOT_FOUND = _code("0085", 404, "Alias Not Found", "No account has this alias.")
    PORTFOLIO_NOT_FOUND = _code("0035", 404, "Portfolio ID Not Found", "The portfolio does not exist.")
    SEGMENT_NOT_FOUND = _code("0036", 404, "Segment ID Not Found", "The segment does not exist.")
    ACCOUNT_TYPE_NOT_FOUND = _code("0109", 404, "Account Type Not Found", "The account type does not exist.")
    OPERATION_ROUTE_NOT_FOUND = _code("0101", 404, "Operation Route Not Found", "The operation route does not exist.")
    TRANSACTION_ROUTE_NOT_FOUND = _code(
        "0105", 404, "Transaction Route Not Found", "The transaction route does not exist."
    )
    DEFAULT_BALANCE_NOT_FOUND = _code("0126", 404, "Default Balance Not Found", "The account has no default balance.")
    METADATA_INDEX_NOT_FOUND = _code("0133", 404, "Metadata Index Not Found", "The metadata index does not exist.")
    NO_BALANCE_AT_TIMESTAMP = _code("0141", 404, "Balance Not Found At Timestamp", "The balance did not exist then.")

    # Onboarding rules.
    LEDGER_NAME_CONFLICT = _code("0002", 409, "Ledger Name Conflict", "A ledger with this name already exists.")
    ASSET_CONFLICT = _code("0003", 409, "Asset Already Exists", "An asset with this name or code already exists.")
    CODE_NOT_UPPERCASE = _code("0004", 400, "Code Uppercase Requirement", "The code must be uppercase letters.")
    CURRENCY_CODE_INVALID = _code("0005", 400, "Currency Code Standard Compliance", "The code is not an ISO 4217 code.")
    FORBIDDEN_IN_PRODUCTION = _code("0008", 422, "Action Not Permitted", "This action is not allowed in production.")
    ACCOUNT_HAS_BALANCE = _code("0012", 422, "Account Has Balance", "The account still holds funds.")
    SEGMENT_NAME_CONFLICT = _code("0015", 409, "Segment Name Conflict", "A segment with this name already exists.")
    ALIAS_IN_USE = _code("0020", 409, "Alias Unavailability Error", "The alias is already used by another account.")
    PARENT_ACCOUNT_INVALID = _code("0029", 400, "Invalid Parent Account ID", "The parent account does not exist.")
    PARENT_ASSET_MISMATCH = _code("0030", 422, "Mismatched Asset Code", "The parent account holds a different asset.")
    CODE_NOT_LETTERS = _code("0033", 400, "Invalid Code Format", "The code must contain letters only.")
    COUNTRY_INVALID = _code("0032", 400, "Invalid Country Code", "country must be an ISO 3166-1 alpha-2 code.")
    ASSET_TYPE_INVALID = _code(
        "0040", 400, "Invalid Type", "type must be one of crypto, currency, fiat, commodity, others."
    )
    ACCOUNT_TYPE_NOT_REGISTERED = _code(
        "0066", 400, "Invalid Account Type", "The account type is not registered for this ledger."
    )
    EXTERNAL_ACCOUNT_IMMUTABLE = _code(
        "0074", 422, "External Account Modification Prohibited", "External accounts cannot be changed or deleted."
    )
    ORGANIZATION_OWN_PARENT = _code(
        "0091", 422, "Invalid Parent Organization", "An organization cannot be its own parent."
    )
    ALIAS_INVALID = _code("0096", 400, "Invalid Account Alias", "The alias has characters outside [a-zA-Z0-9@:_-].")
    DUPLICATE_KEY_VALUE = _code("0108", 409, "Duplicate Account Type", "An account type with this keyValue exists.")
    KEY_VALUE_INVALID = _code("0120", 400, "Invalid Key Value", "keyValue has characters outside [a-zA-Z0-9_-].")
    BALANCE_KEY_EXISTS = _code("0123", 409, "Balance Key Already Exists", "The account already has this balance key.")
    EXTERNAL_EXTRA_BALANCE = _code(
        "0124", 422, "Additional Balance Not Allowed", "External accounts cannot have additional balances."
    )
    BALANCE_HAS_FUNDS = _code("0093", 409, "Balance Has Funds", "The balance still holds funds.")
    BALANCE_DIRECTION_INVALID = _code("0171", 400, "Invalid Balance Direction", "direction must be credit or debit.")
    BALANCE_SETTINGS_INVALID = _code("0172", 400, "Invalid Balance Settings", "The balance settings are invalid.")
    OVERDRAFT_LIMIT_BELOW_USAGE = _code(
        "0173", 422, "Overdraft Limit Below Usage", "The overdraft limit is below the overdraft in use."
    )
    SETTINGS_UNKNOWN_FIELD = _code("0147", 400, "Invalid Settings Field", "The settings contain an unknown field.")
    SETTINGS_WRONG_TYPE = _code("0148", 400, "Invalid Settings Type", "A settings field has the wrong type.")
    SETTINGS_NESTED_KEY_AT_ROOT = _code(
        "0149", 400, "Invalid Settings Structure", "A nested settings key was given at the root."
    )
    SETTINGS_VALUE_INVALID = _code("0176", 400, "Invalid Settings Value", "A settings field has an invalid value.")

    # Posting engine.
    INSUFFICIENT_FUNDS = _code(
        "0018", 422, "Insufficient Funds Error", "A source balance does not hold enough funds for the transaction."
    )
    ACCOUNT_INELIGIBLE = _code(
        "0019", 422, "Account Ineligibility Response", "An account of the transaction has no such balance."
    )
    BALANCE_NOT_ALLOWED = _code(
        "0024", 422, "Account Status Transaction Restriction", "A balance is not allowed to send or receive."
    )
    INVALID_LEG_AMOUNT_FORM = _code(
        "0072", 400, "Invalid Transaction Type", "Each leg needs exactly one of amount, share or remaining."
    )
    TRANSACTION_VALUE_MISMATCH = _code(
        "0073", 422, "Transaction Value Mismatch", "Sources, destinations and the value do not add up."
    )
    SAME_SOURCE_AND_DESTINATION = _code(
        "0090", 422, "Invalid Transaction", "A balance appears as source and destination at the same index."
    )
    EXTERNAL_PENDING_SOURCE = _code(
        "0098", 422, "Invalid Pending Transaction", "An external account cannot be the source of a pending transaction."
    )
    FUTURE_TRANSACTION_DATE = _code(
        "0121", 400, "Invalid Transaction Date", "transactionDate may not be in the future."
    )
    PENDING_WITH_TRANSACTION_DATE = _code(
        "0122", 400, "Invalid Transaction Date", "transactionDate cannot be used with a pending transaction."
    )
    NON_POSITIVE_VALUE = _code(
        "0125", 422, "Invalid Transaction Value", "The transaction value must be greater than 0."
    )
    STALE_BALANCE_VERSION = _code("0174", 422, "Stale Balance Version", "A balance changed concurrently; retry.")
    OVERDRAFT_LIMIT_EXCEEDED = _code("0167", 422, "Overdraft Limit Exceeded", "The overdraft limit would be exceeded.")
    INTERNAL_BALANCE_IN_TRANSACTION = _code(
        "0168", 422, "Internal Balance Not Allowed", "Internal-scope balances cannot be used in a transaction."
    )
    INTERNAL_BALANCE_DELETE = _code(
        "0169", 422, "Internal Balance Protected", "Internal-scope balances cannot be deleted."
    )
    RESERVED_BALANCE_KEY = _code("0170", 422, "Reserved Balance Key", "The balance key 'overdraft' is reserved.")
    INTERNAL_BALANCE_UPDATE = _code(
        "0175", 422, "Internal Balance Protected", "Internal-scope balances cannot be changed."
    )
    PERSISTENCE_FAILED = _code("0095", 500, "Internal Server Error", "The transaction could not be persisted.")
    IDEMPOTENCY_IN_FLIGHT = _code(
        "0084", 409, "Duplicate Idempotency Key", "A request with this idempotency key is still being processed."
    )
    STATUS_FORBIDS_ACTION = _code(
        "0099", 409, "Invalid Transaction Status", "The transaction's status does not allow this action."
    )
    PENDING_LOCKED = _code("0486", 409, "Transaction Locked", "The pending transaction is being committed or canceled.")
    ALREADY_REVERTED = _code("0087", 409, "Transaction Already Reverted", "The transaction already has a reversal.")
    IS_A_REVERSAL = _code("0088", 409, "Transaction Is A Reversal", "A reversal cannot be reverted.")
    NOTHING_TO_REVERT = _code("0089", 422, "Nothing To Revert", "The transaction has no operations to revert.")
    REVERT_NON_BIDIRECTIONAL = _code(
        "0150", 422, "Revert Not Permitted", "An operation uses a route that is not bidirectional."
    )
    SKIP_NOT_PERMITTED = _code("0490", 422, "Skip Not Permitted", "The ledger settings do not allow this skip flag.")
    DSL_INVALID = _code("0017", 400, "Invalid Script Format", "The DSL script is not valid.")
    DSL_FILE_INVALID = _code("0048", 400, "Invalid DSL File Format", "The DSL file could not be parsed.")
    DSL_FILE_EMPTY = _code("0049", 400, "Empty DSL File", "The DSL file is empty.")

    # Accounting routes.
    OPERATION_ROUTE_LINKED = _code(
        "0107", 422, "Operation Route Linked", "The operation route is used by a transaction route."
    )
    ROUTE_RULE_TYPE_INVALID = _code("0111", 400, "Invalid Account Rule Type", "ruleType must be alias or account_type.")
    ROUTE_RULE_VALUE_INVALID = _code("0112", 400, "Invalid Account Rule Value", "validIf does not fit the ruleType.")
    TRANSACTION_ROUTE_MISSING = _code("0114", 422, "Transaction Route Required", "The transaction needs a routeId.")
    ROUTE_ID_INVALID = _code("0115", 400, "Invalid Route ID", "The route id is not a valid UUID.")
    ROUTE_COUNT_MISMATCH = _code(
        "0116", 422, "Route Count Mismatch", "The legs do not use exactly the routes the transaction route configures."
    )
    LEG_ROUTE_NOT_FOUND = _code(
        "0117", 422, "Operation Route Not Allowed", "A leg's route is not in the transaction route."
    )
    ROUTE_ALIAS_MISMATCH = _code(
        "0118", 422, "Account Alias Mismatch", "The leg's account does not match the route rule."
    )
    ROUTE_ACCOUNT_TYPE_MISMATCH = _code(
        "0119", 422, "Account Type Mismatch", "The leg's account type does not match the route rule."
    )
    ROUTE_MISSING_COUNTERPART = _code(
        "0151", 422, "Missing Counterpart", "A bidirectional route needs both a debit and a credit counterpart."
    )
    ROUTE_DIRECTION_MISMATCH = _code(
        "0152", 422, "Route Direction Mismatch", "A leg uses a route of the wrong operation type."
    )
    ROUTE_NO_SOURCE = _code("0153", 422, "Missing Source Route", "A transaction route needs a source route.")
    ROUTE_NO_DESTINATION = _code(
        "0154", 422, "Missing Destination Route", "A transaction route needs a destination route."
    )
    ROUTE_NONE_FOR_ACTION = _code("0157", 422, "No Routes For Action", "No operation route covers this action.")
    ROUTE_TOO_MANY = _code("0158", 400, "Too Many Routes", "A transaction route may link at most 100 operation routes.")
    ENTRIES_DESTINATION_HOLD = _code(
        "0162", 422, "Invalid Accounting Entries", "Destination routes cannot have hold or cancel entries."
    )
    ENTRIES_HOLD_PAIR = _code(
        "0163", 422, "Invalid Accounting Entries", "hold requires commit and cancel, and the reverse."
    )
    ENTRIES_DIRECT_REQUIRED = _code(
        "0164", 422, "Invalid Accounting Entries", "direct is required when any other entry exists."
    )
    ENTRIES_REVERT_BIDIRECTIONAL = _code(
        "0165", 422, "Invalid Accounting Entries", "revert entries are only allowed on bidirectional routes."
    )
    ENTRIES_SIDE_MISSING = _code(
        "0166", 422, "Invalid Accounting Entries", "An entry lacks the debit or credit side its direction needs."
    )
    OVERDRAFT_ROUTE_ENTRY_MISSING = _code(
        "0492", 422, "Missing Overdraft Entry", "The leg's route has no overdraft accounting entry."
    )

    # Bulk endpoint (kontor's own; Midaz has none).
    BATCH_TOO_LARGE = _code("KTR-0002", 400, "Batch Too Large", "A batch may carry at most 1000 transactions.")
    BATCH_ROLLED_BACK = _code(
        "KTR-0003",
        422,
        "Batch Rolled Back",
        "Another transaction of this atomic batch was refused; nothing was applied.",
    )
    BATCH_EMPTY = _code("KTR-0004", 400, "Empty Batch", "A batch needs at least one transaction.")

    # The exchange engine (kontor's own; Midaz stores rates but never applies them).
    RATE_NOT_FOUND = _code("KTR-0010", 422, "Exchange Rate Not Found", "No rate is stored for this pair of assets.")
    RATE_EXPIRED = _code("KTR-0011", 422, "Exchange Rate Expired", "The stored rate is older than its ttl.")
    CONVERSION_NOT_ALLOWED = _code(
        "KTR-0012", 422, "Conversion Not Allowed", "Only destination legs of a non-pending transaction may convert."
    )

    # Service level.
    INTERNAL = _code("0046", 500, "Internal Server Error", "internal error")
    DATABASE_UNAVAILABLE = _code("KTR-0001", 503, "Service Unavailable", "The database is unreachable; retry shortly.")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field's failure inside a request body, shown in the problem's ``errors[]``."""

    location: str
    message: str
    value: object = None


class KontorError(Exception):
    """An expected failure: answered with its code's status and a problem body; nothing changed."""

    def __init__(
        self,
        code: Code,
        detail: str | None = None,
        *,
        entity_type: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(detail or code.message)
        self.code = code
        self.detail = detail or code.message
        self.entity_type = entity_type
        self.errors = errors or []

    def __repr__(self) -> str:
        return f"KontorError({self.code.code}, {self.detail!r})"


class FieldErrors(KontorError):
    """A request body failed validation; ``errors`` names each failing field."""


class InvariantViolation(Exception):
    """A programmer error: a rule that must always hold did not. Never an expected outcome."""


def invariant(condition: bool, message: str) -> None:
    """Raise InvariantViolation unless ``condition`` holds (unlike ``assert``, survives ``-O``)."""
    if not condition:
        raise InvariantViolation(message)
