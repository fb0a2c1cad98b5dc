"""One experiment analysed from its unit table: SRM first, then every arm and metric,
corrected for the family, with a Bayesian reading, power, effects by segment and a verdict.

Only sufficient statistics leave the database (:func:`.reduce.sufficient_stats`); the
verdict reads the relative lift after the family correction (Holm by default), as
GrowthBook reports it, and says why.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from customer_analytics.config import AbSettings, ExperimentSpec, MetricSpec
from customer_analytics.experiments.bayes import bayesian_view
from customer_analytics.experiments.compare import Comparison, cuped, ratio, two_proportion, welch
from customer_analytics.experiments.heterogeneity import segment_heterogeneity
from customer_analytics.experiments.multiple import adjust_pvalues, correct_family
from customer_analytics.experiments.power import achieved_power
from customer_analytics.experiments.reduce import per_arm, sample_stats, sufficient_stats
from customer_analytics.experiments.srm import srm_check

TESTS = {"proportion": two_proportion, "mean": welch}


def compare_metric(
    stats: pd.DataFrame, metric: MetricSpec, control: str, arm: str, alpha: float, adjusted: bool
) -> Comparison:
    """One arm against control on one metric, from a statistics frame (CUPED if asked)."""
    if metric.type == "ratio":
        arms = per_arm(stats, "variant", metric.column, denominator=metric.denominator)
        return ratio(arms[control], arms[arm], alpha)
    if adjusted and metric.covariate:
        arms = per_arm(stats, "variant", metric.name, covariate=metric.covariate)
        return cuped(arms[control], arms[arm], alpha)
    arms = per_arm(stats, "variant", metric.name)
    return TESTS[metric.type](arms[control], arms[arm], alpha)


def metric_stats(
    units: ibis.Table, metric: MetricSpec, segments: tuple[str, ...] = ()
) -> pd.DataFrame:
    return sufficient_stats(
        units,
        "variant",
        [metric.column],
        segments=segments,
        covariate=metric.covariate if metric.type != "ratio" else None,
        denominator=metric.denominator if metric.type == "ratio" else None,
        winsorize={metric.column: metric.winsorize} if metric.winsorize else None,
    )


def analyse_experiment(
    name: str, units: ibis.Table, spec: ExperimentSpec, settings: AbSettings, min_group: int
) -> dict[str, Any]:
    """Everything the report says about one experiment (JSON-ready)."""
    control, treatments = spec.arms[0], spec.arms[1:]
    counts = units.group_by("variant").aggregate(n=units.count()).to_pandas()
    counts = dict(zip(counts["variant"], counts["n"].astype(int), strict=True))
    for arm in spec.arms:
        counts.setdefault(arm, 0)
    srm = srm_check(
        counts, dict(zip(spec.arms, spec.planned_split, strict=True)), settings.srm_alpha
    )
    rows, comparisons, means = [], {}, {}
    missing_arms = [a for a in spec.arms if counts[a] == 0]
    if not missing_arms:
        for metric in spec.metrics:
            stats = metric_stats(units, metric)
            by_arm = stats.groupby("variant")[[f"{metric.column}__sum", "n"]].sum()
            means[metric.name] = {
                str(a): _f(v) for a, v in (by_arm.iloc[:, 0] / by_arm["n"]).items()
            }
            for arm in treatments:
                comparison = compare_metric(stats, metric, control, arm, settings.alpha, True)
                key = f"{arm} / {metric.name}"
                comparisons[key] = comparison
                rows.append(_row(key, arm, metric, comparison, stats, control, settings.alpha))
                if metric.covariate and metric.type != "ratio":
                    plain = compare_metric(stats, metric, control, arm, settings.alpha, False)
                    rows[-1]["unadjusted_rel_lift"] = _f(plain.rel_lift)
                    rows[-1]["unadjusted_rel_ci"] = [_f(v) for v in plain.rel_ci]
    if comparisons:
        family = correct_family(comparisons, settings.correction, settings.alpha, "relative")
        for row in rows:
            member = family[row["key"]]
            row.update(
                p_adjusted=_f(member.p_adjusted),
                significant=bool(member.reject),
                family_ci=[_f(v) for v in member.ci],
                ci_disagrees=bool(member.disagrees),
            )
    verdicts = {arm: _verdict(arm, rows, srm.passed, missing_arms) for arm in treatments}
    return {
        "description": spec.description,
        "arms": list(spec.arms),
        "counts": counts,
        "srm": {
            "chi2": _f(srm.chi2),
            "p": _f(srm.p),
            "passed": bool(srm.passed),
            "observed_share": {k: _f(v) for k, v in srm.observed_share.items()},
            "planned_share": {k: _f(v) for k, v in srm.planned_share.items()},
        },
        "correction": settings.correction,
        "family_size": len(comparisons),
        "arm_means": means,  # plain per-arm means (ratio metrics: the numerator per unit)
        "metrics": rows,
        "verdicts": verdicts,
        "verdict": _overall(verdicts),
        "segments": _segments(units, spec, settings, min_group) if comparisons else {},
    }


def _row(
    key: str,
    arm: str,
    metric: MetricSpec,
    c: Comparison,
    stats: pd.DataFrame,
    control: str,
    alpha: float,
) -> dict[str, Any]:
    bayes = bayesian_view(c, "relative")
    power = np.nan
    if metric.type != "ratio":
        arms = {a: sample_stats(rows, metric.name) for a, rows in stats.groupby("variant")}
        power = achieved_power(arms[control], arms[arm], metric.min_effect, alpha)
    return {
        "key": key,
        "arm": arm,
        "metric": metric.name,
        "type": metric.type,
        "role": metric.role,
        "direction": metric.direction,
        "method": c.method,
        "control_mean": _f(c.control_mean),
        "treatment_mean": _f(c.treatment_mean),
        "abs_lift": _f(c.abs_lift),
        "abs_ci": [_f(v) for v in c.abs_ci],
        "abs_p": _f(c.abs_p),
        "rel_lift": _f(c.rel_lift),
        "rel_ci": [_f(v) for v in c.rel_ci],
        "rel_p": _f(c.rel_p),
        "chance_to_win": _f(
            bayes.chance_to_win if metric.direction == "increase" else 1 - bayes.chance_to_win
        ),
        "risk": _f(bayes.risk_treatment if metric.direction == "increase" else bayes.risk_control),
        "power_at_min_effect": _f(power),
        "min_effect": metric.min_effect,
        "variance_reduction": _f(c.variance_reduction)
        if c.variance_reduction is not None
        else None,
        "abs_se": _f(c.abs_se),
    }


def _good(row: dict[str, Any]) -> bool:
    return (row["rel_lift"] > 0) == (row["direction"] == "increase")


def _verdict(
    arm: str, rows: list[dict], srm_passed: bool, missing_arms: list[str]
) -> dict[str, str]:
    """Ship, don't ship or inconclusive for one arm, with the reason."""
    if missing_arms:
        return {
            "decision": "blocked",
            "reason": f"arm(s) {', '.join(missing_arms)} have no customers",
        }
    if not srm_passed:
        return {
            "decision": "blocked",
            "reason": "sample-ratio mismatch: the arms' sizes do not match the planned split, "
            "so assignment or logging is broken and no lift can be trusted",
        }
    mine = [r for r in rows if r["arm"] == arm]
    harmed = [
        r["metric"] for r in mine if r["role"] == "guardrail" and r["significant"] and not _good(r)
    ]
    worse = [r["metric"] for r in mine if r["role"] == "goal" and r["significant"] and not _good(r)]
    better = [r["metric"] for r in mine if r["role"] == "goal" and r["significant"] and _good(r)]
    if harmed:
        return {
            "decision": "don't ship",
            "reason": f"guardrail {', '.join(harmed)} significantly worse",
        }
    if worse:
        return {"decision": "don't ship", "reason": f"{', '.join(worse)} significantly worse"}
    if better:
        return {
            "decision": "ship",
            "reason": f"{', '.join(better)} significantly better after the correction, no guardrail harmed",
        }
    goals = [r for r in mine if r["role"] == "goal"]
    low = [
        r["metric"]
        for r in goals
        if r["power_at_min_effect"] == r["power_at_min_effect"] and r["power_at_min_effect"] < 0.8
    ]
    reason = "no goal metric moved significantly after the correction"
    if low:
        reason += f"; power to see the planned effect was under 80% for {', '.join(low)}"
    return {"decision": "inconclusive", "reason": reason}


