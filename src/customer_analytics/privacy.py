"""Privacy at the door: pseudonymisation of direct identifiers and small-group suppression.

E-mail and phone are normalised, then replaced by a keyed hash (HMAC-SHA256, RFC 2104)
so that accounts of one person can still be matched without the identifier itself ever
reaching a stage output, report, figure or log. Names are dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import yaml

from customer_analytics import i18n
from customer_analytics.config import SECRET_ENV

log = logging.getLogger(__name__)

#: Columns that identify a person directly, by canonical name, and what happens to them.
PII_COLUMNS = {"email": "hash", "phone": "hash", "name": "drop"}

# Fixed and public on purpose: it protects nothing, it only lets development runs work
# without a secret. Every use is logged loudly.
DEV_KEY = b"customer-analytics-development-key-NOT-SECRET"


#: The shortest key accepted: 256 bits, as many as the HMAC's SHA-256 output.
MIN_SECRET_BYTES = 32
_MAKE_ONE = f"`export {SECRET_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')`"


class MissingSecretError(RuntimeError):
    """A source with PII was read without a pseudonymisation key."""


class WeakSecretError(MissingSecretError):
    """The pseudonymisation key is too short to keep pseudonyms from being guessed."""


def pseudonymisation_key(*, dev_key_allowed: bool, source: str) -> bytes:
    """The HMAC key from ``$CUSTOMER_ANALYTICS_SECRET``.

    Parameters
    ----------
    dev_key_allowed
        The config's ``privacy.dev_key``: use the fixed development key when no secret
        is set.
    source
        The source's name, for the error message.
    """
    secret = os.environ.get(SECRET_ENV, "")
    if secret:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise WeakSecretError(
                f"{SECRET_ENV} is {len(secret.encode())} bytes long; a pseudonymisation key "
                f"needs at least {MIN_SECRET_BYTES} random bytes, or e-mails and phones "
                f"could be guessed back from their pseudonyms. Make one with {_MAKE_ONE}. "
                "A new key changes every pseudonym: runs made with the old key no longer "
                "match the new ones, so keep the key and use it for every run."
            )
        return secret.encode()
    if dev_key_allowed:
        log.warning(
            "PRIVACY: %s has no %s; using the public DEVELOPMENT key (privacy.dev_key: true). "
            "Pseudonyms are NOT protected. Never use this for real customers.",
            source,
            SECRET_ENV,
        )
        return DEV_KEY
    raise MissingSecretError(
        f"{source} has personal data (e-mail, phone or name) and no pseudonymisation key. "
        f"Set the key first, e.g. {_MAKE_ONE}, and keep it: the same key must be used for "
        f"every run so pseudonyms stay comparable. For development data only, set "
        f"`privacy.dev_key: true` in the config."
    )


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible tag of the key, so caches notice a changed key."""
    return hmac.new(key, b"fingerprint", hashlib.sha256).hexdigest()[:12]


def normalise_email(column: ibis.Value) -> ibis.Value:
    """Lower-case, white space removed (``" Li.Wei @Mail.com"`` -> ``li.wei@mail.com``); blank is null."""
    return column.cast(dt.string).lower().re_replace(r"\s+", "").nullif("")


def normalise_phone(column: ibis.Value) -> ibis.Value:
    """Digits only (``"138-0013 8000"`` -> ``13800138000``); no digit is null."""
    return column.cast(dt.string).re_replace(r"\D+", "").nullif("")


_NORMALISERS = {"email": normalise_email, "phone": normalise_phone}


@ibis.udf.scalar.builtin(signature=((dt.binary,), dt.string))
def sha256(data):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``sha256``: the hex digest of the bytes."""


@ibis.udf.scalar.builtin(signature=((dt.string,), dt.binary))
def unhex(text):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``unhex``: hex text as bytes."""


