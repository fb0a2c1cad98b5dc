"""Experiment intervals checked against the synthetic shop's planted effects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy import stats

from customer_analytics.synthetic.truth import planted_effects


def truth_coverage(truth_dir: Path | None, results: dict[str, Any]) -> dict[str, Any]:
    """Planted effects (synthetic shop) against our intervals, widened for the number of
    planted effects checked (Bonferroni), so "all covered" is a 95% statement. Planted
    effects on a metric, arm or experiment that is not analysed are listed with why.

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder (``Config.truth_dir``); None for real data.
    results
        The analysed experiments by name (:func:`~customer_analytics.experiments.
        analysis.analyse_experiment`).
    """
    effects = planted_effects(truth_dir)
    if effects is None:
        return {}
    effects = effects[(effects["segment"] == "all") & (effects["true_lift_abs"] != 0)]
    checks, not_checked = [], []
    for row in effects.itertuples():
        experiment = results.get(row.experiment_id)
        rows = [] if experiment is None else experiment["metrics"]
        found = next((m for m in rows if m["arm"] == row.arm and m["metric"] == row.metric), None)
        if found is not None:
            checks.append((row, found))
            continue
        if experiment is None:
            why = "experiment not configured"
        elif row.arm not in experiment["arms"]:
            why = "arm not configured"
        elif not rows:
            why = "experiment not analysed (an arm has no customers)"
        else:
            why = f"metric not analysed (not in ab.experiments.{row.experiment_id}.metrics)"
        not_checked.append(
            {"experiment": row.experiment_id, "arm": row.arm, "metric": row.metric,
             "true_abs_lift": float(row.true_lift_abs), "reason": why}
        )  # fmt: skip
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
            "not_checked": not_checked,
        }
    }
