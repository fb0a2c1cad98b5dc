"""What the 08_recommend notebook shows: the choice in plain language, every candidate's
test metrics with intervals, the lift over the baselines and the metrics by group.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. Models
are named by :func:`customer_analytics.recommend.stage.model_name` (their ids on the
English page), personas by the names 06_personas composed in each language, product
categories in the tag dictionary's words.
"""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats
from customer_analytics.personas.tags import TagDictionary
from customer_analytics.recommend.activation import (
    ALSO_BOUGHT,
    BOUGHT_BEFORE,
    DUE_AGAIN,
    LEFT_IN_CART,
    POPULAR,
    POPULAR_PERSONA,
)
from customer_analytics.recommend.candidates import BASELINES
from customer_analytics.recommend.stage import model_name
from customer_analytics.report import plots

#: The columns of the metrics table, with their headers.
COLUMNS = {
    "hr_at_10": N_("HR@10"),
    "ndcg_at_10": N_("NDCG@10"),
    "map_at_10": N_("MAP@10"),
    "recall_at_20": N_("recall@20"),
    "revenue_hit_rate": N_("revenue hit rate"),
    "coverage": N_("coverage"),
    "novelty": N_("novelty (bits)"),
    "validation_ndcg_at_10": N_("NDCG@10 (validation)"),
}
#: The reasons a pick gives (the activation file's words).
REASONS = {
    BOUGHT_BEFORE: N_("bought it before"),
    DUE_AGAIN: N_("bought it before, due again"),
    LEFT_IN_CART: N_("left it in the cart"),
    ALSO_BOUGHT: N_("customers who bought one of theirs also bought it"),
    POPULAR_PERSONA: N_("popular in your persona"),
    POPULAR: N_("popular now"),
}
_ALSO = ("customers who bought ", " also bought it")
#: Groups of the by-group table that are not personas.
GROUPS = {"one order": N_("one order"), "all": N_("all")}


def _model(name: str, *, baseline: bool = False) -> str:
    shown = model_name(name)
    return _("{model} (baseline)").format(model=shown) if baseline else shown


def _persona(found: dict[str, Any], name: str) -> str:
    """A persona (or group) as the current language names it."""
    if name in GROUPS:
        return _(GROUPS[name])
    if name.startswith("group ") and name[6:].isdigit():
        return _("group {number}").format(number=name[6:])
    words = found.get("persona_words", {}).get(name, {})
    return i18n.word({"name": name, **words}, "name", what=f"persona {name}")


def _interval(low: float, high: float, digits: int = 3, sign: bool = False) -> str:
    def n(v: float) -> str:
        text = formats.number(v, digits)
        return f"+{text}" if sign and v >= 0 else text

    return _("{low} to {high}").format(low=n(low), high=n(high))


