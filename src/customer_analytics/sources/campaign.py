"""A campaign file with one row per customer: an experiment's assignment and outcomes.

Example (``configs/hillstrom.yaml``, Kevin Hillstrom's MineThatData e-mail test)::

    source:
      kind: campaign
      path: ../shared/data/hillstrom.csv
      campaign:
        experiment_id: hillstrom_email
        arm: segment                  # the column naming each row's arm
        customer_id: null             # no id column: the data row number is the id
        assigned: 2008-03-01          # one date for every row, or a column name
        outcomes: [visit, conversion, spend]
        covariates: [history, recency]
        segments: [womens, mens, newbie, channel, zip_code, history_segment]

The file becomes two canonical tables, both keeping ``_row`` (the 1-based data row):

- ``exposures``: ``experiment_id, customer_id, variant, assigned_ts``, one row per file
  row, as the other sources deliver assignment logs;
- ``outcomes``: ``experiment_id, customer_id``, ``outcome_ts`` when the file says when
  each outcome happened (``outcome_ts: <column>``), and every outcome, covariate and
  segment column under its name in the file.

Values stay text as delivered (a Parquet file's typed columns are cast to text, so the
rules see one representation); the cleaning stage checks them and later stages type
them. With a ``date_format``, the assignment and outcome times are parsed with it
instead, and a value that does not match stops the run (naming the column, an example
and the count), as a shop's own files do. A mapped column the file lacks stops the run
naming the file and the column.

Where the file also records what each customer was shown (a landing page, a creative),
``shown: {column: landing_page, arms: {control: old_page, treatment: new_page}}`` adds
it to ``exposures`` as ``shown``, and the cleaning rule ``exposure_arm_mismatch`` sets
aside the rows whose arm and page disagree.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dt_ibis

from customer_analytics.config import CampaignSettings, Config, FileMapping
from customer_analytics.sources.base import (
    SourceError,
    SourceTables,
    checks_in_turn,
    verify_checksum,
)
from customer_analytics.sources.files import _read, parse_dates, timestamp_columns

#: Columns the adapter writes itself: a delivered column of the same name would be lost.
RESERVED = {"experiment_id", "customer_id", "variant", "assigned_ts", "outcome_ts", "_row"}


def _constant_time(value: dt.date | dt.datetime | str) -> str | None:
    """A fixed assignment time as text the timestamp rule reads, or None when not one.

    A date is midnight shop-local (``YYYY-MM-DD 00:00:00``, the canonical local
    format); a timestamp with a zone keeps its offset, one without is shop-local.
    """
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.strftime("%Y-%m-%dT%H:%M:%S%z")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{value:%Y-%m-%d} 00:00:00"


def _columns(spec: CampaignSettings) -> list[str]:
    """Outcome, covariate and segment columns, each once, in the order configured."""
    return list(dict.fromkeys([*spec.outcomes, *spec.covariates, *spec.segments]))


def _text(value: ibis.Value) -> ibis.Value:
    return value if value.type().is_string() else value.cast(dt_ibis.string)


def read_campaign(cfg: Config, con: ibis.BaseBackend) -> SourceTables:
    """Read a campaign file into the ``exposures`` and ``outcomes`` tables.

    Parameters
    ----------
    cfg
        The run's configuration; ``source.path`` and ``source.campaign`` are read.
    con
        A DuckDB connection the tables are read through.

    Raises
    ------
    SourceError
        The file is missing, empty, unreadable or lacks a configured column.
    """
    spec = cfg.source.campaign
    if spec is None:
        raise SourceError("source.kind campaign needs a source.campaign section")
    path = cfg.source_path
    if not path.is_file():
        raise SourceError(f"{path}: campaign file does not exist")
    verify_checksum(path, cfg.source.sha256)
    raw, lines_check = _read(con, path, FileMapping(file=path, columns={}))
    found = list(raw.columns)
    assigned = spec.assigned if isinstance(spec.assigned, str) else None
    fixed_time = None
    if assigned is None or assigned not in found:
        fixed_time = _constant_time(spec.assigned)
        assigned = None
    mapped = {"arm": spec.arm, "customer_id": spec.customer_id, "outcome_ts": spec.outcome_ts}
    if spec.shown is not None:
        mapped["shown.column"] = spec.shown.column
    if fixed_time is None:
        mapped["assigned"] = str(spec.assigned)
    mapped.update({f"outcome/covariate/segment {c!r}": c for c in _columns(spec)})
    missing = {key: column for key, column in mapped.items() if column and column not in found}
    if missing:
        named = ", ".join(f"{column!r} ({key})" for key, column in missing.items())
        raise SourceError(
            f"{path}: configured column(s) {named} not in the file (source.campaign); found {found}"
        )
    clashes = sorted(RESERVED & set(_columns(spec)))
    if clashes:
        raise SourceError(
            f"{path}: outcome/covariate/segment column(s) {clashes} clash with the canonical "
            f"columns {sorted(RESERVED)}; rename them in the file"
        )

    # The row number is computed once here, so both tables (and the id, when the file has
    # none) name the same row; DuckDB keeps a file's row order on reading it.
    numbered = raw.mutate(_row=ibis.row_number() + 1)
    customer = (
        _text(numbered[spec.customer_id])
        if spec.customer_id
        else numbered._row.cast(dt_ibis.string)
    )
    experiment = ibis.literal(spec.experiment_id)
    when = (
        _text(numbered[assigned])
        if assigned is not None
        else ibis.literal(fixed_time, type=dt_ibis.string)
    )
    shown = {"shown": _text(numbered[spec.shown.column])} if spec.shown is not None else {}
    exposures = numbered.select(
        experiment_id=experiment,
        customer_id=customer,
        variant=_text(numbered[spec.arm]),
        assigned_ts=when,
        **shown,
        _row=numbered._row,
    )
    stamped = {"outcome_ts": _text(numbered[spec.outcome_ts])} if spec.outcome_ts else {}
    outcomes = numbered.select(
        experiment_id=experiment,
        customer_id=customer,
        **stamped,
        **{c: _text(numbered[c]) for c in _columns(spec)},
        _row=numbered._row,
    )
    # Outcomes and covariates should be numbers: the profile counts the ones that are not.
    numeric = dict.fromkeys([*spec.outcomes, *spec.covariates], "float")
    if spec.outcome_ts:
        numeric["outcome_ts"] = "timestamp"
    notes = {"campaign_assigned": "column " + assigned if assigned else fixed_time}
    if spec.shown is not None:  # what each arm shows, for the rule exposure_arm_mismatch
        notes["shown_by_arm"] = {spec.experiment_id: dict(spec.shown.arms)}
    tables = {"exposures": exposures, "outcomes": outcomes}
    value_checks = {}
    if spec.date_format:
        names = {"assigned_ts": str(assigned), "outcome_ts": str(spec.outcome_ts)}
        for name, column in (("exposures", assigned), ("outcomes", spec.outcome_ts)):
            if column is not None:
                tables[name], value_checks[name] = parse_dates(
                    tables[name], timestamp_columns(name), path, spec.date_format, names
                )
    checks = {
        name: check
        for name in tables
        if (check := checks_in_turn(lines_check, value_checks.get(name)))
    }
    return SourceTables(
        tables=tables,
        files={"exposures": path, "outcomes": path},
        declared={"exposures": {"assigned_ts": "timestamp"}, "outcomes": numeric},
        notes=notes,
        checks=checks,
    )
