"""What the 06_personas notebook shows: persona cards as HTML, and its findings in words.

Cards are plain HTML with the chart embedded as a ``data:`` URI, so the exported page
stays one offline file. Their look lives in ``report/templates/house.css``
(``.ca-card``).

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. The
words of the tag dictionary and of the actions come from their YAML (``zh:`` blocks),
persona names as the stage composed them in each language.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from babel.numbers import get_currency_symbol
from IPython.display import HTML
from pandas.io.formats.style import Styler

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats
from customer_analytics.personas.cards import action_word, card_word
from customer_analytics.personas.lines import CardLines
from customer_analytics.personas.tags import TagDictionary, tag_word
from customer_analytics.privacy import count_for_report, fewer_than, suppress_small_cells
from customer_analytics.report import plots
from customer_analytics.report.avatar import avatar_svg
from customer_analytics.report.plots import PALETTE

#: What a card's value, demographics, rhythm and churn entries are called.
FACTS = {
    "net spend per customer": N_("net spend per customer"),
    "average order value": N_("average order value"),
    "expected CLV per customer": N_("expected CLV per customer"),
    "median age": N_("median age"),
    "female": N_("female"),
    "city tier": N_("city tier"),
    "median orders": N_("median orders"),
    "median days between orders": N_("median days between orders"),
    "usual order hour": N_("usual order hour"),
    "median days since last order": N_("median days since last order"),
    "shop median": N_("shop median"),
    "mean P(alive)": N_("mean P(alive)"),
    "shop mean P(alive)": N_("shop mean P(alive)"),
    "no repeat buyers": N_("no repeat buyers"),
    "no sales channel in this source": N_("no sales channel in this source"),
}
#: The tag dictionary's kinds of tags.
KINDS = {
    "static": N_("who they are"),
    "preference": N_("what they buy"),
    "behavioural": N_("how they shop"),
    "spend": N_("what they are worth"),
}
#: How the dictionary table writes each rule (``{x}``: its threshold).
RULES = {
    "at_least": N_("at least {x}"),
    "at_most": N_("at most {x}"),
    "at_least_times_average": N_("at least {x}× the shop's average"),
    "at_most_times_average": N_("at most {x}× the shop's average"),
}
#: Before a card line shown only because its section must show one (``always``).
NEAREST = N_("nothing stands out; the nearest:")
#: The card of a planted persona whose group is under the privacy minimum (truth.py).
NO_CARD = N_("(no card: under the privacy minimum)")
DECIDE = {"plurality": N_("bands (the band most members are in)"), "mean": N_("bands (the mean)")}


def _fact(key: str) -> str:
    return _(FACTS[key]) if key in FACTS else str(key)


def _names(cards: list[dict[str, Any]]) -> dict[str, str]:
    """Each persona's English name (its key in the data) -> its name in the current
    language."""
    return {c["name"]: card_word(c, "name") for c in cards}


def _symbol(currency: str) -> str:
    """The currency's symbol as the current language writes it (¥, CN¥)."""
    return get_currency_symbol(currency, formats.LOCALES[i18n.current()]) if currency else ""


