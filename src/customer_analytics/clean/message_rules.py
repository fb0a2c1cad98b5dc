"""The rules of the marketing tables (``messages``, ``spend``), as Ibis expressions.

Like :mod:`customer_analytics.clean.experiment_rules`: each function takes the table so
far, its :class:`~customer_analytics.clean.rule_engine.Rule` and the
:class:`~customer_analytics.clean.rule_engine.CleanContext` and returns an
:class:`~customer_analytics.clean.rule_engine.Outcome`; :mod:`.rules` registers them.
The channels a shop messages or pays on are data (``reference/channels.csv``).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from customer_analytics.clean.experiment_rules import parse_time
from customer_analytics.clean.rule_engine import CleanContext, Outcome, Rule, RuleFunction


def sent_timestamp(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """When the message was sent, into UTC; a missing or unreadable one fails (a message
    that cannot be placed in time cannot be set before an order)."""
    return parse_time(t, rule, ctx, blank_ok=False)


def touch_timestamp(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """When the message was opened or clicked, into UTC; blank is "not opened" or "not
    clicked", an unreadable value fails."""
    return parse_time(t, rule, ctx, blank_ok=True)


def unknown_channel(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """A channel (after ``channel_spelling``) not in ``reference/channels.csv``: its cost
    and touches could be credited to nothing."""
    if "channel" not in t.columns:
        return Outcome(t)
    known = ctx.reference["channels"].channel.cast(dt.string).execute().tolist()
    channel = t.channel.cast(dt.string)
    return Outcome(
        t,
        hit=~channel.isin(known).fill_null(False),
        detail="channel '" + channel.fill_null("") + "' is not in reference/channels.csv",
    )


def touch_before_send(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Opened or clicked before it was sent: one of the times is wrong, and the message
    cannot be placed in a journey. Both times are in the detail."""
    if not {"sent_ts_utc", "opened_ts_utc", "clicked_ts_utc"} <= set(t.columns):
        return Outcome(t)
    opened = t.opened_ts_utc.notnull() & (t.opened_ts_utc < t.sent_ts_utc)
    clicked = t.clicked_ts_utc.notnull() & (t.clicked_ts_utc < t.sent_ts_utc)
    detail = ibis.cases(
        (clicked, "clicked " + t.clicked_ts_utc.cast(dt.string)),
        else_="opened " + t.opened_ts_utc.cast(dt.string),
    )
    return Outcome(
        t, hit=opened | clicked, detail=detail + ", sent " + t.sent_ts_utc.cast(dt.string)
    )


def negative_cost(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """A cost below zero (a refund or credit booked as a message or a week's spend)."""
    if "cost" not in t.columns:
        return Outcome(t)
    cost = t.cost.try_cast(dt.float64)
    return Outcome(t, hit=(cost < 0).fill_null(False), detail="cost " + t.cost.cast(dt.string))


FUNCTIONS: dict[str, RuleFunction] = {
    "sent_timestamp": sent_timestamp,
    "opened_timestamp": touch_timestamp,
    "clicked_timestamp": touch_timestamp,
    "unknown_channel": unknown_channel,
    "touch_before_send": touch_before_send,
    "negative_cost": negative_cost,
}
