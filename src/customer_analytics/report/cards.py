"""Persona cards as HTML for the stakeholder page: one card per persona, each with a chart.

Cards are plain HTML with the chart embedded as a ``data:`` URI, so the exported page
stays one offline file. Their look lives in ``templates/house.css`` (``.ca-card``).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib.pyplot as plt

from customer_analytics.plots import PALETTE


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
        A card of ``personas.json`` (:class:`customer_analytics.personas.PersonaCard`).
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
