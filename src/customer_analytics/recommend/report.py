"""What the 08_recommend notebook shows: the choice in plain language, every candidate's
test metrics with intervals, the lift over the baselines and the metrics by group."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from pandas.io.formats.style import Styler

from customer_analytics.recommend.candidates import BASELINES
from customer_analytics.report import plots

#: The columns of the metrics table, with their headers.
COLUMNS = {
    "hr_at_10": "HR@10",
    "ndcg_at_10": "NDCG@10",
    "map_at_10": "MAP@10",
    "recall_at_20": "recall@20",
    "revenue_hit_rate": "revenue hit rate",
    "coverage": "coverage",
    "novelty": "novelty (bits)",
    "validation_ndcg_at_10": "NDCG@10 (validation)",
}


def recommend_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the recommendation stage for the run's index page."""
    chosen = found["chosen"]
    if "not_evaluated" in found:
        return [f"{_not_evaluated(found)} The picks come from it."]
    test = found["customers"]["test"]
    model = found["models"][chosen]
    lines = [
        f"{found['chosen_reason'][0].upper()}{found['chosen_reason'][1:]}.",
        f"On the last {found['windows']['test']['days']} days, {test['evaluated']:,} returning "
        f"buyers found a product they went on to buy in its top 10 picks "
        f"{model['hr_at_10']:.0%} of the time (NDCG@10 {model['ndcg_at_10']:.3f}, "
        f"95% interval {model['ndcg_at_10_low']:.3f}-{model['ndcg_at_10_high']:.3f}).",
    ]
    for baseline, diff in found["vs_baselines"].items():
        verdict = (
            "beats"
            if diff["ndcg_at_10_diff_low"] > 0
            else "loses to"
            if diff["ndcg_at_10_diff_high"] < 0
            else "cannot be told apart from"
        )
        lines.append(
            f"It {verdict} {baseline} (NDCG@10 difference {diff['ndcg_at_10_diff']:+.3f}, "
            f"{diff['ndcg_at_10_diff_low']:+.3f} to {diff['ndcg_at_10_diff_high']:+.3f})."
        )
    lines.append(
        f"Not evaluated: {test['new_customers']:,} first-time buyers of the window and "
        f"{test['only_new_products']:,} who bought only products new in it."
    )
    carts = found.get("carts_bought_later")
    if carts and carts["products"]:
        lines.append(
            f"Of {carts['products']:,} products customers left in a cart before the test "
            f"window and bought in it, {chosen} ranked {carts[chosen]:.0%} in its top 10 "
            f"(buy-again {carts['buy_again']:.0%})."
        )
    if "truth" in found:
        truth = found["truth"]
        lines.append(
            f"Against the synthetic shop's planted item structure: {chosen} reaches "
            f"{truth['share_of_planted'][chosen]:.0%} of the NDCG@10 of a ranking that knows "
            f"each customer's planted affinities ({truth['planted_ndcg_at_10']:.3f}), "
            f"popularity {truth['share_of_planted']['popular']:.0%}; "
            f"{truth['pair_precision_at_20']:.0%} of the top 20 pairs bought together are "
            f"planted pairs (ranking by orders together: "
            f"{truth['pair_precision_at_20_co_popularity']:.0%})."
        )
    return lines


def scores_table(scores: pd.DataFrame, found: dict[str, Any]) -> Styler | Markdown:
    """Every candidate's test metrics (with the interval of NDCG@10) and its validation
    NDCG@10, baselines marked; or why there are none."""
    if scores.empty:
        return Markdown(_not_evaluated(found))
    table = scores.set_index("model")
    shown = table[list(COLUMNS)].rename(columns=COLUMNS)
    shown.insert(
        2,
        "NDCG@10 95% interval",
        [
            f"{lo:.3f}-{hi:.3f}"
            for lo, hi in zip(table["ndcg_at_10_low"], table["ndcg_at_10_high"], strict=True)
        ],
    )
    shown.index = [f"{m} (baseline)" if m in BASELINES else m for m in shown.index]
    return shown.style.format(precision=3)


def scores_figure(scores: pd.DataFrame, chosen: str) -> plt.Figure:
    """NDCG@10 on the test window per candidate with its 95% interval, the chosen one
    highlighted."""
    table = scores.set_index("model").sort_values("ndcg_at_10")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.2))
    if table.empty:
        ax.text(0.5, 0.5, "No candidate could be evaluated", ha="center", va="center")
        ax.set_axis_off()
        return fig
    colours = [plots.PALETTE[1] if m == chosen else plots.PALETTE[0] for m in table.index]
    err = [
        table["ndcg_at_10"] - table["ndcg_at_10_low"],
        table["ndcg_at_10_high"] - table["ndcg_at_10"],
    ]
    ax.barh(table.index, table["ndcg_at_10"], xerr=err, color=colours, capsize=3)
    ax.set_xlabel("NDCG@10 on the test window (95% bootstrap interval)")
    ax.set_title("Every candidate on the same customers")
    return fig