def tag_chart(card: dict[str, Any]) -> bytes:
    """PNG of the persona's shown tags: its figure against the shop's average (1 = average)."""
    tags = [t for t in card["tags"] if t["value"] is not False and t["strength"] > 0]
    tags = sorted(tags, key=lambda t: t["strength"])[-7:]
    fig, ax = plt.subplots(figsize=(3.6, 0.35 * len(tags) + 0.7))
    strengths = [min(t["strength"], 6.0) for t in tags]
    colours = [PALETTE[0] if s >= 1 else PALETTE[1] for s in strengths]
    ax.barh([tag_word(t, "label") for t in tags], strengths, color=colours)
    ax.axvline(1.0, color="#5b6774", linewidth=1, linestyle="--")
    ax.set_xlabel(_("× shop average"), fontsize=8)
    ax.xaxis.set_major_formatter(formats.axis("number", digits=0))
    ax.tick_params(labelsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def card_html(
    card: dict[str, Any],
    currency: str = "",
    dictionary: TagDictionary | None = None,
    lines: CardLines | None = None,
) -> str:
    """One persona card: avatar and name, size and value, tag line, goals and interests,
    objections, channel, hour and pains with their figures, the numbers behind the tags,
    who they are, what they buy, how and when, churn risk, what to do, and the lines the
    source could not fill.

    Parameters
    ----------
    card
        A card of ``personas.json`` (:class:`customer_analytics.personas.cards.PersonaCard`).
    currency
        The shop's currency (``shop.currency``), for money figures.
    dictionary
        The run's tag dictionary (``personas.tags``), for the words of categories and
        channels; the package's when not given.
    lines
        The run's card-line rules (``personas.lines``), for section titles; the
        package's when not given.
    """
    dictionary = dictionary or TagDictionary.load()
    lines = lines or CardLines.load()
    e = html.escape
    chart = base64.b64encode(tag_chart(card)).decode()
    clv = card["share_clv"]
    clv_text = formats.percent(clv, 0) if isinstance(clv, float) else e(_(str(clv)))
    colon = e(_(": "))
    numbers = "".join(
        f"<li><b>{e(tag_word(t, 'label'))}</b>{colon}{e(_figure(t, 'number', currency))} "
        "<span class='ca-muted'>"
        + e(_("(shop {average})").format(average=_figure(t, "average", currency)))
        + "</span></li>"
        for t in card["tags"]
        if t["value"] is not False
    )
    sep = _(" · ")
    worth = sep.join(
        _("{what}: {amount}").format(
            what=e(_fact(key)),
            amount=e(formats.money(value, currency, 0) if currency else formats.number(value)),
        )
        for key, value in card["value"].items()
    )
    actions = "".join(
        f"<li><b>{e(action_word(a, 'action'))}</b>{sep}{e(action_word(a, 'detail'))}</li>"
        for a in card["actions"]
    )
    kpis = _(
        "{customers} customers ({share}) · {revenue} of net revenue · {clv} of expected CLV"
    ).format(
        customers=f"<b>{formats.number(card['customers'])}</b>",
        share=formats.percent(card["share_customers"], 0),
        revenue=f"<b>{formats.percent(card['share_revenue'], 0)}</b>",
        clv=f"<b>{clv_text}</b>",
    )
    words = {
        "Worth": e(_("Worth")),
        "Who": e(_("Who")),
        "Buys": e(_("Buys")),
        "Channels": e(_("Channels")),
        "Rhythm": e(_("Rhythm")),
        "Churn risk": e(_("Churn risk")),
        "Recommended": e(_("Recommended")),
        "alt": e(_("tags against the shop average")),
    }
    return f"""
<div class="ca-card">
  <div class="ca-who">{avatar_svg(card.get("avatar") or {})}<h3>{e(_full_name(card))}</h3></div>
  <p class="ca-tagline">{e(card_word(card, "tag_line"))}</p>
  <p class="ca-kpis">{kpis}</p>
  {card_lines_html(card, lines)}
  <img alt="{words["alt"]}" src="data:image/png;base64,{chart}">
  <ul class="ca-facts">{numbers}</ul>
  <dl>
    <dt>{words["Worth"]}</dt><dd>{worth}</dd>
    <dt>{words["Who"]}</dt><dd>{_who(card)}</dd>
    <dt>{words["Buys"]}</dt><dd>{_shares(card, "categories", dictionary, "top_category")}</dd>
    <dt>{words["Channels"]}</dt><dd>{_shares(card, "channels", dictionary, "channel")}</dd>
    <dt>{words["Rhythm"]}</dt><dd>{_rhythm(card["rhythm"])}</dd>
    <dt>{words["Churn risk"]}</dt><dd>{_pairs(card["churn"])}</dd>
  </dl>
  <p><b>{words["Recommended"]}</b></p><ul class="ca-actions">{actions}</ul>
  {later_slot(card["cluster"])}
  {unfilled_html(card, lines)}
</div>"""


def later_slot(cluster: int) -> str:
    """Where the run's report layer writes the lines only later stages can give this
    persona (the products 08_recommend picks, the actions 09_targeting plans;
    ``report/index.py``'s ``fill_persona_page``): empty in the notebook itself, as
    06_personas imports nothing downstream. Keyed by the persona's cluster, so the
    page's markup holds no English name."""
    return f'<div class="ca-later" data-cluster="{int(cluster)}"></div>'


def _full_name(card: dict[str, Any]) -> str:
    """The card's given name and description (a card of an older run: its name)."""
    return card_word(card, "full_name") if card.get("full_name") else card_word(card, "name")


def line_text(line: dict[str, Any]) -> str:
    """A card line in the current language with its figure, and the shop's average
    beside it: "Waits for a deal: 84% of orders with a coupon (shop 41%)"."""
    entry = {**line, **line.get("words", {})}
    what = f"lines.yaml: {line['figure']}"
    text = i18n.word(entry, "text", what=what).format(
        item=i18n.word(entry, "item", what=what), value=_line_figure(line, "value")
    )
    shop = _("(shop {average})").format(average=_line_figure(line, "average"))
    return _("{line} {shop}").format(line=text, shop=shop)


def _line_figure(line: dict[str, Any], key: str) -> str:
    value = line[key]
    if line.get("format") == "percent":
        return formats.percent(value, line.get("digits", 0))
    return formats.number(value, line.get("digits", 0))


def card_lines_html(card: dict[str, Any], lines: CardLines) -> str:
    """The card's lines by section (goals and interests, objections, channel, hour,
    pains), each with its figure and the shop's; a line shown only as the nearest to
    standing out says so."""
    e = html.escape
    parts = []
    for section in lines.sections:
        shown = [line for line in card.get("lines", []) if line["section"] == section]
        if not shown:
            continue
        items = "".join(
            "<li>"
            + (f"{_muted(NEAREST)} " if line["nearest"] else "")
            + e(line_text(line))
            + "</li>"
            for line in shown
        )
        parts.append(f"<h4>{e(lines.section_word(section))}</h4><ul>{items}</ul>")
    return f'<div class="ca-lines">{"".join(parts)}</div>' if parts else ""


def unfilled_html(card: dict[str, Any], lines: CardLines) -> str:
    """The lines this card could not fill, by section and reason."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in card.get("unfilled", []):
        groups.setdefault((line["section"], line["needs"]), []).append(line)
    if not groups:
        return ""
    items = "".join(
        "<li>"
        + html.escape(
            _("{section} ({lines}): {why}").format(
                section=_section_word(section, lines),
                lines=i18n.ngettext("{n} line", "{n} lines", len(group)).format(
                    n=formats.number(len(group))
                ),
                why=i18n.word({**group[0], **group[0].get("words", {})}, "why"),
            )
        )
        + "</li>"
        for (section, _needs), group in groups.items()
    )
    title = html.escape(_("Could not fill"))
    return f'<div class="ca-unfilled ca-muted"><b>{title}</b><ul>{items}</ul></div>'


def _section_word(section: str, lines: CardLines) -> str:
    """A section's title; ``name`` is the card's given name (not a section of lines)."""
    return _("given name") if section == "name" else lines.section_word(section)


def cards_html(
    cards: list[dict[str, Any]],
    currency: str = "",
    dictionary: TagDictionary | None = None,
    lines: CardLines | None = None,
) -> str:
    """All cards in a responsive grid."""
    dictionary = dictionary or TagDictionary.load()
    lines = lines or CardLines.load()
    shown = "".join(card_html(c, currency, dictionary, lines) for c in cards)
    return f'<div class="ca-cards">{shown}</div>'


def cards_display(
    cards: list[dict[str, Any]],
    currency: str,
    dictionary: TagDictionary,
    lines: CardLines | None = None,
) -> HTML:
    """The cards as the notebook displays them (:func:`cards_html`)."""
    return HTML(cards_html(cards, currency, dictionary, lines))


def _figure(tag: dict[str, Any], key: str, currency: str) -> str:
    """The tag's number (or the shop's average) as its dictionary entry writes it."""
    value = tag[key]
    figure = tag_word(tag, "figure")
    if figure:
        return figure.format(value, currency=_symbol(currency)).strip()
    return formats.number(value, 2 if abs(value) < 10 else 0)


def _muted(text: str) -> str:
    return f"<span class='ca-muted'>{html.escape(_(text))}</span>"


def _pairs(value: dict[str, Any] | str) -> str:
    """``key: value`` pairs of a card's entry (shares as percentages, figures in the
    current language's format), or why the entry is empty."""
    if isinstance(value, str):
        return _muted(value)
    parts = []
    for key, v in value.items():
        if isinstance(v, str):
            shown = _(FACTS[v]) if v in FACTS else v
        elif "P(alive)" in key:
            shown = formats.percent(v, 0)
        else:
            shown = formats.number(v, 0 if float(v).is_integer() else 1)
        parts.append(_("{what}: {value}").format(what=_fact(key), value=shown))
    return html.escape(_(" · ").join(parts))


