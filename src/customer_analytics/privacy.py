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

import pandas as pd

from customer_analytics.config import SECRET_ENV

log = logging.getLogger(__name__)

#: Columns that identify a person directly, by canonical name, and what happens to them.
PII_COLUMNS = {"email": "hash", "phone": "hash", "name": "drop"}

# Fixed and public on purpose: it protects nothing, it only lets development runs work
# without a secret. Every use is logged loudly.
DEV_KEY = b"customer-analytics-development-key-NOT-SECRET"


class MissingSecretError(RuntimeError):
    """A source with PII was read without a pseudonymisation key."""


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
        f"Set the key first, e.g. `export {SECRET_ENV}=$(python -c 'import secrets; "
        f"print(secrets.token_hex(32))')`, and keep it: the same key must be used for "
        f"every run so pseudonyms stay comparable. For development data only, set "
        f"`privacy.dev_key: true` in the config."
    )


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible tag of the key, so caches notice a changed key."""
    return hmac.new(key, b"fingerprint", hashlib.sha256).hexdigest()[:12]


def normalise_email(values: pd.Series) -> pd.Series:
    """Trim, lower-case and remove inner spaces (``" Li.Wei @Mail.com"`` -> ``li.wei@mail.com``)."""
    return (
        values.astype("string").str.lower().str.replace(r"\s+", "", regex=True).replace("", pd.NA)
    )


def normalise_phone(values: pd.Series) -> pd.Series:
    """Keep digits only (``"138-0013 8000"`` -> ``13800138000``)."""
    return values.astype("string").str.replace(r"\D+", "", regex=True).replace("", pd.NA)


_NORMALISERS = {"email": normalise_email, "phone": normalise_phone}


def keyed_hash(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each non-null value, hex encoded; nulls stay null."""

    def one(value: object) -> object:
        if value is None or value is pd.NA:
            return pd.NA
        return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()

    uniques = values.dropna().unique()
    mapping = {v: one(v) for v in uniques}
    return values.map(mapping).astype("string")


def pseudonymise(frame: pd.DataFrame, key: bytes) -> tuple[pd.DataFrame, dict[str, int]]:
    """Replace PII columns: e-mail and phone by ``<col>_hash``, names dropped.

    Returns the new frame and, per PII column, how many non-null values were treated
    (counts only: the values themselves are never returned or logged).
    """
    out = frame.copy()
    counts: dict[str, int] = {}
    for column, action in PII_COLUMNS.items():
        if column not in out.columns:
            continue
        counts[column] = int(out[column].notna().sum())
        if action == "hash":
            position = out.columns.get_loc(column)
            normalised = _NORMALISERS[column](out[column])
            out = out.drop(columns=column)
            out.insert(position, f"{column}_hash", keyed_hash(normalised, key))
            if column == "email":
                # The domain alone names no one (qq.com, a test domain) and lets the
                # cleaning stage recognise test accounts after the address is gone.
                out.insert(position + 1, "email_domain", normalised.str.split("@").str[-1])
        else:
            out = out.drop(columns=column)
    return out, counts


def has_pii(columns: list[str] | pd.Index) -> bool:
    """Whether any direct identifier is among the columns."""
    return any(c in PII_COLUMNS for c in columns)


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
        out.loc[small, label_column] = out.loc[small, label_column].astype(str) + (
            f" (fewer than {min_size}, suppressed)"
        )
    return out
