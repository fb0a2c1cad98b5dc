"""What the 06_personas notebook shows: persona cards as HTML, and its findings in words.

Cards are plain HTML with the chart embedded as a ``data:`` URI, so the exported page
stays one offline file. Their look lives in ``report/templates/house.css``
(``.ca-card``).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from customer_analytics.personas.tags import TagDictionary
from customer_analytics.privacy import count_for_report, fewer_than, suppress_small_cells
from customer_analytics.report import plots
from customer_analytics.report.plots import PALETTE


def tag_chart(card: dict[str, Any]) -> bytes:
    """PNG of the persona's shown tags: its figure against the shop's average (1 = average)."""
    tags = [t for t in card["tags"] if t["value"] is not False and t["strength"] > 0]
    tags = sorted(tags, key=lambda t: t["strength"])[-7:]
    fig, ax = plt.subplots(figsize=(3.6, 0.35 * len(tags) + 0.7))
    strengths = [min(t["strength"], 6.0) for t in tags]
    colours = [PALETTE[0] if s >= 1 else PALETTE[1] for s in strengths]
    ax.barh([t["label"] for t in tags], strengths, color=colours)
    ax.axvline(1.0, color="#5b6774", linewidth=1, linestyle="--")
    ax.set_xlabel("x shop average", fontsize=8)
    ax.tick_params(labelsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def card_html(card: dict[str, Any], currency: str = "") -> str:
    """One persona card: name, size and value, tag line, the numbers behind the tags,
    who they are, what they buy, how and when, churn risk and what to do.

    Parameters
    ----------
    card
        A card of ``personas.json`` (:class:`customer_analytics.personas.cards.PersonaCard`).
    currency
        The shop's currency (``shop.currency``), written after money figures.
    """
    e = html.escape
    chart = base64.b64encode(tag_chart(card)).decode()
    clv = card["share_clv"]
    clv_text = f"{clv:.0%}" if isinstance(clv, float) else e(str(clv))
    numbers = "".join(
        f"<li><b>{e(t['label'])}</b>: {e(_figure(t, 'number', currency))} "
        f"<span class='ca-muted'>(shop {e(_figure(t, 'average', currency))})</span></li>"
        for t in card["tags"]
        if t["value"] is not False
    )
    worth = " · ".join(
        f"{e(key)}: {value:,.0f} {e(currency)}".strip() for key, value in card["value"].items()
    )
    actions = "".join(
        f"<li><b>{e(a['action'])}</b> · {e(a['detail'])}</li>" for a in card["actions"]
    )
    return f"""
<div class="ca-card">
  <h3>{e(card["name"])}</h3>
  <p class="ca-tagline">{e(card["tag_line"])}</p>
  <p class="ca-kpis"><b>{card["customers"]:,}</b> customers ({card["share_customers"]:.0%}) ·
     <b>{card["share_revenue"]:.0%}</b> of net revenue · <b>{clv_text}</b> of expected CLV</p>
  <img alt="tags against the shop average" src="data:image/png;base64,{chart}">
  <ul class="ca-facts">{numbers}</ul>
  <dl>
    <dt>Worth</dt><dd>{worth}</dd>
    <dt>Who</dt><dd>{_pairs(card["demographics"], percent=True)}</dd>
    <dt>Buys</dt><dd>{_pairs(card["categories"], percent=True)}</dd>
    <dt>Channels</dt><dd>{_pairs(card["channels"], percent=True)}</dd>
    <dt>Rhythm</dt><dd>{_pairs(card["rhythm"])}</dd>
    <dt>Churn risk</dt><dd>{_pairs(card["churn"], percent=True)}</dd>
  </dl>
  <p><b>Recommended</b></p><ul class="ca-actions">{actions}</ul>