def lift_table(found: dict[str, Any]) -> Styler | Markdown:
    """The chosen model's NDCG@10 difference from each baseline, with its paired interval."""
    if not found["vs_baselines"]:
        return Markdown(_not_evaluated(found))
    rows = {
        baseline: {
            "difference": d["ndcg_at_10_diff"],
            "95% interval": f"{d['ndcg_at_10_diff_low']:+.4f} to {d['ndcg_at_10_diff_high']:+.4f}",
        }
        for baseline, d in found["vs_baselines"].items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table.rename_axis(f"{found['chosen']} against").style.format({"difference": "{:+.4f}"})


def group_table(by_group: pd.DataFrame, found: dict[str, Any]) -> Styler | Markdown:
    """NDCG@10 by group: the chosen model beside each baseline."""
    if by_group.empty:
        return Markdown(_not_evaluated(found))
    chosen = found["chosen"]
    models = [chosen, *[b for b in BASELINES if b != chosen]]
    table = by_group[by_group["model"].isin(models)]
    wide = table.pivot(index="group", columns="model", values="ndcg_at_10")[models]
    wide.insert(0, "customers", table.groupby("group")["customers"].first())
    return wide.style.format(precision=3)


def tuning_table(tuning: pd.DataFrame, found: dict[str, Any]) -> Styler | Markdown:
    """Every setting tried with its validation NDCG@10."""
    if tuning.empty:
        return Markdown(_not_evaluated(found))
    return tuning.style.format({"ndcg_at_10": "{:.4f}"}).hide(axis="index")


def _not_evaluated(found: dict[str, Any]) -> str:
    return f"Not evaluated: {found['chosen']} is {found['chosen_reason']}."


def key_figures_text(found: dict[str, Any]) -> str:
    """The windows, the customers evaluated, the choice and its test NDCG@10."""
    test, validation = found["windows"]["test"], found["windows"]["validation"]
    if "not_evaluated" in found:
        return "\n".join(
            [
                f"as of {found['as_of']}",
                f"validation: {validation['days']} days from {validation['start']}",
                f"test: {test['days']} days from {test['start']}",
                f"not evaluated: {found['not_evaluated']}",
                f"picks from: {found['chosen']} (the fallback)",
            ]
        )
    model = found["models"][found["chosen"]]
    return "\n".join(
        [
            f"as of {found['as_of']}: {found['products']:,} products bought before the test window",
            f"validation: {validation['days']} days from {validation['start']}, "
            f"{found['customers']['validation']['evaluated']:,} customers evaluated",
            f"test: {test['days']} days from {test['start']}, "
            f"{found['customers']['test']['evaluated']:,} customers evaluated",
            f"chosen on validation: {found['chosen']}",
            f"test NDCG@10 {model['ndcg_at_10']:.4f} "
            f"({model['ndcg_at_10_low']:.4f}-{model['ndcg_at_10_high']:.4f}), "
            f"HR@10 {model['hr_at_10']:.4f}",
        ]
    )


def activation_markdown(found: dict[str, Any]) -> str:
    """What the activation files hold, the consent they rest on, and how to use the cart
    list from a batch run."""
    lines = [f"- Consent: {found['consent']}"]
    if "picks" in found:
        by_reason = ", ".join(f"{n:,} {why}" for why, n in found["picks"]["by_reason"].items())
        lines.append(
            f"- `activation/picks.csv`: {found['picks']['customers']:,} customers' picks "
            f"({by_reason})."
        )
    files = found["activation_files"]
    lines.append(
        f"- `activation/also_bought.csv`: {files['also_bought.csv']:,} product pairs bought "
        "together, with support, confidence, lift and log-likelihood ratio (the ranking); "
        "`activation/persona_products.csv`: "
        "the products to feature per persona."
    )
    carts = found["cart_reminders"]
    if isinstance(carts, str):
        lines.append(f"- Cart reminders: none, {carts}.")
    else:
        lines.append(
            f"- `activation/cart_reminders.csv`: {carts.get('customers_to_remind', 0):,} "
            f"consenting customers left a cart in the last {carts['hours']} hours before "
            f"as_of without buying it ({carts['customers_with_carts_left']:,} in all). "
            "A batch run cannot remind in real time: this list is its batch equivalent, as "
            f"fresh as the run, so run the report at least every {carts['hours']} hours "
            "(README: Scheduled runs) and send at each customer's best hour."
        )
    return "\n".join(lines)


def examples_table(found: dict[str, Any]) -> pd.DataFrame:
    """The example customers: what they bought lately and their first picks with reasons."""
    rows = [
        {
            "customer": example["customer_id"],
            "orders": example["orders"],
            "bought lately": ", ".join(example["recent_categories"]),
            "pick": f"{pick['product_id']} ({pick['category']})"
            if pick["category"]
            else pick["product_id"],
            "why": pick["reason"],
        }
        for example in found.get("examples", [])
        for pick in example["picks"]
    ]
    return pd.DataFrame(rows, columns=["customer", "orders", "bought lately", "pick", "why"])


def persona_products_table(found: dict[str, Any]) -> pd.DataFrame:
    """The five products to feature per persona."""
    return pd.DataFrame(
        {persona: ids + [""] * (5 - len(ids)) for persona, ids in found["persona_products"].items()}
    ).rename(index=lambda i: i + 1)


def planted_markdown(found: dict[str, Any]) -> str:
    """Each candidate's share of the planted ranking's NDCG@10 and the pairs' precision,
    or why there is nothing to check."""
    if "truth" not in found:
        return (
            "This shop has no planted truth (only the synthetic shop has): the models are "
            "checked against the test window and the baselines above."
        )
    truth = found["truth"]
    rows = "\n".join(
        f"| {name} | {share:.0%} |" for name, share in truth["share_of_planted"].items()
    )
    return (
        f"A ranking that knows each customer's planted favourites, brands, staples and the "
        f"products' popularity reaches NDCG@10 {truth['planted_ndcg_at_10']:.3f} on the test "
        "window. Each candidate's share of it:\n\n| model | share |\n|---|---|\n"
        f"{rows}\n\nOf the top 20 pairs of `also_bought.csv` (by log-likelihood ratio), "
        f"{truth['pair_precision_at_20']:.0%} are among the {truth['planted_pairs']} planted "
        f"pairs; the top 20 by orders together, {truth['pair_precision_at_20_co_popularity']:.0%}."
    )
