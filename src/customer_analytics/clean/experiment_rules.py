"""The rules of the experiment tables (``exposures``, ``outcomes``), as Ibis expressions.

Like :mod:`customer_analytics.clean.rules` (which registers them): each function takes
the table so far, its :class:`~customer_analytics.clean.rule_engine.Rule` and the
:class:`~customer_analytics.clean.rule_engine.CleanContext` and returns an
:class:`~customer_analytics.clean.rule_engine.Outcome`. Rules that need the configured
experiments (arms, metric columns) read ``ctx.experiments``; with none configured they
pass every row.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from customer_analytics.clean.rule_engine import CleanContext, Outcome, Rule, RuleFunction
from customer_analytics.utils.text import is_blank, strip
from customer_analytics.utils.timestamps import with_utc

_EXPERIMENT_KEY = ["experiment_id", "customer_id"]
_NO_TEXT = ibis.null().cast(dt.string)


def exposure_missing_arm(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """An exposure without a variant: it belongs to no arm, so no comparison can count it."""
    if "variant" not in t.columns:
        return Outcome(t)
    return Outcome(t, hit=is_blank(t.variant))


def exposure_unknown_arm(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """A variant that is not one of its experiment's configured arms, spelled exactly.

    Such a row would make an arm of its own that the planned split knows nothing of.
    Exposures of an experiment the config does not name pass: nothing says what their
    arms are, and stage 07_ab_test analyses only configured experiments.
    """
    if not ctx.experiments or not {"experiment_id", "variant"} <= set(t.columns):
        return Outcome(t)
    checks = [
        (
            (t.experiment_id == name) & ~t.variant.isin(list(spec.arms)),
            f"not one of the arms configured for {name} (ab.experiments.{name}.arms): "
            + ", ".join(spec.arms),
        )
        for name, spec in ctx.experiments.items()
    ]
    unknown = ibis.or_(*[c for c, _ in checks]).fill_null(False)
    detail = ibis.cases(*[(c, "arm '" + t.variant + "' " + text) for c, text in checks])
    return Outcome(t, hit=unknown, detail=detail)


def parse_time(t: ibis.Table, rule: Rule, ctx: CleanContext, blank_ok: bool) -> Outcome:
    """Parse ``rule.params["column"]`` into ``<column>_utc``; unparseable values fail."""
    column = rule.params["column"]
    if column not in t.columns:
        return Outcome(t)
    t, fixed = with_utc(t, column, ctx.timezone)
    failed = t[f"{column}_utc"].isnull()
    if not blank_ok:
        return Outcome(t, hit=failed, fixed=fixed)
    present = t[column].notnull()
    if t[column].type().is_string():
        present &= ~is_blank(t[column])
    return Outcome(t, hit=failed & present, fixed=fixed)


def exposure_timestamp(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Assignment time into UTC; a missing or unreadable one fails (no window without it)."""
    return parse_time(t, rule, ctx, blank_ok=False)


