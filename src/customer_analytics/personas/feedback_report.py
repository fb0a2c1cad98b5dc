"""What the 06_personas notebook shows of the voice of the customer
(:mod:`customer_analytics.personas.feedback`): the themes of low-rated reviews per
persona and category with their evidence and snippets, ratings and returns.

Every function speaks the current report language; the notebook calls each once per
language through ``st.show``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats
from customer_analytics.personas.cards import card_word
from customer_analytics.personas.feedback import (
    NO_FEEDBACK,
    NO_LINES,
    NO_RATINGS,
    NO_RETURNS,
    NO_TEXT,
    FeedbackRules,
)
from customer_analytics.personas.lines import CardLines
from customer_analytics.personas.tags import TagDictionary

#: The reasons feedback.py gives for what it could not compute.
COULD_NOT = {
    NO_FEEDBACK: N_("no feedback table in this source"),
    NO_TEXT: N_("no review texts in this source"),
    NO_RATINGS: N_("no ratings in this source"),
    NO_RETURNS: N_("no returns in this source"),
    NO_LINES: N_("no order lines to divide returns by"),
}
PARTS = {
    "ratings": N_("ratings"),
    "returns": N_("returns"),
    "return_rate": N_("return rates"),
    "themes": N_("themes of low-rated reviews"),
}
LEVELS = {"category": N_("category"), "persona": N_("persona"), "product": N_("product")}


def _names(cards: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: card_word(c, "name") for c in cards}


def _theme_name(name: str) -> str:
    """A theme's name in the current language (``feedback.yaml``'s ``theme_names``)."""
    if not name:
        return ""
    words = FeedbackRules.load().theme_names.get(name, {})
    return str(words.get(i18n.current(), words.get("en", name)))


def voice_note(found: dict[str, Any]) -> str:
    """How themes are found, the noise rule in figures, and what this source could not
    give (a markdown paragraph)."""
    voice = found.get("feedback")
    if not voice:
        return _("This run did not read the voice of the customer.")
    rule = voice["noise_rule"]
    lines = [
        _(
            "Low-rated reviews are those of at most {stars} stars. A word is a theme of its "
            "persona and category when its log-odds z-score against the shop's other "
            "low-rated reviews exceeds {z} (Bonferroni over {tests} tests at {alpha}) and "
            "at least {reviews} of the cell's low-rated reviews use it."
        ).format(
            stars=voice["low_rating"],
            z=formats.number(rule["z_above"], 2) if rule["z_above"] is not None else "–",
            tests=formats.number(rule.get("tests", 0)),
            alpha=formats.number(rule["alpha"], 2),
            reviews=rule["min_reviews"],
        )
    ]
    for part, reason in voice["could_not"].items():
        lines.append(
            _("Not computed: {part} ({reason}).").format(
                part=_(PARTS.get(part, part)), reason=_(COULD_NOT.get(reason, reason))
            )
        )
    return "\n\n".join(lines)


def _words(lines: CardLines, dictionary: TagDictionary) -> tuple[Callable, Callable]:
    """A category's and a return reason's word in the current language, escaped."""

    def category(code: Any) -> str:
        return html.escape(lines.word_of("low_rated", str(code), dictionary) if code else "")

    def reason(code: Any) -> str:
        return html.escape(lines.word_of("return_reason", str(code), dictionary) if code else "")

    return category, reason


def themes_table(
    themes: pd.DataFrame, cards: list[dict[str, Any]], dictionary: TagDictionary, lines: CardLines
) -> Styler | str:
    """Per persona and category, the top words of its low-rated reviews with the
    evidence (reviews, share, share elsewhere, z-score), whether each is a theme, and a
    few masked snippets of each theme; categories in the tag dictionary's words."""
    if themes.empty:
        return _("No persona and category has enough low-rated reviews with text.")
    names = _names(cards)
    category, _reason = _words(lines, dictionary)
    table = pd.DataFrame(
        {
            _("persona"): themes["persona"].map(lambda p: html.escape(names.get(p, p))),
            _("category"): themes["category"].map(category),
            _("word"): themes["word"].map(html.escape),
            _("theme"): themes["name"].map(_theme_name),
            _("rank"): themes["rank"],
            _("reviews"): themes["reviews"].map(formats.number),
            _("share"): themes["share"].map(lambda x: formats.percent(x, 1)),
            _("share elsewhere"): themes["other_share"].map(lambda x: formats.percent(x, 1)),
            _("z-score"): themes["z"].map(lambda x: formats.number(x, 1)),
            _("above the noise rule"): themes["theme"].map(lambda t: _("yes") if t else _("no")),
            _("snippets"): themes["snippets"].map(lambda s: html.escape(s).replace(" | ", "<br>")),
        }
    )
    return table.style.hide(axis="index")


def ratings_table(
    ratings: pd.DataFrame, cards: list[dict[str, Any]], dictionary: TagDictionary, lines: CardLines
) -> Styler | str:
    """Reviews, mean rating and low-rated share per category, persona and product."""
    if ratings.empty:
        return _("No ratings in this source.")
    names = _names(cards)
    category, _reason = _words(lines, dictionary)
    key = ratings.apply(lambda r: _key(r, names, category), axis=1)
    table = pd.DataFrame(
        {
            _("level"): ratings["level"].map(lambda x: _(LEVELS.get(x, x))),
            _("name"): key,
            _("category"): ratings["category"].fillna("").map(category),
            _("reviews"): ratings["reviews"].map(formats.number),
            _("mean rating"): ratings["mean_rating"].map(lambda x: formats.number(x, 2)),
            _("low-rated share"): ratings["low_share"].map(lambda x: formats.percent(x, 1)),
        }
    )
    return table.style.hide(axis="index")


def returns_table(
    returns: pd.DataFrame, cards: list[dict[str, Any]], dictionary: TagDictionary, lines: CardLines
) -> Styler | str:
    """Returns, return rate per order line and the most given reason per category and
    persona."""
    if returns.empty:
        return _("No returns in this source.")
    names = _names(cards)
    category, reason = _words(lines, dictionary)
    key = returns.apply(lambda r: _key(r, names, category), axis=1)

    def rate(x: float) -> str:
        return formats.percent(x, 1) if pd.notna(x) else "–"

    table = pd.DataFrame(
        {
            _("level"): returns["level"].map(lambda x: _(LEVELS.get(x, x))),
            _("name"): key,
            _("returns"): returns["returns"].map(formats.number),
            _("return rate"): returns["return_rate"].map(rate),
            _("most given reason"): returns["return_reason"].fillna("").map(reason),
            _("its share"): returns["reason_share"].map(rate),
        }
    )
    return table.style.hide(axis="index")


def _key(row: pd.Series, names: dict[str, str], category: Callable) -> str:
    """A ratings or returns row's name: its persona's, its category's word, or the
    product id (in a ``translate="no"`` span: an id, not a word)."""
    if row["level"] == "persona":
        return html.escape(names.get(row["key"], row["key"]))
    if row["level"] == "category":
        return category(row["key"])
    return f'<span translate="no">{html.escape(str(row["key"]))}</span>'