def _who(card: dict[str, Any]) -> str:
    """Median age, the female share and the city tier most members live in."""
    value = card["demographics"]
    if isinstance(value, str):
        return _muted(value)
    tier = next((t for t in card["tags"] if t["trait"] == "city_tier"), None)
    parts = []
    for key, v in value.items():
        if key == "female":
            shown = formats.percent(v, 0)
        elif key == "city tier" and tier is not None:
            shown = _("{tier} ({share} of members)").format(
                tier=tag_word(tier, "label"), share=formats.percent(tier["number"], 0)
            )
        else:
            shown = formats.number(v) if isinstance(v, int | float) else str(v)
        parts.append(_("{what}: {value}").format(what=_fact(key), value=shown))
    return html.escape(_(" · ").join(parts))


def _shares(card: dict[str, Any], entry: str, dictionary: TagDictionary, trait: str) -> str:
    """The categories (or channels) members buy most, with their shares, in the words of
    the tag dictionary's trait (``top_category``, ``channel``)."""
    value = card[entry]
    if isinstance(value, str):
        return _muted(value)
    parts = []
    for key, share in value.items():
        name = _value_word(dictionary, trait, key)
        parts.append(_("{what}: {value}").format(what=name, value=formats.percent(share, 0)))
    return html.escape(_(" · ").join(parts))


