"""Stage 01_ingest: read a source into canonical tables, pseudonymise at the door, profile.

Its outputs hold no direct identifier: e-mail and phone are replaced by keyed hashes and
names dropped before anything is written (:mod:`customer_analytics.privacy`); in free text
(a review's) e-mail addresses, phone and ID numbers and the customer's own name are
masked first, while the names are still at hand. The stage
settles the run's ``as_of`` (the config's, else the data's last day); later stages read
it with :func:`customer_analytics.pipeline.outputs.run_as_of`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from customer_analytics import privacy
from customer_analytics.config import Config, today_in
from customer_analytics.i18n import N_
from customer_analytics.ingest.data_end import settle_data_end
from customer_analytics.ingest.profile import profile_table
from customer_analytics.pipeline.outputs import INPUT_FILES, Outputs
from customer_analytics.sources import read_source
from customer_analytics.utils import progress
from customer_analytics.utils.checksums import file_sha256
from customer_analytics.utils.parquet import write_parquet

OUTPUTS = Outputs(__name__)
DELIVERED = OUTPUTS.declare(
    "{table}.parquet",
    "each canonical table as delivered (text as in the file, pseudonymised), in the file's "
    "row order, with _row, each row's number in the delivered file; read it with "
    "read_ingested",
)
PROFILE = OUTPUTS.declare(
    "profile.parquet", "per table and column: declared type, nulls, distinct values, range"
)


def read_ingested(con: ibis.BaseBackend, path: Path) -> ibis.Table:
    """An ingest output with ``_row``, the row's 1-based number in the delivered file.

    The number is the one the source adapter stored, else the row's place in the
    delivered file, which the stage writes into the Parquet file as it reads the rows
    in that order; so either engine reads it as a column.
    """
    table = con.read_parquet(path)
    if "_row" not in table.columns:
        raise ValueError(f"{path}: no _row column; it was not written by the ingest stage")
    return table


def declared_personal_ids(cfg: Config) -> tuple[str, ...]:
    """The id columns the source declares personal (pseudonymised in every table)."""
    source = cfg.source
    declared = (source.kind == "files" and any(m.personal_ids for m in source.tables.values())) or (
        source.kind == "campaign" and source.campaign.personal_ids
    )
    return privacy.ID_COLUMNS if declared else ()


def personal_ids_setting(cfg: Config, table: str) -> str:
    """The setting that declares a table's ids personal, for the message that asks for it."""
    if cfg.source.kind == "files":
        return f"source.tables.{table}.personal_ids: true"
    if cfg.source.kind == "campaign":
        return "source.campaign.personal_ids: true"
    return f"source.tables.{table}.personal_ids: true (read the file with source.kind: files)"


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the ingest stage's outputs into ``out``; return its headline figures.

    Parameters
    ----------
    cfg
        The run's configuration.
    inputs
        Earlier stages' output folders (none for ingest).
    out
        An empty folder for this stage's outputs.

    Returns
    -------
    dict
        Rows per table, the data's end and the run's ``as_of``, and the files read
        (:data:`~customer_analytics.pipeline.outputs.INPUT_FILES`, for the manifest).
    """
    # Reading the delivered files stays on DuckDB: it alone keeps their row order.
    con = ibis.duckdb.connect()
    source = read_source(cfg, con)
    source_name = f"source {cfg.source.kind} ({cfg.source_path.name})"
    key = None
    profiles, input_records, rows, written_tables = [], [], {}, {}
    # Checksums of the delivered files are read on a thread beside the database's work
    # (hashlib releases the GIL): a few hundred MB take most of a second.
    hashing = ThreadPoolExecutor(max_workers=1)
    checksums = {name: hashing.submit(file_sha256, path) for name, path in source.files.items()}
    personal_ids = declared_personal_ids(cfg)
    # The customers as delivered, names still in them: a review's text is masked of its
    # writer's own name before the names are dropped.
    people = source.tables.get("customers")
    masked_counts: dict[str, dict[str, int]] = {}
    for number, (name, table) in enumerate(source.tables.items(), start=1):
        progress.step(
            f"reading {name}, writing it pseudonymised, profiling it", number, len(source.tables)
        )
        unnumbered = "_row" not in table.columns
        free_text = [c for c in privacy.TEXT_COLUMNS.get(name, ()) if c in table.columns]
        if free_text:
            table, counted = privacy.mask_text(table, tuple(free_text), people)
            masked_counts[name] = {k: int(v) for k, v in counted.execute().iloc[0].items()}
        # A table masked by name was numbered and put in its delivered order by _row.
        numbered_here = unnumbered and "_row" in table.columns
        if privacy.has_pii(table.columns) or set(personal_ids) & set(table.columns):
            key = key or privacy.pseudonymisation_key(
                dev_key_allowed=cfg.privacy.dev_key, source=source_name
            )
            hashed, treated = privacy.pseudonymise(table, key, personal_ids)
            hashed = hashed.order_by("_row") if numbered_here else hashed
            write_parquet(
                hashed, DELIVERED.at(out, table=name), number_rows=unnumbered and not numbered_here
            )
            pii = {f"{c}_hash" for c in treated if privacy.PII_COLUMNS[c] == "hash"}
        else:
            write_parquet(
                table, DELIVERED.at(out, table=name), number_rows=unnumbered and not numbered_here
            )
            pii = set()
        # Free text shows counts only in the profile, never its most common values: the
        # masks catch the personal data they know, not everything a customer may write.
        pii |= set(free_text)
        written = read_ingested(con, DELIVERED.at(out, table=name))
        # Values the adapter parsed are checked in the written copy; a failure leaves no
        # stage output behind (the stage's folder is removed).
        source.check(name, written)
        if not personal_ids:
            privacy.refuse_personal_ids(
                written, name, str(source.files[name]), personal_ids_setting(cfg, name)
            )
        written_tables[name] = written
        profile = profile_table(written, source.declared.get(name), pii=pii)
        profile.insert(0, "table", name)
        profiles.append(profile)
        rows[name] = int(profile["rows"].iloc[0]) if len(profile) else 0
        input_records.append(
            {
                "table": name,
                "path": str(source.files[name]),
                "sha256": checksums[name].result(),
                "rows": rows[name],
            }
        )
    hashing.shutdown()
    pd.concat(profiles, ignore_index=True).to_parquet(PROFILE.at(out), index=False)
    # The data's end leaves out rows dated after the run's own date, or isolated by a
    # long gap (ingest/data_end.yaml); cleaning sets them aside as after_data_end.
    end = settle_data_end(
        written_tables,
        cfg.shop.timezone,
        cfg.run.today or today_in(cfg.shop.timezone),
        declared=source.data_end,
    )
    data_end = end.utc
    as_of = str(cfg.run.as_of) if cfg.run.as_of else (data_end or "")[:10]
    found = {
        "tables": len(rows),
        "rows": rows,
        "rows_total": sum(rows.values()),
        "data_end_utc": data_end,
        **end.findings(),
        **({"source_notes": source.notes} if source.notes else {}),
        "as_of": as_of,
        "pseudonymised": key is not None,
        # per table, the personal items masked in its free text, per kind (privacy.yaml)
        "text_masked": masked_counts,
        INPUT_FILES: input_records,
    }
    return {**found, "headline": _headline(found)}


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first."""
    return {
        N_("Tables read"): found["tables"],
        N_("Rows delivered"): found["rows_total"],
        N_("Data end (UTC)"): (found["data_end_utc"] or "")[:10] or None,
        N_("As of"): found["as_of"],
    }
