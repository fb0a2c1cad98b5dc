"""Stage 07_ab_test: every configured experiment, analysed on sufficient statistics.

The unit table (one row per exposed customer) is built in DuckDB from the clean
``exposures`` and either the shop's orders after assignment or the campaign's own
``outcomes``; segment columns (persona, RFM segment, channel) come from stages 03 and 06
when they ran. Outputs: ``experiments.json`` (per experiment: SRM, every arm and metric
with lifts, CIs, corrected p-values, chance to win, power, verdicts and effects by
segment) and ``lifts.parquet`` (one row per arm and metric, for the forest plot).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from customer_analytics.config import Config
from customer_analytics.experiments.analysis import analyse_experiment
from customer_analytics.experiments.units import (
    assignments,
    units_from_orders,
    units_from_outcomes,
)
from customer_analytics.truth import truth_folder


def run_ab(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the A/B stage's outputs into ``out``; return its headline figures."""
    clean = inputs["02_clean"]
    specs = cfg.experiments()
    if not specs or not (clean / "exposures.parquet").is_file():
        reason = "no experiments configured (ab.experiments)" if not specs else "no exposures table"
        (out / "experiments.json").write_text("{}")
        return {"experiments": {}, "skipped": reason}
    con = ibis.duckdb.connect()
    identity = clean / "identity_map.parquet"
    assigned = assignments(
        con.read_parquet(clean / "exposures.parquet"),
        con.read_parquet(identity) if identity.is_file() else None,
        cfg.shop.timezone,
    )
    if (clean / "outcomes.parquet").is_file():
        numeric = sorted(
            {
                c
                for s in specs.values()
                for m in s.metrics
                for c in (m.name, m.covariate, m.denominator)
                if c
            }
        )
        units = units_from_outcomes(assigned, con.read_parquet(clean / "outcomes.parquet"), numeric)
    else:
        windows = {name: spec.window_days for name, spec in specs.items()}
        units = units_from_orders(assigned, con.read_parquet(clean / "orders.parquet"), windows)
    units = _with_segments(units, con, inputs)

    results = {}
    for name, spec in specs.items():
        rows = units.filter(units.experiment_id == name)
        results[name] = analyse_experiment(name, rows, spec, cfg.ab, cfg.privacy.min_group_size)
    truth = _truth(inputs, results)
    (out / "experiments.json").write_text(json.dumps(results, indent=1))
    lifts = pd.DataFrame(
        [
            {"experiment": n, **{k: v for k, v in r.items() if not isinstance(v, list)}}
            for n, e in results.items()
            for r in e["metrics"]
        ]
    )
    lifts.to_parquet(out / "lifts.parquet", index=False)
    return {
        "experiments": {
            name: {
                "verdict": e["verdict"],
                "srm_passed": e["srm"]["passed"],
                "srm_p": e["srm"]["p"],
                "counts": e["counts"],
                "arm_means": e["arm_means"],
                "metrics": {
                    r["key"]: {
                        "rel_lift": r["rel_lift"],
                        "rel_ci": r["rel_ci"],
                        "p_adjusted": r.get("p_adjusted"),
                        "chance_to_win": r["chance_to_win"],
                    }
                    for r in e["metrics"]
                },
            }
            for name, e in results.items()
        },
        **truth,
    }


def _with_segments(units: ibis.Table, con: ibis.BaseBackend, inputs: dict[str, Path]) -> ibis.Table:
    """Persona and channel (06_personas) and RFM segment (03_rfm), where those stages ran."""
    if "06_personas" in inputs:
        personas = con.read_parquet(inputs["06_personas"] / "customers_personas.parquet")
        units = units.left_join(personas.select("customer_id", "persona", "channel"), "customer_id")
        units = units.drop("customer_id_right")
    if "03_rfm" in inputs:
        rfm = con.read_parquet(inputs["03_rfm"] / "customers_rfm.parquet")
        units = units.left_join(
            rfm.select("customer_id", rfm_segment=rfm.segment.cast("string")), "customer_id"
        )
        units = units.drop("customer_id_right")
    return units


def _truth(inputs: dict[str, Path], results: dict[str, Any]) -> dict[str, Any]:
    """Planted effects (synthetic shop) against our intervals, widened for the number of
    planted effects checked (Bonferroni), so "all covered" is a 95% statement."""
    folder = truth_folder(inputs["01_ingest"])
    if folder is None or not (folder / "experiments.parquet").is_file():
        return {}
    effects = pd.read_parquet(folder / "experiments.parquet")
    effects = effects[(effects["segment"] == "all") & (effects["true_lift_abs"] != 0)]
    checks = []
    for row in effects.itertuples():
        found = next(
            (
                m
                for m in results.get(row.experiment_id, {}).get("metrics", [])
                if m["arm"] == row.arm and m["metric"] == row.metric
            ),
            None,
        )
        if found is not None:
            checks.append((row, found))
    from scipy import stats

    z = stats.norm.ppf(1 - 0.05 / (2 * max(len(checks), 1)))
    out = []
    for row, found in checks:
        low, high = found["abs_lift"] - z * found["abs_se"], found["abs_lift"] + z * found["abs_se"]
        out.append(
            {
                "experiment": row.experiment_id,
                "arm": row.arm,
                "metric": row.metric,
                "true_abs_lift": float(row.true_lift_abs),
                "estimate": found["abs_lift"],
                "ci": [low, high],
                "covered": bool(low <= row.true_lift_abs <= high),
            }
        )
    return {
        "truth": {
            "effects_checked": len(out),
            "covered": sum(c["covered"] for c in out),
            "effects": out,
        }
    }


def ab_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the A/B stage for the run's index page."""
    if not found["experiments"]:
        return [f"No experiment analysed: {found.get('skipped', '')}."]
    return [f"{name}: {e['verdict']}." for name, e in found["experiments"].items()]