def _value_word(dictionary: TagDictionary, trait: str, key: str) -> str:
    """A category's (or channel's) word in the current language, from the tag dictionary
    (the card holds only the words of its own tags)."""
    try:
        return dictionary[trait].value_word(key.replace(" ", "_"))
    except StopIteration:
        return key


def _rhythm(value: dict[str, Any]) -> str:
    """Median orders, days between orders and the usual hour (a clock time)."""
    return _pairs(value)


def persona_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the personas stage for the run's index page: each
    persona with its size, share of net revenue and top three tags."""
    personas = found["personas"]
    if not personas:
        return [_("No persona is large enough to describe.")]
    lines = []
    for p in personas:
        tags = _in_language(p, "top_tags")[:3]
        values = {
            "name": card_word(p, "name"),
            "buyers": formats.number(p["customers"]),
            "share": formats.percent(p["customer_share"], 0),
            "revenue": formats.percent(p["revenue_share"], 0),
        }
        if tags:
            lines.append(
                _("{name}: {buyers} buyers ({share}), {revenue} of net revenue; {tags}.").format(
                    **values, tags=_(" · ").join(tags)
                )
            )
        else:
            lines.append(
                _("{name}: {buyers} buyers ({share}), {revenue} of net revenue.").format(**values)
            )
    if found["suppressed_groups"]:
        lines.append(
            _("Groups under the privacy minimum, not shown: {groups}.").format(
                groups=formats.number(found["suppressed_groups"])
            )
        )
    lines.append(
        _("{share} of customers who had bought by the snapshot kept their persona.").format(
            share=formats.percent(found["persona_kept_share"], 0)
        )
    )
    if found["audiences"]:
        rows = found["headline"]["Audience rows"]
        lines.append(
            _("{files} audience files with {rows} rows (consenting customers only).").format(
                files=formats.number(len(found["audiences"])),
                rows=formats.number(rows) if isinstance(rows, int) else rows,
            )
        )
    else:
        lines.append(audience_note(found))
    return lines


def _in_language(persona: dict[str, Any], key: str) -> list[str]:
    """A list of a persona's findings (``top_tags``, ``actions``) in the current language."""
    block = persona.get("words", {}).get(i18n.current(), {})
    return list(block.get(key, persona[key]))