@ibis.udf.scalar.builtin(signature=((dt.string,), dt.binary))
def encode(text):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``encode``: text as UTF-8 bytes."""


@ibis.udf.scalar.builtin(signature=((dt.binary, dt.binary), dt.binary))
def concat(left, right):  # noqa: ANN001, ANN201 (DuckDB's function)
    """Bytes joined (DuckDB's ``||`` on blobs)."""


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys (RFC 2104): the key, hashed when longer than a block."""
    block = 64  # SHA-256's block size in bytes
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


@ibis.udf.scalar.builtin(signature=((dt.string,), dt.binary))
def getvariable(variable):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``getvariable``: a value set on the connection with ``SET VARIABLE``."""


def keyed_hash(value: ibis.Value) -> ibis.Value:
    """HMAC-SHA256 (RFC 2104) of ``value``'s UTF-8 bytes, hex encoded; null stays null.

    Computed by the database, so millions of values take seconds. The key's pads are
    read from the connection's variables, set by :func:`set_key`.
    """
    inner = unhex(sha256(concat(getvariable(_IPAD), encode(value))))
    return sha256(concat(getvariable(_OPAD), inner))


_IPAD, _OPAD = "_pseudonym_ipad", "_pseudonym_opad"


def set_key(backend: ibis.BaseBackend, key: bytes) -> None:
    """Hand the key's HMAC pads to ``backend``'s connection as two variables.

    They travel as bound parameters, never in SQL text, which can reach error messages
    and logs; and no join is needed to bring them to every row, so the rows keep their
    order (DuckDB keeps the order of one table through projections, not through joins).
    """
    for name, pad in zip((_IPAD, _OPAD), _pads(key), strict=True):
        backend.con.execute(f"SET VARIABLE {name} = ?", [pad])


def pseudonymise(
    table: ibis.Table, key: bytes, personal_ids: tuple[str, ...] = ()
) -> tuple[ibis.Table, list[str]]:
    """Replace PII columns: e-mail and phone by ``<col>_hash``, names dropped, and the
    ``personal_ids`` columns by their keyed hash under their own name.

    Returns the new table, in the rows' order, and the PII columns it treated. (How
    many values each held is the ingest profile's business: counting them here read
    the whole file once more.) The hash is HMAC-SHA256 of the normalised value, so two
    spellings of one address match. The table must be computed on the connection it
    came from, which holds the key (:func:`set_key`).
    """
    present = [c for c in PII_COLUMNS if c in table.columns]
    set_key(table._find_backend(use_default=True), key)
    columns: dict[str, ibis.Value] = {}
    for column in table.columns:
        action = PII_COLUMNS.get(column)
        if column in personal_ids:
            # An id stays an id (same name, joins still match), but keyed; stripped only,
            # so two accounts never merge because of case.
            columns[column] = keyed_hash(table[column].cast(dt.string).strip().nullif(""))
        elif action is None:
            columns[column] = table[column]
        elif action == "hash":
            normalised = _NORMALISERS[column](table[column])
            columns[f"{column}_hash"] = keyed_hash(normalised)
            if column == "email":
                # The domain alone names no one (qq.com, a test domain) and lets the
                # cleaning stage recognise test accounts after the address is gone.
                columns["email_domain"] = normalised.split("@")[-1]
    return table.select(**columns), present


def has_pii(columns: list[str] | pd.Index) -> bool:
    """Whether any direct identifier is among the columns."""
    return any(c in PII_COLUMNS for c in columns)


class PersonalIdError(ValueError):
    """An id column holds personal data (e-mail addresses, phone numbers), undeclared."""


RULES = yaml.safe_load(Path(__file__).with_name("privacy.yaml").read_text())
#: Id columns that name a person (``privacy.yaml``).
ID_COLUMNS: tuple[str, ...] = tuple(RULES["id_columns"])


#: Free-text columns per canonical table, masked at the door (``privacy.yaml``).
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(columns) for table, columns in RULES["text_columns"].items()
}
#: The kind of what the customer's own name is masked as, among the patterns' kinds.
NAME = "name"


def mask_kinds() -> list[str]:
    """The kinds of personal data masked in free text, in the order applied."""
    return [*RULES["text_masks"], NAME]


