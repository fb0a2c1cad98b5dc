"""The functions behind the rule names in ``rules.yaml``, as Ibis expressions.

Each takes the table so far, its :class:`~customer_analytics.clean.rule_engine.Rule` and the
:class:`~customer_analytics.clean.rule_engine.CleanContext`, and returns an
:class:`~customer_analytics.clean.rule_engine.Outcome`.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from customer_analytics.clean import experiment_rules, message_rules
from customer_analytics.clean.rule_engine import CleanContext, Outcome, Rule, RuleFunction
from customer_analytics.pipeline import engine
from customer_analytics.utils.text import is_blank, strip
from customer_analytics.utils.timestamps import with_utc


def _applies(t: ibis.Table, rule: Rule, ctx: CleanContext, *columns: str) -> bool:
    """Whether an order rule applies here: its columns exist, and on lines only when
    the source is line-level (with an orders table the order itself was judged)."""
    if any(c not in t.columns for c in columns):
        return False
    return not (rule.table == "order_items" and "orders" in ctx.done)


def _payload(table: ibis.Table) -> list[str]:
    """The columns as delivered (no bookkeeping)."""
    return [c for c in table.columns if not c.startswith("_")]


def exact_duplicate(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Every copy but the first (by ``_row``) of a row repeated in every delivered column."""
    cols = _payload(t)
    # Rows are grouped by a 64-bit hash of all their columns first: only rows whose hash
    # repeats (true copies, and the rare collision) are then compared column by column.
    # Grouping ten million rows by every text column instead takes several times longer.
    # The hash is computed twice rather than shared: a shared table would be held in
    # memory with every column of every row (ten million lines: 3.6 CPU seconds).
    row_hash = engine.hash64({c: t[c] for c in cols}, t.get_backend())
    hashes = t.select(_hash=row_hash)
    repeated = hashes.group_by("_hash").aggregate(_copies=hashes.count())
    hashed = t.select("_row", *cols, _hash=row_hash)
    candidates = hashed.semi_join(repeated.filter(repeated._copies > 1), "_hash")
    first = candidates.select(
        "_row", _first=candidates._row.min().over(group_by=[candidates[c] for c in cols])
    )
    joined = t.left_join(first, "_row").select(*t.columns, "_first")
    return Outcome(
        joined,
        hit=joined._first.notnull() & (joined._row != joined._first),
        detail="copy of row " + joined._first.cast(dt.string),
    )


def _listed(ctx: CleanContext, reference: str, column: str) -> list[str]:
    """A small reference table's column as literals: an IN list is checked inline, where a
    subquery becomes a join each time the rule's result is used."""
    return ctx.reference[reference][column].cast(dt.string).execute().tolist()