def key_figures_text(found: dict[str, Any]) -> str:
    """Each persona's size and value, suppressed groups, stability, audiences (a markdown
    list)."""
    lines = [
        _("{name}: {customers} customers ({share}), {revenue} of revenue").format(
            name=card_word(p, "name"),
            customers=formats.number(p["customers"]),
            share=formats.percent(p["customer_share"], 1),
            revenue=formats.percent(p["revenue_share"], 1),
        )
        for p in found["personas"]
    ]
    rows = found["headline"]["Audience rows"]
    lines += [
        _("groups suppressed as too small: {groups}").format(
            groups=formats.number(found["suppressed_groups"])
        ),
        _("kept their persona since the snapshot: {share}").format(
            share=formats.percent(found["persona_kept_share"], 1)
        ),
        _("audience files: {files}, rows: {rows}").format(
            files=formats.number(len(found["audiences"])),
            rows=formats.number(rows) if isinstance(rows, int) else rows,
        ),
    ]
    return "\n".join(f"- {line}" for line in lines)


def truth_table(
    truth: dict[str, Any] | None, cards: list[dict[str, Any]], dictionary: TagDictionary
) -> Styler | str:
    """Per planted persona: the card holding most of it and the traits it carries; on a
    real shop, a sentence saying there is nothing to compare with."""
    if not truth:
        return _("A real shop: there is no planted truth to compare with.")
    names = _names(cards)
    columns = {
        "planted": _("planted"),
        "card": _("card"),
        "matched": _("traits matched"),
        "mismatches": _("mismatches"),
    }

    def mismatches(t: dict[str, Any]) -> str:
        found = t.get("mismatched")
        if found is None:  # findings of an older run
            return "; ".join(f"{k}: {v}" for k, v in t["mismatches"].items())
        return _("; ").join(
            _("{trait}: planted {planted}, tagged {tagged}").format(
                trait=html.escape(_trait_title(dictionary, k)),
                planted=html.escape(_tag_value(dictionary, k, v["planted"])),
                tagged=html.escape(_tag_value(dictionary, k, v["tagged"])),
            )
            for k, v in found.items()
        )

    table = pd.DataFrame(
        [
            {
                columns["planted"]: f'<span translate="no">{html.escape(name)}</span>',
                columns["card"]: html.escape(names.get(t["persona"]) or _(NO_CARD)),
                columns["matched"]: _("{matched} of {traits}").format(
                    matched=formats.number(t["matched"]), traits=formats.number(t["traits"])
                ),
                columns["mismatches"]: mismatches(t),
            }
            for name, t in truth.items()
        ]
    )
    return table.style.hide(axis="index")


def _trait_title(dictionary: TagDictionary, trait: str) -> str:
    """A trait's name as a reader reads it (its kind of tag, ``city tier``)."""
    try:
        return dictionary[trait].title_text()
    except StopIteration:
        return trait


def _tag_value(dictionary: TagDictionary, trait: str, value: Any) -> str:
    """A trait's value as a reader reads it: a label for a category, yes/no for a flag."""
    if value is None:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    try:
        return dictionary[trait].label_for(value)
    except StopIteration:
        return str(value)


def shares_figure(cards: list[dict[str, Any]]) -> plt.Figure:
    """Share of customers, of net revenue and (where every card has it) of CLV per persona."""
    names = _names(cards)
    shares = {
        "customers": {names[c["name"]]: c["share_customers"] for c in cards},
        "net revenue": {names[c["name"]]: c["share_revenue"] for c in cards},
    }
    labels = [_("customers"), _("net revenue")]
    if all(isinstance(c["share_clv"], float) for c in cards):
        shares["expected CLV"] = {names[c["name"]]: c["share_clv"] for c in cards}
        labels.append(_("expected CLV"))
    table = pd.DataFrame(shares)
    fig, ax = plt.subplots(figsize=(9, 0.9 * len(table) + 1.5))
    plots.share_bars(ax, table, labels=labels)
    ax.xaxis.set_major_formatter(formats.axis("percent", digits=0))
    ax.set_title(_("Share of customers and of value per persona"))
    return fig