def recommend_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the recommendation stage for the run's index page."""
    chosen = found["chosen"]
    if "not_evaluated" in found:
        return [_("{why} The picks come from it.").format(why=_not_evaluated(found))]
    test = found["customers"]["test"]
    model = found["models"][chosen]
    lines = [
        _chosen_reason(found),
        _(
            "On the last {days} days, {buyers} returning buyers found a product they went on "
            "to buy in its top 10 picks {hit} of the time (NDCG@10 {ndcg}, 95% interval "
            "{interval})."
        ).format(
            days=formats.number(found["windows"]["test"]["days"]),
            buyers=formats.number(test["evaluated"]),
            hit=formats.percent(model["hr_at_10"], 0),
            ndcg=formats.number(model["ndcg_at_10"], 3),
            interval=_interval(model["ndcg_at_10_low"], model["ndcg_at_10_high"]),
        ),
    ]
    for baseline, diff in found["vs_baselines"].items():
        if diff["ndcg_at_10_diff_low"] > 0:
            verdict = N_("It beats {baseline} (NDCG@10 difference {diff}, {interval}).")
        elif diff["ndcg_at_10_diff_high"] < 0:
            verdict = N_("It loses to {baseline} (NDCG@10 difference {diff}, {interval}).")
        else:
            verdict = N_(
                "It cannot be told apart from {baseline} (NDCG@10 difference {diff}, {interval})."
            )
        lines.append(
            _(verdict).format(
                baseline=model_name(baseline),
                diff=_signed(diff["ndcg_at_10_diff"], 3),
                interval=_interval(
                    diff["ndcg_at_10_diff_low"], diff["ndcg_at_10_diff_high"], sign=True
                ),
            )
        )
    lines.append(
        _(
            "Not evaluated: {new} first-time buyers of the window and {only_new} who bought "
            "only products new in it."
        ).format(
            new=formats.number(test["new_customers"]),
            only_new=formats.number(test["only_new_products"]),
        )
    )
    carts = found.get("carts_bought_later")
    if carts and carts["products"]:
        lines.append(
            _(
                "Of {products} products customers left in a cart before the test window and "
                "bought in it, {model} ranked {share} in its top 10 (buy-again {again})."
            ).format(
                products=formats.number(carts["products"]),
                model=model_name(chosen),
                share=formats.percent(carts[chosen], 0),
                again=formats.percent(carts["buy_again"], 0),
            )
        )
    if "truth" in found:
        truth = found["truth"]
        lines.append(
            _(
                "Against the synthetic shop's planted item structure: {model} reaches {share} "
                "of the NDCG@10 of a ranking that knows each customer's planted affinities "
                "({planted}), popularity {popular_share}; {pairs} of the top 20 pairs bought "
                "together are planted pairs (ranking by orders together: {co})."
            ).format(
                model=model_name(chosen),
                share=formats.percent(truth["share_of_planted"][chosen], 0),
                planted=formats.number(truth["planted_ndcg_at_10"], 3),
                popular_share=formats.percent(truth["share_of_planted"]["popular"], 0),
                pairs=formats.percent(truth["pair_precision_at_20"], 0),
                co=formats.percent(truth["pair_precision_at_20_co_popularity"], 0),
            )
        )
    return lines


def _signed(value: float, digits: int) -> str:
    text = formats.number(value, digits)
    return f"+{text}" if value >= 0 else text


def _chosen_reason(found: dict[str, Any]) -> str:
    """Why the chosen model was chosen: the validation NDCG@10 of it and of the next."""
    validation = found.get("validation_ndcg_at_10") or {}
    chosen = found["chosen"]
    ranked = [name for name, _score in sorted(validation.items(), key=lambda kv: -kv[1])]
    runner = next((name for name in ranked if name != chosen), None)
    if chosen not in validation or runner is None:
        return found["chosen_reason"][0].upper() + found["chosen_reason"][1:] + "."
    reason = _(
        "{model} had the highest NDCG@10 on the validation window ({score}; next "
        "{runner}, {runner_score})."
    ).format(
        model=model_name(chosen),
        score=formats.number(validation[chosen], 3),
        runner=model_name(runner),
        runner_score=formats.number(validation[runner], 3),
    )
    return reason[:1].upper() + reason[1:]


def scores_table(scores: pd.DataFrame, found: dict[str, Any]) -> Styler | str:
    """Every candidate's test metrics (with the interval of NDCG@10) and its validation
    NDCG@10, baselines marked; or why there are none."""
    if scores.empty:
        return _not_evaluated(found)
    table = scores.set_index("model")
    names = {key: _(label) for key, label in COLUMNS.items()}
    shown = table[list(COLUMNS)].rename(columns=names)
    shown.insert(
        2,
        _("NDCG@10 95% interval"),
        [
            _interval(lo, hi)
            for lo, hi in zip(table["ndcg_at_10_low"], table["ndcg_at_10_high"], strict=True)
        ],
    )
    shown.index = [_model(m, baseline=m in BASELINES) for m in shown.index]
    shown = shown.rename_axis(_("model"))
    numeric = [names[key] for key in COLUMNS]
    return shown.style.format(lambda v: formats.number(v, 3), subset=numeric)