def _overall(verdicts: dict[str, dict[str, str]]) -> str:
    decisions = {v["decision"] for v in verdicts.values()}
    for decision in ("blocked", "ship", "don't ship"):
        if decision in decisions:
            arms = [a for a, v in verdicts.items() if v["decision"] == decision]
            return decision if decision == "blocked" else f"{decision}: {', '.join(arms)}"
    return "inconclusive"


def _segments(
    units: ibis.Table, spec: ExperimentSpec, settings: AbSettings, min_group: int
) -> dict[str, Any]:
    """The first goal metric by segment: lifts per segment value, Holm within each
    segment column and arm, and Cochran's Q for a lift that differs between values."""
    metric = next(m for m in spec.metrics if m.role == "goal")
    control = spec.arms[0]
    out: dict[str, Any] = {"metric": metric.name, "by": {}}
    for column in settings.segments:
        if column not in units.columns:
            continue
        stats = metric_stats(units, metric.model_copy(update={"covariate": None}), (column,))
        stats = stats[stats[column].notna()]
        sizes = stats.groupby(column)["n"].min()
        # A value needs every arm, the minimum group size, and some outcome in control
        # (a relative lift over zero is undefined).
        control_sum = stats[stats["variant"] == control].set_index(column)[f"{metric.column}__sum"]
        values = [
            v
            for v in sizes.index
            if sizes[v] >= min_group
            and (stats[column] == v).sum() == len(spec.arms)
            and control_sum.get(v, 0) > 0
        ]
        for arm in spec.arms[1:]:
            per_value = {
                str(v): compare_metric(
                    stats[stats[column] == v], metric, control, arm, settings.alpha, False
                )
                for v in values
            }
            if len(per_value) < 2:
                continue
            adjusted, reject = adjust_pvalues(
                [c.rel_p for c in per_value.values()], settings.correction, settings.alpha
            )
            q = segment_heterogeneity(per_value, "absolute")
            out["by"].setdefault(column, {})[arm] = {
                "values": [
                    {
                        "value": v,
                        "n": int(c.control_n + c.treatment_n),
                        "abs_lift": _f(c.abs_lift),
                        "abs_ci": [_f(x) for x in c.abs_ci],
                        "rel_lift": _f(c.rel_lift),
                        "p_adjusted": _f(p),
                        "significant": bool(r),
                    }
                    for (v, c), p, r in zip(per_value.items(), adjusted, reject, strict=True)
                ],
                "heterogeneity": {
                    "q": _f(q.q),
                    "df": int(q.df),
                    "p": _f(q.p),
                    "i_squared": _f(q.i_squared),
                },
                "suppressed_values": int(len(sizes) - len(values)),
            }
    return out


def _f(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