</div>"""


def cards_html(cards: list[dict[str, Any]], currency: str = "") -> str:
    """All cards in a responsive grid."""
    return '<div class="ca-cards">' + "".join(card_html(c, currency) for c in cards) + "</div>"


def _figure(tag: dict[str, Any], key: str, currency: str) -> str:
    """The tag's number (or the shop's average) as its dictionary entry writes it."""
    value = tag[key]
    if tag.get("figure"):
        return tag["figure"].format(value, currency=currency).strip()
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"


def _pairs(value: dict[str, Any] | str, percent: bool = False) -> str:
    """``key: value`` pairs; with ``percent`` the floats (shares) as percentages."""
    if isinstance(value, str):
        return f"<span class='ca-muted'>{html.escape(value)}</span>"
    parts = []
    for key, v in value.items():
        shown = f"{v:.0%}" if percent and isinstance(v, float) else str(v)
        parts.append(f"{html.escape(str(key))}: {html.escape(shown)}")
    return " · ".join(parts)


def persona_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the personas stage for the run's index page: each
    persona with its size, share of net revenue and top three tags."""
    personas = found["personas"]
    if not personas:
        return ["No persona is large enough to describe."]
    lines = [
        f"{p['name']}: {p['customers']:,} buyers ({p['customer_share']:.0%}), "
        f"{p['revenue_share']:.0%} of net revenue"
        + (f"; {' · '.join(p['top_tags'][:3])}." if p["top_tags"] else ".")
        for p in personas
    ]
    if found["suppressed_groups"]:
        lines.append(
            f"{found['suppressed_groups']} group(s) under the privacy minimum are not shown."
        )
    lines.append(
        f"{found['persona_kept_share']:.0%} of customers who had bought by the snapshot "
        "kept their persona."
    )
    if found["audiences"]:
        rows = found["headline"]["Audience rows"]
        rows = f"{rows:,}" if isinstance(rows, int) else rows
        lines.append(
            f"{len(found['audiences'])} audience files with {rows} rows "
            "(consenting customers only)."
        )
    else:
        lines.append(found["audience_note"])
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """Each persona's size and value, suppressed groups, stability, audiences."""
    lines = [
        f"{p['name']}: {p['customers']:,} customers ({p['customer_share']:.1%}), "
        f"{p['revenue_share']:.1%} of revenue"
        for p in found["personas"]
    ]
    lines += [
        f"groups suppressed as too small: {found['suppressed_groups']}",
        f"kept their persona since the snapshot: {found['persona_kept_share']:.1%}",
        f"audience files: {len(found['audiences'])}, rows: {found['headline']['Audience rows']}",
    ]
    return "\n".join(lines)


def truth_table(truth: dict[str, Any]) -> pd.DataFrame:
    """Per planted persona: the card holding most of it and the traits it carries."""
    return pd.DataFrame(
        [
            {
                "planted": name,
                "card": t["persona"],
                "traits matched": f"{t['matched']} of {t['traits']}",
                "mismatches": "; ".join(f"{k}: {v}" for k, v in t["mismatches"].items()),
            }
            for name, t in truth.items()
        ]
    )


def shares_figure(cards: list[dict[str, Any]]) -> plt.Figure:
    """Share of customers, of net revenue and (where every card has it) of CLV per persona."""
    shares = {
        "customers": {c["name"]: c["share_customers"] for c in cards},
        "net revenue": {c["name"]: c["share_revenue"] for c in cards},
    }
    if all(isinstance(c["share_clv"], float) for c in cards):
        shares["expected CLV"] = {c["name"]: c["share_clv"] for c in cards}
    table = pd.DataFrame(shares)
    fig, ax = plt.subplots(figsize=(9, 0.9 * len(table) + 1.5))
    plots.share_bars(ax, table, labels=list(table.columns))
    ax.set_title("Share of customers and of value per persona")
    return fig


def dictionary_table(dictionary: TagDictionary) -> pd.DataFrame:
    """Every tag, the rule that assigns it and what it means."""
    return pd.DataFrame(
        [
            {
                "tag": t.name,
                "kind": t.kind,
                "feature": " or ".join(t.features) or f"{t.argmax}*",
                "rule": f"{t.rule} {t.threshold}"
                if t.is_flag
                else ("largest share" if t.argmax else f"bands ({t.decide})"),
                "meaning": t.says,
            }
            for t in dictionary.traits
        ]
    )


def missing_tags_markdown(missing: dict[str, str]) -> str:
    """The tags this source cannot assign, each with the reason."""
    if not missing:
        return "Every tag can be assigned in this source."
    return "Tags this source cannot assign: " + "; ".join(
        f"**{k}** ({v})" for k, v in missing.items()
    )


def movement_figure(movement: pd.DataFrame, min_group: int) -> plt.Figure:
    """Customers by persona at the snapshot (rows) and at as_of (columns); cells under
    the privacy minimum show only that they are below it."""
    movement = suppress_small_cells(movement.set_index("at_snapshot"), min_group)
    labels = movement.map(lambda n: f"{n:,.0f}" if n == n else fewer_than(min_group))
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(movement) + 2))
    sns.heatmap(movement, annot=labels, fmt="", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel("persona at as_of")
    ax.set_ylabel("persona at the snapshot")
    ax.set_title("Who kept their persona")
    return fig


def audience_table(audiences: dict[str, int], min_group: int) -> pd.DataFrame:
    """Each audience file with its customers (counts under the minimum suppressed)."""
    return pd.DataFrame(
        {
            "file": list(audiences),
            "customers": [count_for_report(n, min_group) for n in audiences.values()],
        }
    )