def scores_figure(scores: pd.DataFrame, chosen: str) -> plt.Figure:
    """NDCG@10 on the test window per candidate with its 95% interval, the chosen one
    highlighted."""
    table = scores.set_index("model").sort_values("ndcg_at_10")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.2))
    if table.empty:
        ax.text(0.5, 0.5, _("No candidate could be evaluated"), ha="center", va="center")
        ax.set_axis_off()
        return fig
    colours = [plots.PALETTE[1] if m == chosen else plots.PALETTE[0] for m in table.index]
    err = [
        table["ndcg_at_10"] - table["ndcg_at_10_low"],
        table["ndcg_at_10_high"] - table["ndcg_at_10"],
    ]
    labels = [model_name(m) for m in table.index]
    ax.barh(labels, table["ndcg_at_10"], xerr=err, color=colours, capsize=3)
    ax.xaxis.set_major_formatter(formats.axis("number", digits=2))
    ax.set_xlabel(_("NDCG@10 on the test window (95% bootstrap interval)"))
    ax.set_title(_("Every candidate on the same customers"))
    return fig


def lift_table(found: dict[str, Any]) -> Styler | str:
    """The chosen model's NDCG@10 difference from each baseline, with its paired interval."""
    if not found["vs_baselines"]:
        return _not_evaluated(found)
    difference, interval = _("difference"), _("95% interval")
    rows = {
        model_name(baseline): {
            difference: d["ndcg_at_10_diff"],
            interval: _interval(
                d["ndcg_at_10_diff_low"], d["ndcg_at_10_diff_high"], digits=4, sign=True
            ),
        }
        for baseline, d in found["vs_baselines"].items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    against = _("{model} against").format(model=model_name(found["chosen"]))
    return table.rename_axis(against).style.format({difference: lambda v: _signed(v, 4)})


def group_table(by_group: pd.DataFrame, found: dict[str, Any]) -> Styler | str:
    """NDCG@10 by group: the chosen model beside each baseline."""
    if by_group.empty:
        return _not_evaluated(found)
    chosen = found["chosen"]
    models = [chosen, *[b for b in BASELINES if b != chosen]]
    table = by_group[by_group["model"].isin(models)]
    wide = table.pivot(index="group", columns="model", values="ndcg_at_10")[models]
    customers = _("customers")
    wide.insert(0, customers, table.groupby("group")["customers"].first())
    wide = wide.rename(columns=model_name, index=lambda g: _persona(found, g))
    wide = wide.rename_axis(index=_("group"), columns=None)
    shown = [model_name(m) for m in models]
    return wide.style.format(lambda v: formats.number(v, 3), subset=shown).format(
        formats.number, subset=[customers]
    )


def tuning_table(tuning: pd.DataFrame, found: dict[str, Any]) -> Styler | str:
    """Every setting tried with its validation NDCG@10."""
    if tuning.empty:
        return _not_evaluated(found)
    names = {
        "model": _("model"),
        "params": _("setting"),
        "ndcg_at_10": _("NDCG@10 (validation)"),
    }
    shown = tuning.assign(
        model=tuning["model"].map(model_name),
        params=tuning["params"].map(
            lambda p: _("(none)") if p == "(none)" else f"<code>{html.escape(str(p))}</code>"
        ),
    ).rename(columns=names)
    return shown.style.format({names["ndcg_at_10"]: lambda v: formats.number(v, 4)}).hide(
        axis="index"
    )


def _not_evaluated(found: dict[str, Any]) -> str:
    return _("Not evaluated: {model} is {reason}.").format(
        model=model_name(found["chosen"]), reason=_fallback_reason(found)
    )


def _fallback_reason(found: dict[str, Any]) -> str:
    """Why the fallback was chosen (the windows' reason stays as the stage wrote it)."""
    if "not_evaluated" not in found:
        return found["chosen_reason"]
    return _(
        "recent popularity, the fallback: {reason}, so no model can be chosen or checked on "
        "evidence"
    ).format(reason=found["not_evaluated"])


def key_figures_text(found: dict[str, Any]) -> str:
    """The windows, the customers evaluated, the choice and its test NDCG@10 (a markdown
    list)."""
    test, validation = found["windows"]["test"], found["windows"]["validation"]
    date = formats.date
    if "not_evaluated" in found:
        lines = [
            _("as of {as_of}").format(as_of=date(found["as_of"])),
            _("validation: {days} days from {start}").format(
                days=formats.number(validation["days"]), start=date(validation["start"])
            ),
            _("test: {days} days from {start}").format(
                days=formats.number(test["days"]), start=date(test["start"])
            ),
            _("not evaluated: {reason}").format(reason=found["not_evaluated"]),
            _("picks from: {model} (the fallback)").format(model=model_name(found["chosen"])),
        ]
        return "\n".join(f"- {line}" for line in lines)
    model = found["models"][found["chosen"]]
    lines = [
        _("as of {as_of}: {products} products bought before the test window").format(
            as_of=date(found["as_of"]), products=formats.number(found["products"])
        ),
        _("validation: {days} days from {start}, {customers} customers evaluated").format(
            days=formats.number(validation["days"]),
            start=date(validation["start"]),
            customers=formats.number(found["customers"]["validation"]["evaluated"]),
        ),
        _("test: {days} days from {start}, {customers} customers evaluated").format(
            days=formats.number(test["days"]),
            start=date(test["start"]),
            customers=formats.number(found["customers"]["test"]["evaluated"]),
        ),
        _("chosen on validation: {model}").format(model=model_name(found["chosen"])),
        _("test NDCG@10 {ndcg} ({interval}), HR@10 {hr}").format(
            ndcg=formats.number(model["ndcg_at_10"], 4),
            interval=_interval(model["ndcg_at_10_low"], model["ndcg_at_10_high"], digits=4),
            hr=formats.number(model["hr_at_10"], 4),
        ),
    ]
    return "\n".join(f"- {line}" for line in lines)


def _consent(text: str) -> str:
    """The consent sentence of 06_personas (``reachable_customers``) in the current
    language."""
    known = {
        "marketing_consent column: only customers who consented on every account.": N_(
            "from the `marketing_consent` column: only customers who consented on every account."
        ),
    }
    if text in known:
        return _(known[text])
    basis = "no consent column; the config states the basis: "
    if text.startswith(basis):
        return _("no consent column; the config states the basis: {basis}").format(
            basis=text.removeprefix(basis)
        )
    return text


def activation_markdown(found: dict[str, Any]) -> str:
    """What the activation files hold, the consent they rest on, and how to use the cart
    list from a batch run."""
    lines = [_("Consent: {consent}").format(consent=_consent(found["consent"]))]
    if "picks" in found:
        by_reason = _(", ").join(
            _("{count} {reason}").format(count=formats.number(n), reason=_reason(why))
            for why, n in found["picks"]["by_reason"].items()
        )
        lines.append(
            _("`activation/picks.csv`: {customers} customers' picks ({by_reason}).").format(
                customers=formats.number(found["picks"]["customers"]), by_reason=by_reason
            )
        )
    files = found["activation_files"]
    lines.append(
        _(
            "`activation/also_bought.csv`: {pairs} product pairs bought together, with "
            "support, confidence, lift and log-likelihood ratio (the ranking); "
            "`activation/persona_products.csv`: the products to feature per persona."
        ).format(pairs=formats.number(files["also_bought.csv"]))
    )
    carts = found["cart_reminders"]
    if isinstance(carts, str):
        known = {
            "no web or app events: carts cannot be seen": N_(
                "no web or app events: carts cannot be seen"
            )
        }
        lines.append(_("Cart reminders: none, {why}.").format(why=_(known.get(carts, carts))))
    else:
        lines.append(
            _(
                "`activation/cart_reminders.csv`: {remind} consenting customers left a cart "
                "in the last {hours} hours before the analysis date without buying it ({all} "
                "in all). A batch run cannot remind in real time: this list is its batch "
                "equivalent, as fresh as the run, so run the report at least every {hours} "
                "hours (README: Scheduled runs) and send at each customer's best hour."
            ).format(
                remind=formats.number(carts.get("customers_to_remind", 0)),
                hours=formats.number(carts["hours"]),
                all=formats.number(carts["customers_with_carts_left"]),
            )
        )
    return "\n".join(f"- {line}" for line in lines)


def _reason(reason: str) -> str:
    """A pick's reason in the current language; "customers who bought X also bought it"
    keeps the product's name (or id) as it is."""
    if reason in REASONS:
        return _(REASONS[reason])
    if reason.startswith(_ALSO[0]) and reason.endswith(_ALSO[1]):
        product = reason.removeprefix(_ALSO[0]).removesuffix(_ALSO[1])
        return _("customers who bought {product} also bought it").format(
            product=f'<span translate="no">{html.escape(product)}</span>'
        )
    return html.escape(reason)


def _category(dictionary: TagDictionary, category: str) -> str:
    try:
        return dictionary["top_category"].value_word(category)
    except StopIteration:
        return category


def examples_table(found: dict[str, Any], dictionary: TagDictionary) -> Styler:
    """The example customers: what they bought lately and their first picks with reasons
    (product categories in the tag dictionary's words)."""
    names = {
        "customer": _("customer"),
        "orders": _("orders"),
        "bought lately": _("bought lately"),
        "pick": _("pick"),
        "why": _("why"),
    }

    def pick(p: dict[str, Any]) -> str:
        product = f"<code>{html.escape(p['product_id'])}</code>"
        if not p["category"]:
            return product
        return _("{product} ({category})").format(
            product=product, category=html.escape(_category(dictionary, p["category"]))
        )

    rows = [
        {
            names["customer"]: f"<code>{html.escape(example['customer_id'])}</code>",
            names["orders"]: formats.number(example["orders"]),
            names["bought lately"]: _(", ").join(
                html.escape(_category(dictionary, c)) for c in example["recent_categories"]
            ),
            names["pick"]: pick(p),
            names["why"]: _reason(p["reason"]),
        }
        for example in found.get("examples", [])
        for p in example["picks"]
    ]
    return pd.DataFrame(rows, columns=list(names.values())).style.hide(axis="index")


def persona_products_table(found: dict[str, Any]) -> Styler:
    """The five products to feature per persona."""
    table = pd.DataFrame(
        {
            _persona(found, persona): ids + [""] * (5 - len(ids))
            for persona, ids in found["persona_products"].items()
        }
    ).rename(index=lambda i: i + 1)
    return table.style.format(lambda v: f"<code>{html.escape(v)}</code>" if v else "")


def planted_markdown(found: dict[str, Any]) -> str:
    """Each candidate's share of the planted ranking's NDCG@10 and the pairs' precision,
    or why there is nothing to check."""
    if "truth" not in found:
        return _(
            "This shop has no planted truth (only the synthetic shop has): the models are "
            "checked against the test window and the baselines above."
        )
    truth = found["truth"]
    rows = "\n".join(
        f"| {model_name(name)} | {formats.percent(share, 0)} |"
        for name, share in truth["share_of_planted"].items()
    )
    model, share = _("model"), _("share")
    header = f"| {model} | {share} |\n|---|---|"
    return "\n\n".join(
        [
            _(
                "A ranking that knows each customer's planted favourites, brands, staples and "
                "the products' popularity reaches NDCG@10 {ndcg} on the test window. Each "
                "candidate's share of it:"
            ).format(ndcg=formats.number(truth["planted_ndcg_at_10"], 3)),
            f"{header}\n{rows}",
            _(
                "Of the top 20 pairs of `also_bought.csv` (by log-likelihood ratio), {share} "
                "are among the {planted} planted pairs; the top 20 by orders together, {co}."
            ).format(
                share=formats.percent(truth["pair_precision_at_20"], 0),
                planted=formats.number(truth["planted_pairs"]),
                co=formats.percent(truth["pair_precision_at_20_co_popularity"], 0),
            ),
        ]
    )
