"""One experiment analysed from its unit table: SRM first, then every arm and metric,
corrected for the family, with a Bayesian reading, power, effects by segment and a verdict.

Only sufficient statistics leave the database (:func:`.reduce.sufficient_stats`); the
verdict reads the relative lift after the family correction (Holm by default), as
GrowthBook reports it, and says why. With ``ab.sequential`` it reads the always-valid
confidence sequences instead (:mod:`.sequential`), at the Bonferroni level of the
family, so an analyst may look before the planned end.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from customer_analytics.config import AbSettings, ExperimentSpec, MetricSpec
from customer_analytics.experiments.reduce import per_arm, sample_stats, sufficient_stats
from customer_analytics.experiments.stats.bayes import bayesian_view
from customer_analytics.experiments.stats.compare import (
    Comparison,
    cuped,
    ratio,
    two_proportion,
    welch,
)
from customer_analytics.experiments.stats.heterogeneity import segment_heterogeneity
from customer_analytics.experiments.stats.multiple import adjust_pvalues, correct_family
from customer_analytics.experiments.stats.power import (
    achieved_power,
    mde_from_se,
    minimum_detectable_effect,
    power_from_se,
)
from customer_analytics.experiments.stats.sequential import sequential_interval
from customer_analytics.experiments.stats.srm import srm_check
from customer_analytics.experiments.verdict import arm_verdict, overall

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
    """Sufficient statistics of one metric per arm (and segment), as its test needs them."""
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
    """Everything the report says about one experiment (JSON-ready).

    Parameters
    ----------
    name : str
        The experiment's name in the config.
    units : ibis.Table
        One row per analysed unit: ``variant`` and the metric columns.
    spec : ExperimentSpec
        Arms (control first), planned split, metrics.
    settings : AbSettings
        Levels, correction, segments, sequential option.
    min_group : int
        Smallest segment value shown (``privacy.min_group_size``).

    Raises
    ------
    ValueError
        If the units hold an arm the experiment does not configure (the clean stage's
        ``exposure_unknown_arm`` rule sets such rows aside, so this means the units did
        not come through it).
    """
    control, treatments = spec.arms[0], spec.arms[1:]
    counts = units.group_by("variant").aggregate(n=units.count()).to_pandas()
    counts = dict(zip(counts["variant"], counts["n"].astype(int), strict=True))
    unknown = sorted(str(a) for a in set(counts) - set(spec.arms))
    if unknown:
        raise ValueError(
            f"experiment {name}: arm value(s) {unknown} in the data are not among the "
            f"configured arms {list(spec.arms)} (ab.experiments.{name}.arms); the clean "
            "stage's exposure_unknown_arm rule quarantines them"
        )
    # In the configured order (control first): the database returns groups in any order.
    counts = {arm: counts.get(arm, 0) for arm in spec.arms}
    srm = srm_check(
        counts, dict(zip(spec.arms, spec.planned_split, strict=True)), settings.srm_alpha
    )
    rows, comparisons, means = [], {}, {}
    missing_arms = [a for a in spec.arms if counts[a] == 0]
    if not missing_arms:
        for metric in spec.metrics:
            stats = metric_stats(units, metric)
            by_arm = stats.groupby("variant")[[f"{metric.column}__sum", "n"]].sum()
            by_arm = by_arm.reindex(list(spec.arms))
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
                family_ci_level=1 - family.ci_alpha,
                ci_disagrees=bool(member.disagrees),
            )
    sequential = None
    if settings.sequential and comparisons:
        sequential = _sequential(rows, comparisons, spec, sum(counts.values()), settings.alpha)
    basis = "sequential_significant" if sequential else "significant"
    verdicts = {arm: arm_verdict(arm, rows, srm.passed, missing_arms, basis) for arm in treatments}
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
        "decided_by": "sequential" if sequential else settings.correction,
        "sequential": sequential,
        "arm_means": means,  # plain per-arm means (ratio metrics: the numerator per unit)
        "metrics": rows,
        "verdicts": verdicts,
        "verdict": overall(verdicts),
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
    power, mde, control_sd = _power_and_mde(metric, c, stats, control, arm, alpha)
    # One-sided 1 - alpha bound in the bad direction: the non-inferiority check of a
    # guardrail (experiments/verdict.py) reads it.
    low, high = c.at_level(2 * alpha).rel_ci
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
        "mde": _f(mde),
        "harm_bound": _f(low if metric.direction == "increase" else high),
        "harm_bound_level": 1 - alpha,
        "min_effect": metric.min_effect,
        "control_n": int(c.control_n),
        "treatment_n": int(c.treatment_n),
        "control_sd": _f(control_sd),
        "variance_reduction": _f(c.variance_reduction)
        if c.variance_reduction is not None
        else None,
        "abs_se": _f(c.abs_se),
    }


def _power_and_mde(
    metric: MetricSpec, c: Comparison, stats: pd.DataFrame, control: str, arm: str, alpha: float
) -> tuple[float, float, float]:
    """Achieved power at the planned ``min_effect`` and the relative MDE at 80% power,
    both at ``alpha`` before the family correction, of the test as run (CUPED-adjusted
    and ratio tests through their standard errors); the control's unit sd (mean metrics,
    for planning)."""
    arms = {a: sample_stats(rows, metric.column) for a, rows in stats.groupby("variant")}
    control_sd = float(np.sqrt(arms[control].variance)) if metric.type == "mean" else np.nan
    if metric.type == "proportion":
        power = achieved_power(arms[control], arms[arm], metric.min_effect, alpha)
        base = float(c.control_mean)
        mde = (
            minimum_detectable_effect(
                int(c.control_n), int(c.treatment_n), proportion=base, alpha=alpha
            )
            if 0 < base < 1
            else np.nan
        )
        return power, mde, control_sd
    se, base = float(c.abs_se), float(c.control_mean)
    return (
        power_from_se(se, base, metric.min_effect, alpha),
        mde_from_se(se, base, alpha),
        control_sd,
    )


def _sequential(
    rows: list[dict[str, Any]],
    comparisons: dict[str, Comparison],
    spec: ExperimentSpec,
    units: int,
    alpha: float,
) -> dict[str, Any]:
    """Always-valid intervals of the relative lifts, at ``alpha / m`` for a family of
    ``m`` (Bonferroni, which keeps the family-wise error at every look)."""
    level = alpha / len(comparisons)
    planned = spec.planned_units or units
    for row in rows:
        cs = sequential_interval(comparisons[row["key"]].at_level(level), planned, "relative")
        row["sequential_ci"] = [_f(v) for v in cs.ci]
        row["sequential_significant"] = bool(cs.excludes_zero)
        # A guardrail's bound must hold at every look too.
        row["harm_bound"] = row["sequential_ci"][0 if row["direction"] == "increase" else 1]
        row["harm_bound_level"] = 1 - level / 2
    return {
        "planned_units": int(planned),
        "planned_from": "ab.experiments.<name>.planned_units"
        if spec.planned_units
        else "the units seen so far (planned_units not set)",
        "units": int(units),
        "alpha_per_comparison": level,
    }


def _segments(
    units: ibis.Table, spec: ExperimentSpec, settings: AbSettings, min_group: int
) -> dict[str, Any]:
    """The first goal metric by segment: lifts per segment value, Holm within each
    segment column and arm, and Cochran's Q for a lift that differs between values."""
    metric = next((m for m in spec.metrics if m.role == "goal"), None)
    if metric is None:
        return {}
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