def test_account(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "email_domain" in t.columns:
        return Outcome(t, hit=t.email_domain.isin(_listed(ctx, "test_email_domains", "domain")))
    customers = ctx.done.get("customers")
    if customers is None or "customer_id" not in t.columns:
        return Outcome(t)
    tests = (
        customers["quarantine"].filter(customers["quarantine"]._rule == "test_account").customer_id
    )
    return Outcome(t, hit=t.customer_id.isin(tests))


def not_a_number(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Values that should be numbers and are not; the first such column and value are kept.

    DuckDB's ``TRY_CAST`` reads a number padded with ASCII whitespace, so values are
    not stripped first (stripping ten million values cost more than the casts).
    """
    bad = [
        (c, t[c].notnull() & t[c].try_cast(dt.float64).isnull())
        for c in rule.params.get("columns", [])
        if c in t.columns and t[c].type().is_string()
    ]
    if not bad:
        return Outcome(t)
    hit = ibis.or_(*[b for _, b in bad]) if len(bad) > 1 else bad[0][1]
    detail = ibis.cases(
        *[(b, f"{c}=" + t[c].cast(dt.string)) for c, b in bad], else_=ibis.null().cast(dt.string)
    )
    return Outcome(t, hit=hit, detail=detail)


def guest_order(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if not _applies(t, rule, ctx, "customer_id"):
        return Outcome(t)
    return Outcome(t, hit=is_blank(t.customer_id))


def _timestamp_fix(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    column = rule.params["column"]
    if not _applies(t, rule, ctx, column):
        return Outcome(t)
    t, fixed = with_utc(t, column, ctx.timezone)
    # A missing timestamp fails too: no order or sign-up can be placed in time without it.
    return Outcome(t, hit=t[f"{column}_utc"].isnull(), fixed=fixed)


signup_timestamp = _timestamp_fix
order_timestamp = _timestamp_fix


def feedback_timestamp(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """When a review was written or a return logged, into UTC; a blank one is kept (the
    text and rating still count, with no date to leave them out by), an unreadable one
    fails."""
    return experiment_rules.parse_time(t, rule, ctx, blank_ok=True)


def after_data_end(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if ctx.data_end is None or not _applies(t, rule, ctx, "order_ts_utc"):
        return Outcome(t)
    return Outcome(t, hit=t.order_ts_utc > ctx.data_end)


def event_after_data_end(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if ctx.data_end is None:
        return Outcome(t)
    return Outcome(t, hit=t.event_ts.cast(dt.timestamp) > ctx.data_end)


def _is_cancellation(t: ibis.Table) -> ibis.Value:
    by_id = t.order_id.startswith("C")
    return (t.status.lower() == "cancelled") | by_id if "status" in t.columns else by_id


def cancellation(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Cancellations, each matched to the purchase it cancels where that is in the data."""
    if not _applies(t, rule, ctx, "order_id"):
        return Outcome(t)
    no_text = ibis.null().cast(dt.string)
    # Purchases are looked up among the rows as delivered: read from the rules' result,
    # that result would be computed twice or held in memory whole.
    source = ctx.as_delivered(t)
    if "original_order_id" in t.columns:  # the export names the original order
        marked = t.mutate(_target=t.original_order_id.nullif(""), _part=no_text)
        # Without the nulls DuckDB sees how few they are and builds its lookup from them,
        # not from every purchase (4.3 million orders: 0.6 against 1.1 CPU seconds).
        targets = source.filter(source.original_order_id.notnull()).original_order_id
    elif {"customer_id", "product_id", "quantity", "order_ts"} <= set(t.columns):
        t = ctx.materialised(t)  # read three times below
        found = _cancelled_purchase(t)
        marked = t.left_join(found, "_row").select(
            *t.columns, _target=found._found, _part=found._part
        )
        targets = found._found
    else:  # nothing names the original order
        marked = t.mutate(_target=no_text, _part=no_text)
        targets = None
    if targets is None:
        joined = marked.mutate(_matched=no_text)
    else:
        # Only the orders some cancellation names, not every purchase.
        purchases = source.filter(~_is_cancellation(source) & source.order_id.isin(targets))
        purchases = purchases.select(_matched=purchases.order_id).distinct()
        joined = marked.left_join(purchases, marked._target == purchases._matched).select(
            *marked.columns, "_matched"
        )
    detail = ibis.ifelse(
        joined._matched.notnull(),
        "cancels " + joined._part.fill_null("") + joined._target,
        "original purchase not in the data",
    )
    return Outcome(joined, hit=_is_cancellation(joined), detail=detail)


def _cancelled_purchase(t: ibis.Table) -> ibis.Table:
    """For line-level exports whose cancellations have their own invoice numbers (Online
    Retail): the purchase line of the same customer and product, placed before it, that
    it cancels.

    The latest earlier line of the same quantity (a whole line cancelled) is preferred;
    otherwise the latest earlier line of a larger quantity (part of it cancelled, named
    as ``3 of 12 from <invoice>``); of one invoice's lines, the last delivered. A cancellation larger than every earlier line (it
    spans several purchases, or one from before the data starts) stays unmatched.
    """
    quantity = t.quantity.try_cast(dt.int64)
    cancels = t.filter(_is_cancellation(t)).select(
        "_row",
        c_customer=t.customer_id,
        c_product=t.product_id,
        c_quantity=-quantity,
        c_ts=t.order_ts,
    )
    buys = t.filter(~_is_cancellation(t) & (quantity > 0)).select(
        b_customer=t.customer_id,
        b_product=t.product_id,
        b_quantity=quantity,
        b_ts=t.order_ts,
        b_order=t.order_id,
        b_row=t._row,
    )
    pairs = cancels.join(
        buys,
        [
            cancels.c_customer == buys.b_customer,
            cancels.c_product == buys.b_product,
            cancels.c_quantity <= buys.b_quantity,
            buys.b_ts <= cancels.c_ts,
        ],
    )
    whole = pairs.c_quantity == pairs.b_quantity
    # The last key settles an invoice with two lines of the product at one time: without
    # it DuckDB and Spark chose different ones.
    best = ibis.row_number().over(
        group_by=pairs._row,
        order_by=[ibis.desc(whole), ibis.desc(pairs.b_ts), pairs.b_order, ibis.desc(pairs.b_row)],
    )
    chosen = pairs.filter(best == 0)
    part = chosen.c_quantity.cast(dt.string) + " of " + chosen.b_quantity.cast(dt.string) + " from "
    partial = chosen.c_quantity != chosen.b_quantity
    return chosen.select("_row", _found=chosen.b_order, _part=ibis.ifelse(partial, part, None))


def return_order(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "status" not in t.columns:
        return Outcome(t)
    t = t.mutate(is_return=(t.status.lower() == "returned") | t.order_id.startswith("R"))
    return Outcome(t, fixed=t.is_return)


def bad_debt_adjustment(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if not _applies(t, rule, ctx, "order_id"):
        return Outcome(t)
    return Outcome(t, hit=t.order_id.startswith("A"))


def non_product(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "product_id" not in t.columns:
        return Outcome(t)
    codes = _listed(ctx, "non_product_codes", "code")
    return Outcome(t, hit=strip(t.product_id).isin(codes), detail="code " + t.product_id)


def negative_quantity(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if not _applies(t, rule, ctx, "quantity"):
        return Outcome(t)
    return Outcome(t, hit=t.quantity.try_cast(dt.int64) < 0)


def order_quarantined(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "orders" not in ctx.done:
        return Outcome(t)
    kept, quarantine = ctx.done["orders"]["kept"], ctx.done["orders"]["quarantine"]
    set_aside = quarantine.group_by("order_id").aggregate(
        _order_rule=quarantine._rule.argmin(quarantine._row)
    )
    # An order id with a kept row (the first of two copies) is not gone. The few set-aside
    # ids are looked up among the kept ones, rather than every kept id listed.
    also_kept = kept.filter(kept.order_id.isin(set_aside.order_id)).select("order_id")
    gone = set_aside.anti_join(also_kept, "order_id")
    joined = t.left_join(gone, "order_id").select(*t.columns, "_order_rule")
    return Outcome(joined, hit=joined._order_rule)


def _price(t: ibis.Table) -> ibis.Value:
    return t.unit_price.try_cast(dt.float64)


def zero_price(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    zero = (_price(t) == 0) & (t.quantity.try_cast(dt.int64) > 0)
    if ctx.settings.keep_zero_price:
        t = t.mutate(is_free=zero)
        return Outcome(t, fixed=t.is_free)
    return Outcome(t, hit=zero)


def negative_price(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    return Outcome(t, hit=_price(t) < 0)


def wholesale_outlier(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    big = t.quantity.try_cast(dt.int64) >= ctx.settings.wholesale_quantity
    if ctx.settings.keep_wholesale:
        t = t.mutate(is_wholesale=big)
        return Outcome(t, fixed=t.is_wholesale)
    return Outcome(t, hit=big)


def _spelling(t: ibis.Table, column: str, reference: ibis.Table) -> Outcome:
    ref = reference.select(
        _variant=strip(reference.variant).lower(), _canonical=reference[column]
    ).distinct()
    key = strip(t[column]).lower()
    joined = t.mutate(_variant=key).left_join(ref, "_variant").select(*t.columns, "_canonical")
    marked = joined.mutate(
        _was_fixed=joined._canonical.notnull() & (joined._canonical != joined[column])
    )
    out = marked.mutate(**{column: marked._canonical.fill_null(marked[column])}).drop("_canonical")
    return Outcome(out, fixed=out._was_fixed)


def city_spelling(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "city" not in t.columns:
        return Outcome(t)
    return _spelling(t, "city", ctx.reference["cities"])


def country_spelling(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    if "country" not in t.columns:
        return Outcome(t)
    return _spelling(t, "country", ctx.reference["countries"])


def channel_spelling(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """A marketing channel trimmed, lower-cased and its alias named (``e-mail``: email)."""
    if "channel" not in t.columns:
        return Outcome(t)
    return _spelling(t, "channel", ctx.reference["channels"])


def identity_merged(t: ibis.Table, rule: Rule, ctx: CleanContext) -> Outcome:
    """Accounts of one person (same pseudonymised e-mail or phone) merge into the oldest."""
    from customer_analytics.clean.identity import resolve

    keys = [k for k in ctx.settings.identity_keys if k in t.columns]
    if not keys:
        return Outcome(t)
    t = ctx.materialised(t)  # read by every round of the resolution and by the join below
    alive = t.filter(t._rule.isnull())
    mapping = resolve(alive.select("customer_id", "signup_ts_utc", *keys), keys, ctx.materialised)
    ctx.artifacts["identity_map"] = mapping
    merged = mapping.select("customer_id", "merged_customer_id")
    joined = t.left_join(merged, "customer_id").select(*t.columns, "merged_customer_id")
    joined = joined.mutate(
        merged_customer_id=joined.merged_customer_id.fill_null(joined.customer_id)
    )
    return Outcome(joined, hit=joined.merged_customer_id != joined.customer_id)


def _functions(namespace: dict) -> dict[str, RuleFunction]:
    """The public rule functions defined in a module's namespace, by name."""
    module = namespace["__name__"]
    return {
        name: fn
        for name, fn in namespace.items()
        if callable(fn) and not name.startswith("_") and getattr(fn, "__module__", "") == module
    }


#: Every rule function by the name ``rules.yaml`` uses, the experiment tables' included.
FUNCTIONS: dict[str, RuleFunction] = {
    **_functions(globals()),
    **experiment_rules.FUNCTIONS,
    **message_rules.FUNCTIONS,
}