def exposure_arm_mismatch(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """An exposure whose arm and what the customer was shown disagree.

    A log that records both (``variant`` and ``shown``, a landing page or creative)
    says what each arm shows in the config (``ctx.shown``); a treatment row that shows
    the control's page cannot be credited to either arm. Rows of arms the mapping does
    not name, and rows with nothing recorded as shown, pass.
    """
    if not ctx.shown or not {"experiment_id", "variant", "shown"} <= set(t.columns):
        return Outcome(t)
    expected = ibis.cases(
        *[
            ((t.experiment_id == name) & (t.variant == arm), page)
            for name, arms in ctx.shown.items()
            for arm, page in arms.items()
        ],
        else_=_NO_TEXT,
    )
    shown = strip(t.shown)
    hit = expected.notnull() & ~is_blank(t.shown) & (shown != expected)
    detail = "arm '" + t.variant + "' shows " + expected + ", this row shows " + shown
    return Outcome(t, hit=hit.fill_null(False), detail=detail)


def exposure_two_arms(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Every exposure of a customer assigned more than one arm of the same experiment.

    Arms are counted over all rows with a variant, including rows an earlier rule set
    aside (a copy, an unreadable time): the customer saw that arm all the same, so their
    outcome cannot be credited to either. Repeated rows of one arm are not a conflict;
    the earliest ``assigned_ts_utc`` is the assignment later stages use.
    """
    if not {*_EXPERIMENT_KEY, "variant"} <= set(t.columns):
        return Outcome(t)
    # Arms come from the rows as delivered (every row counts, whatever rule set it
    # aside), so the rules before this one are computed once, for the join below.
    source = ctx.as_delivered(t)

    def arms(rows: ibis.Table) -> ibis.Table:
        return rows.select(*_EXPERIMENT_KEY, _arm=strip(rows.variant).nullif("")).filter(
            lambda a: a._arm.notnull() & a.customer_id.notnull()
        )

    # Find first, name later: two arms show as a smallest arm below the largest, in one
    # pass with no distinct list; an ordered string aggregate over every customer cost
    # 9 of the 12 CPU seconds of 2.6 million exposures, so only the few conflicts get one.
    every = arms(source)
    spread = every.group_by(_EXPERIMENT_KEY).aggregate(
        _low=every._arm.min(), _high=every._arm.max()
    )
    two = spread.filter(spread._low != spread._high).select(*_EXPERIMENT_KEY)
    # The conflicts' rows are read again rather than shared with the pass above, which
    # would hold every row's arm in memory (2.6 million exposures: 0.7 CPU seconds); a
    # join with no conflict stops reading at once.
    conflicting = arms(source.semi_join(two, _EXPERIMENT_KEY)).distinct()
    conflicts = conflicting.group_by(_EXPERIMENT_KEY).aggregate(
        # A sorted list joined rather than an ordered string aggregate: Ibis's Spark
        # backend cannot order one.
        _names=conflicting._arm.collect().sort().join(", ")
    )
    joined = t.left_join(conflicts, _EXPERIMENT_KEY).select(*t.columns, "_names")
    return Outcome(joined, hit=joined._names.notnull(), detail="arms " + joined._names)


def outcome_without_exposure(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """An outcome of a customer with no kept exposure in the experiment.

    Needs the exposures cleaned first (``rules.yaml`` lists them before outcomes). The
    detail names the rule that set the customer's exposure aside, where there was one.
    """
    exposures = ctx.done.get("exposures")
    if exposures is None or not set(_EXPERIMENT_KEY) <= set(t.columns):
        return Outcome(t)
    exposed = exposures["kept"].select(*_EXPERIMENT_KEY).distinct().mutate(_exposed=True)
    dropped = exposures["quarantine"]
    gone = (
        dropped.group_by(_EXPERIMENT_KEY)
        .aggregate(_exposure_rule=dropped._rule.argmin(dropped._row))
        .anti_join(exposed, _EXPERIMENT_KEY)
    )
    joined = (
        t.left_join(exposed, _EXPERIMENT_KEY)
        .select(*t.columns, "_exposed")
        .left_join(gone, _EXPERIMENT_KEY)
        .select(*t.columns, "_exposed", "_exposure_rule")
    )
    detail = ibis.ifelse(
        joined._exposure_rule.notnull(),
        "exposure quarantined by " + joined._exposure_rule,
        "no exposure delivered",
    )
    return Outcome(joined, hit=joined._exposed.isnull(), detail=detail)


def _metric_columns(ctx: CleanContext) -> list[str]:
    """Every column a configured experiment reads as a number (metrics, ratio parts,
    CUPED covariates)."""
    return sorted(
        {
            c
            for spec in ctx.experiments.values()
            for m in spec.metrics
            for c in (m.column, m.denominator, m.covariate)
            if c
        }
    )


def outcome_not_a_number(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Text in a metric or covariate column that does not read as a number ("n/a").

    Typed as numbers later, it would become null and then count as zero. Blank values
    are no outcome (zero by the stage's convention) and pass. The first failing column
    and its value are kept in the detail.
    """
    bad = []
    for c in _metric_columns(ctx):
        if c not in t.columns or not t[c].type().is_string():
            continue
        # TRY_CAST reads a number padded with whitespace: no strip needed.
        bad.append((c, ~is_blank(t[c]) & t[c].try_cast(dt.float64).isnull()))
    if not bad:
        return Outcome(t)
    hit = ibis.or_(*[b for _, b in bad])
    detail = ibis.cases(*[(b, f"{c}=" + t[c]) for c, b in bad], else_=_NO_TEXT)
    return Outcome(t, hit=hit, detail=detail)


def outcome_timestamp(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """When the outcome happened, into UTC. A blank time is kept (a customer who did
    nothing has no time to give); one that does not parse fails."""
    return parse_time(t, rule, ctx, blank_ok=True)


def outcome_before_assignment(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """An outcome stamped before the customer's first kept assignment to the experiment.

    The treatment cannot have caused it; in an exposure log joined to orders the same
    purchases are simply outside the window (they are the CUPED pre-period). Needs the
    exposures cleaned first and a parsed ``outcome_ts_utc``.
    """
    exposures = ctx.done.get("exposures")
    if exposures is None or "outcome_ts_utc" not in t.columns:
        return Outcome(t)
    kept = exposures["kept"]
    first = kept.group_by(_EXPERIMENT_KEY).aggregate(_assigned=kept.assigned_ts_utc.min())
    joined = t.left_join(first, _EXPERIMENT_KEY).select(*t.columns, "_assigned")
    early = joined.outcome_ts_utc < joined._assigned
    detail = (
        "outcome at "
        + joined.outcome_ts_utc.cast(dt.string)
        + " UTC, assigned at "
        + joined._assigned.cast(dt.string)
        + " UTC"
    )
    return Outcome(joined, hit=early.fill_null(False), detail=detail)


FUNCTIONS: dict[str, RuleFunction] = {
    f.__name__: f
    for f in (
        exposure_missing_arm,
        exposure_unknown_arm,
        exposure_timestamp,
        exposure_arm_mismatch,
        exposure_two_arms,
        outcome_without_exposure,
        outcome_not_a_number,
        outcome_timestamp,
        outcome_before_assignment,
    )
}