def dictionary_table(dictionary: TagDictionary) -> Styler:
    """Every tag, the rule that assigns it and what it means."""
    columns = {
        "tag": _("tag"),
        "kind": _("kind"),
        "feature": _("feature"),
        "rule": _("rule"),
        "meaning": _("meaning"),
    }

    def rule(t: Any) -> str:
        if t.is_flag:
            return _(RULES[t.rule]).format(
                x=formats.number(t.threshold, 2).rstrip("0").rstrip(".,")
            )
        return _("largest share") if t.argmax else _(DECIDE.get(t.decide, t.decide))

    def code(text: str) -> str:
        return f"<code>{html.escape(text)}</code>"

    def _tag_name(title: str, name: str) -> str:
        """The trait's name in words where the language has one, and its id."""
        same = title == name.replace("_", " ")
        return code(name) if same else f"{html.escape(title)} {code(name)}"

    table = pd.DataFrame(
        [
            {
                columns["tag"]: _tag_name(t.title_text(), t.name),
                columns["kind"]: _(KINDS.get(t.kind, t.kind)),
                columns["feature"]: _(" or ").join(code(f) for f in t.features)
                or code(f"{t.argmax}*"),
                columns["rule"]: rule(t),
                columns["meaning"]: html.escape(t.says_text()),
            }
            for t in dictionary.traits
        ]
    )
    return table.style.hide(axis="index")


def missing_tags_markdown(missing: dict[str, str]) -> str:
    """The tags this source cannot assign, each with the reason."""
    if not missing:
        return _("Every tag can be assigned in this source.")
    return _("Tags this source cannot assign: {tags}").format(
        tags=_("; ").join(f"`{k}` ({v})" for k, v in missing.items())
    )


def movement_figure(
    movement: pd.DataFrame, min_group: int, cards: list[dict[str, Any]]
) -> plt.Figure:
    """Customers by persona at the snapshot (rows) and at as_of (columns); cells under
    the privacy minimum show only that they are below it."""
    names = {**_names(cards), "(new since snapshot)": _("(new since snapshot)")}
    movement = suppress_small_cells(movement.set_index("at_snapshot"), min_group)
    movement = movement.rename(index=names, columns=names)
    labels = movement.map(lambda n: formats.number(n) if n == n else fewer_than(min_group))
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(movement) + 2))
    sns.heatmap(movement, annot=labels, fmt="", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel(_("persona at the analysis date"))
    ax.set_ylabel(_("persona at the snapshot"))
    ax.set_title(_("Who kept their persona"))
    return fig


def audience_note(found: dict[str, Any]) -> str:
    """On what basis the audience files hold whom they hold (or why there are none)."""
    note = found["audience_note"]
    for english, message in AUDIENCE_NOTES.items():
        if note == english:
            return _(message)
    basis = "Consent: no consent column; the config states the basis: "
    if note.startswith(basis):
        return _("Consent: no consent column; the config states the basis: {basis}").format(
            basis=note.removeprefix(basis)
        )
    return note


#: The notes :func:`customer_analytics.personas.stage.reachable_customers` writes.
AUDIENCE_NOTES = {
    "Consent: marketing_consent column: only customers who consented on every account.": N_(
        "Consent: from the `marketing_consent` column: only customers who consented on "
        "every account."
    ),
    "No audience files: the source has no marketing-consent column and the config states "
    "no consent basis (personas.consent_basis).": N_(
        "No audience files: the source has no marketing-consent column and the config "
        "states no consent basis (`personas.consent_basis`)."
    ),
}


def audience_table(audiences: dict[str, int], min_group: int) -> Styler:
    """Each audience file with its customers (counts under the minimum suppressed)."""
    table = pd.DataFrame(
        {
            _("file"): [f"<code>{html.escape(name)}</code>" for name in audiences],
            _("customers"): [count_for_report(n, min_group) for n in audiences.values()],
        }
    )
    return table.style.format(
        {_("customers"): lambda n: formats.number(n) if isinstance(n, int) else n}
    ).hide(axis="index")