def _occurrences(text: ibis.Value, placeholder: str) -> ibis.Value:
    """How often ``placeholder`` occurs in ``text`` (0 for null)."""
    gone = text.replace(placeholder, "").length()
    return ((text.length() - gone) // len(placeholder)).fill_null(0).cast(dt.int64)


def mask_text(
    table: ibis.Table, columns: tuple[str, ...], people: ibis.Table | None = None
) -> tuple[ibis.Table, ibis.Table]:
    """Personal data in ``table``'s free-text ``columns`` replaced by placeholders.

    E-mail addresses, ID numbers and phone numbers by ``privacy.yaml``'s ``text_masks``;
    the row's customer's own name (``name_mask``) where ``people`` (the customers
    table, delivered, names still in it) is given and ``table`` has ``customer_id``.

    Returns the masked table, in the rows' delivered order (numbered ``_row`` when it
    was not: finding a row's name takes a join, after which the engine keeps no order),
    and a one-row table of how many items of each kind (:func:`mask_kinds`) it masked.
    Nothing is quoted: no value leaves the database.
    """
    columns = tuple(c for c in columns if c in table.columns)
    rules, name_rule = RULES["text_masks"], RULES["name_mask"]
    by_name = people is not None and {"customer_id", "name"} <= set(people.columns)
    by_name = by_name and "customer_id" in table.columns
    if by_name and "_row" not in table.columns:
        table = table.mutate(_row=ibis.row_number() + 1)
    source = table
    if by_name:
        name = people.name.cast(dt.string).strip()
        known = people.filter(name.length() >= name_rule["min_chars"])
        known = known.group_by(_person=known.customer_id.cast(dt.string).strip()).aggregate(
            _name=known.name.cast(dt.string).strip().max()
        )
        source = table.left_join(known, table.customer_id.cast(dt.string).strip() == known._person)
    masked: dict[str, ibis.Value] = {}
    counts: dict[str, ibis.Value] = {kind: ibis.literal(0, dt.int64) for kind in mask_kinds()}
    for column in columns:
        text = source[column].cast(dt.string)
        for kind, rule in rules.items():
            before = text
            # twice: a number's trailing character, taken by one match, cannot start
            # the next one right after it ("13800138000,13900139000")
            for _ in range(2):
                text = text.re_replace(rule["pattern"], rule["replacement"])
            counts[kind] += _occurrences(text, rule["placeholder"]) - _occurrences(
                before, rule["placeholder"]
            )
        if by_name:
            before = text
            for form in name_rule["forms"]:
                written = source._name.re_replace(form["pattern"], form["replacement"])
                text = ibis.ifelse(
                    written.isnull() | (written == ""),
                    text,
                    text.replace(written, name_rule["placeholder"]),
                )
            counts[NAME] += _occurrences(text, name_rule["placeholder"]) - _occurrences(
                before, name_rule["placeholder"]
            )
        masked[column] = text
    out = source.select(*[masked.get(c, source[c]).name(c) for c in table.columns])
    per_row = source.select(**{f"_{i}": v for i, v in enumerate(counts.values())})
    totals = per_row.aggregate(
        **{kind: per_row[f"_{i}"].sum().fill_null(0) for i, kind in enumerate(counts)}
    )
    return (out.order_by("_row") if by_name else out), totals


def personal_looking(table: ibis.Table, columns: list[str]) -> dict[str, dict[str, int]]:
    """Per column, how many values look like each kind of personal data
    (``privacy.yaml``'s ``looks_personal``), counted in one pass over the table."""
    kinds = RULES["looks_personal"]
    counts = {
        f"_{i}_{j}": table[column].cast(dt.string).strip().re_search(f"^(?:{regex})$").sum()
        for i, column in enumerate(columns)
        for j, regex in enumerate(kinds.values())
    }
    if not counts:
        return {}
    found = table.aggregate(**counts).execute().iloc[0]
    out: dict[str, dict[str, int]] = {}
    for i, column in enumerate(columns):
        for j, kind in enumerate(kinds):
            n = int(found[f"_{i}_{j}"] or 0)
            if n:
                out.setdefault(column, {})[kind] = n
    return out


def refuse_personal_ids(table: ibis.Table, name: str, file: str, setting: str) -> None:
    """Stop when an id column of ``table`` (:data:`ID_COLUMNS`) holds values that look
    like e-mail addresses or phone numbers, naming the file, table, column and
    ``setting`` (the key that declares the ids personal). No value is quoted.

    Raises
    ------
    PersonalIdError
    """
    columns = [c for c in ID_COLUMNS if c in table.columns]
    for column, kinds in personal_looking(table, columns).items():
        what = " and ".join(f"{n:,} that look like {kind}s" for kind, n in kinds.items())
        raise PersonalIdError(
            f"{file}: table {name}, column {column} has values {what}: personal data "
            f"cannot serve as an id. If the ids are personal, declare them with "
            f"`{setting}`: they are then pseudonymised (keyed hash) the same way in every "
            "table that carries them."
        )


def suppress_small_groups(
    table: pd.DataFrame, count_column: str, min_size: int, *, label_column: str | None = None
) -> pd.DataFrame:
    """Mask rows describing fewer than ``min_size`` people before a table is shown.

    Rows under the threshold keep their label (when ``label_column`` is given it is
    suffixed with a note) but every other value becomes missing, so no figure about a
    group small enough to identify people is published.
    """
    small = table[count_column] < min_size
    out = table.copy()
    other = [c for c in out.columns if c != label_column]
    out[other] = out[other].astype(object)
    out.loc[small, other] = None
    if label_column is not None:
        note = i18n.gettext(" (fewer than {count}, suppressed)").format(count=min_size)
        out.loc[small, label_column] = out.loc[small, label_column].astype(str) + note
    return out


def suppress_small_cells(table: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """A crosstab of counts with every cell of 1 to ``min_size - 1`` people masked (NaN).

    Empty cells stay 0: that nobody is in a cell tells nothing about a person. Show a
    masked cell as ``fewer_than(min_size)``.
    """
    return table.where((table == 0) | (table >= min_size))


def fewer_than(min_size: int) -> str:
    """How a suppressed count reads in a report: ``"<10"``."""
    return f"<{min_size}"


def count_for_report(count: int, min_size: int) -> int | str:
    """A count of people as a report shows it: as it is, or ``"<10"`` for 1 to ``min_size - 1``."""
    return fewer_than(min_size) if 0 < count < min_size else int(count)
