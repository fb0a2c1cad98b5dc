"""Personas: each cluster described as a person a marketer can picture, with what to do.

A persona card holds the cluster's size and value, its tags (from the tag dictionary,
each with the number behind it and the shop's average), demographics, favourite
categories, channels, rhythm, churn risk and recommended actions (rules in
``actions.yaml``). Its name is generated from its strongest tags, e.g. "Young urban
beauty lovers", and composed the same way in every report language from that language's
words in the dictionary ("年轻都市美妆爱好者"); the English name is the persona's key in
the data. Groups smaller than the privacy minimum are never described.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from customer_analytics import i18n
from customer_analytics.clustering.features import circular_hour
from customer_analytics.personas.evidence import Figures, feature_figures
from customer_analytics.personas.lines import CardLines, GivenNames
from customer_analytics.personas.tags import Tag, TagDictionary

ACTIONS_FILE = Path(__file__).with_name("actions.yaml")
#: A tag names a persona, or is one of its top tags, only when its figure is at least
#: this many times the shop's: a tag near or below the shop's average (25-34 held by 28%
#: of a persona against 34% of the shop) does not tell the persona apart.
NAME_STRENGTH = 1.2
NAME_WORDS = 2
TOP_TAGS = 5


@dataclass(frozen=True)
class ActionRules:
    """Recommended actions by tag, in priority order (``actions.yaml``)."""

    rules: tuple[dict[str, str], ...]
    default: dict[str, str]
    max_actions: int = 3

    @classmethod
    def load(cls, path: Path | None = None) -> ActionRules:
        """Read action rules; ``None`` reads the package's ``actions.yaml``. A rule (and
        the default) may hold a block per other report language (``zh: {action: ...,
        detail: ...}``): the words its pages show; the English action is what the data
        and the audience files hold."""
        tree = yaml.safe_load((path or ACTIONS_FILE).read_text())
        return cls(tuple(tree["rules"]), tree["default"], int(tree.get("max_actions", 3)))

    def for_tags(self, held: set[str]) -> list[dict[str, Any]]:
        """The actions whose tag is held, most important first (the default when none);
        each with its words in the other report languages under ``words``."""
        chosen = [r for r in self.rules if r["tag"] in held][: self.max_actions]
        return [_action(r, r["tag"]) for r in chosen] or [_action(self.default, "")]

    def for_customers(self, tags: pd.DataFrame) -> pd.Series:
        """Each customer's first recommended action from their own tags."""
        action = pd.Series(self.default["action"], index=tags.index, dtype=object)
        for rule in reversed(self.rules):  # the first rule in the file wins
            if rule["tag"] in tags.columns:
                action[tags[rule["tag"]].fillna(False).astype(bool)] = rule["action"]
        return action


def _action(rule: dict[str, Any], because: str) -> dict[str, Any]:
    words = {lang: rule[lang] for lang in i18n.LANGUAGES if isinstance(rule.get(lang), dict)}
    return {"action": rule["action"], "detail": rule["detail"], "because": because, "words": words}


def action_word(action: dict[str, Any], key: str) -> str:
    """An action's ``action`` or ``detail`` (as a card holds it) in the current language."""
    return i18n.word(
        {**action, **action.get("words", {})}, key, what=f"actions.yaml: {action['action']} {key}"
    )


@dataclass
class PersonaCard:
    """Everything a persona card shows. A field that cannot be filled holds the reason."""

    cluster: int
    name: str
    customers: int
    share_customers: float
    share_revenue: float
    share_clv: float | str
    value: dict[str, float]
    tag_line: str
    tags: list[Tag]
    top_tags: list[Tag]
    demographics: dict[str, Any] | str
    categories: dict[str, float] | str
    channels: dict[str, float] | str
    rhythm: dict[str, Any] | str
    churn: dict[str, Any] | str
    actions: list[dict[str, Any]] = field(default_factory=list)
    #: The given name and description a marketer calls the persona by ("Xiaolin, one of
    #: the young urban beauty lovers"), and its avatar (initials per language, colour).
    full_name: str = ""
    avatar: dict[str, Any] = field(default_factory=dict)
    #: Goals and interests, objections, channel, hour and pains: each line a figure of
    #: the persona against the shop's average (``lines.yaml``, :class:`CardLines`).
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: The lines this source cannot fill, each with why (empty when every line can be).
    unfilled: list[dict[str, Any]] = field(default_factory=list)
    #: ``name``, ``tag_line`` and ``full_name`` in each other report language (``{"zh":
    #: {...}}``), composed from that language's words in the dictionary; a language
    #: lacking a word is left out.
    words: dict[str, dict[str, str]] = field(default_factory=dict)

    def word(self, key: str) -> str:
        """The card's ``name``, ``tag_line`` or ``full_name`` in the current language."""
        return card_word(self.__dict__, key)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tags"] = [asdict(t) for t in self.tags]
        out["top_tags"] = [t.trait for t in self.top_tags]
        return out


def build_personas(
    features: pd.DataFrame,
    labels: pd.Series,
    dictionary: TagDictionary,
    actions: ActionRules,
    *,
    missing: dict[str, str] | None = None,
    figures: Figures | None = None,
    lines: CardLines | None = None,
    given_names: GivenNames | None = None,
) -> list[PersonaCard]:
    """One card per cluster, largest first; names are unique within the run.

    Parameters
    ----------
    features
        The feature table (one row per customer, see :mod:`customer_analytics.clustering.features`).
    labels
        Each customer's cluster (index aligned with ``features``); clusters too small to
        act on must already be merged away (see :mod:`customer_analytics.clustering`).
    missing
        Feature -> why the source lacks it, quoted by fields that cannot be filled.
    figures
        The figures behind the card lines (:mod:`customer_analytics.personas.evidence`);
        None: those of the feature table alone.
    lines, given_names
        The card-line rules and the given names; None: the package's.
    """
    missing = missing or {}
    figures = feature_figures(features, labels) if figures is None else figures
    lines = lines or CardLines.load()
    cards: list[PersonaCard] = []
    for cluster in labels.value_counts().index:
        members = features[labels == cluster]
        tags = dictionary.tag_group(members, features)
        names = _unique_names(tags, dictionary, cards)
        name = names.pop(i18n.SOURCE)
        top = sorted(
            (t for t in tags if t.shown and t.strength >= NAME_STRENGTH), key=lambda t: -t.strength
        )[:TOP_TAGS]
        held = {t.trait for t in tags if t.value is True}
        cards.append(
            PersonaCard(
                cluster=int(cluster),
                name=name,
                customers=len(members),
                share_customers=len(members) / len(features),
                share_revenue=_share(members, features, "monetary"),
                share_clv=_share(members, features, "clv")
                if "clv" in features
                else f"no CLV: {missing.get('clv, p_alive', 'stage 04_clv did not run')}",
                value=_value(members),
                tag_line=dictionary.tag_line(tags),
                tags=tags,
                top_tags=top,
                demographics=_demographics(members, tags, missing),
                categories=_top_shares(members, "category_", 3)
                or f"no categories: {missing.get('preference', 'no product categories')}",
                channels=_top_shares(members, "channel_", 5) or "no sales channel in this source",
                rhythm=_rhythm(members),
                churn=_churn(members, features),
                actions=actions.for_tags(held),
                words={
                    lang: {"name": names[lang], **_tag_line(tags, dictionary, lang)}
                    for lang in names
                },
            )
        )
        written, unfilled = lines.write(
            {f: by[int(cluster)] for f, by in figures.items() if int(cluster) in by}, dictionary
        )
        cards[-1].lines, cards[-1].unfilled = written, unfilled
    _name_people(cards, given_names or GivenNames.load(), lines)
    return cards


def _name_people(cards: list[PersonaCard], names: GivenNames, lines: CardLines) -> None:
    """Each card's given name, full name in every language and avatar; a card whose
    source has no gender says its name follows none."""
    genders = [next((t.value for t in c.tags if t.trait == "gender"), None) for c in cards]
    chosen = names.choose([c.name for c in cards], genders)
    for card, given, gender in zip(cards, chosen, genders, strict=True):
        for lang, first in given.items():
            with i18n.language(lang):
                full = names.full_name(first, card.word("name"))
            if lang == i18n.SOURCE:
                card.full_name = full
            elif lang in card.words:
                card.words[lang]["full_name"] = full
        card.avatar = names.avatar(given, card.name)
        if gender is None:
            card.unfilled.append(lines.not_filled("name", "gender", "demographics"))


def card_word(card: dict[str, Any], key: str) -> str:
    """A card's (or a persona's in the findings) ``name`` or ``tag_line`` in the current
    language."""
    return i18n.word({**card, **card.get("words", {})}, key, what=f"persona {card['name']} {key}")


def _tag_line(tags: list[Tag], dictionary: TagDictionary, lang: str) -> dict[str, str]:
    with i18n.language(lang), i18n.fallbacks() as english:
        line = dictionary.tag_line(tags)
    return {} if english else {"tag_line": line}


def persona_name(tags: list[Tag], dictionary: TagDictionary, words: int = NAME_WORDS) -> str:
    """A name from the persona's strongest tags: adjectives, then its category's noun.

    Adjectives are the ``words`` strongest tags that have a name word and stand out
    (figure at least :data:`NAME_STRENGTH` times the shop's), written in the dictionary's
    order (who they are before how they shop): "Young urban beauty lovers". The words
    are the current language's, joined as the dictionary says (``join``): "年轻都市美妆爱好者".
    """
    by_trait = {t.trait: t for t in tags}
    order = [t.name for t in dictionary.traits]
    candidates = [
        t
        for t in tags
        if t.shown and t.strength >= NAME_STRENGTH and dictionary[t.trait].name_for(t.value)
    ]
    strongest = sorted(candidates, key=lambda t: -t.strength)[:words]
    adjectives = [
        dictionary[t.trait].name_for(t.value)
        for t in sorted(strongest, key=lambda t: order.index(t.trait))
    ]
    noun = dictionary.word("customers", "customers")
    category = by_trait.get("top_category")
    if category is not None and category.strength >= NAME_STRENGTH:
        trait = dictionary[category.trait]
        noun = trait.noun_for(category.value) or dictionary.word(
            "shoppers", "{value} shoppers"
        ).format(value=trait.value_word(category.value))
    name = dictionary.word("join", " ").join([*adjectives, noun])
    return name[0].upper() + name[1:]


def _unique_names(
    tags: list[Tag], dictionary: TagDictionary, cards: list[PersonaCard]
) -> dict[str, str]:
    """The persona's name in every report language it has the words for, unique among
    ``cards`` (a name taken gets one more word, then a number); English always."""
    taken = {c.name for c in cards}
    chosen, suffix = NAME_WORDS + 2, 0
    for words in (NAME_WORDS, NAME_WORDS + 1, NAME_WORDS + 2):
        with i18n.language(i18n.SOURCE):
            if persona_name(tags, dictionary, words) not in taken:
                chosen = words
                break
    else:
        with i18n.language(i18n.SOURCE):
            name = persona_name(tags, dictionary, chosen)
        suffix = 2
        while f"{name} ({suffix})" in taken:
            suffix += 1
    names = {}
    for lang in i18n.LANGUAGES:
        with i18n.language(lang), i18n.fallbacks() as english:
            name = persona_name(tags, dictionary, chosen)
        if english:
            continue
        others = {
            c.name if lang == i18n.SOURCE else c.words.get(lang, {}).get("name") for c in cards
        }
        number = suffix
        while (shown := f"{name} ({number})" if number else name) in others:
            number = max(number, 1) + 1
        names[lang] = shown
    return names


def _share(members: pd.DataFrame, everyone: pd.DataFrame, column: str) -> float:
    total = everyone[column].clip(lower=0).sum()
    return float(members[column].clip(lower=0).sum() / total) if total else float("nan")


def _value(members: pd.DataFrame) -> dict[str, float]:
    """What a member is worth, in the shop's currency: means over the members of their
    net spend, their average order value and their expected lifetime value."""
    out = {"net spend per customer": round(float(members["monetary"].mean()), 2)}
    if "aov" in members:
        out["average order value"] = round(float(members["aov"].mean()), 2)
    if "clv" in members and members["clv"].notna().any():
        out["expected CLV per customer"] = round(float(members["clv"].mean()), 2)
    return out


def _top_shares(members: pd.DataFrame, prefix: str, n: int) -> dict[str, float]:
    cols = [c for c in members.columns if c.startswith(prefix)]
    means = members[cols].mean().sort_values(ascending=False).head(n)
    return {c.removeprefix(prefix).replace("_", " "): round(float(v), 3) for c, v in means.items()}


def _demographics(
    members: pd.DataFrame, tags: list[Tag], missing: dict[str, str]
) -> dict[str, Any] | str:
    out: dict[str, Any] = {}
    if "age" in members and members["age"].notna().any():
        out["median age"] = int(members["age"].median())
    if "female" in members and members["female"].notna().any():
        out["female"] = round(float(members["female"].mean()), 2)
    tier = next((t for t in tags if t.trait == "city_tier"), None)
    if tier is not None:
        out["city tier"] = f"{tier.value} ({tier.number:.0%} of members)"
    return out or f"no demographics: {missing.get('demographics', 'not in this source')}"


def _rhythm(members: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"median orders": float(members["frequency"].median())}
    gaps = members["rhythm_days"].dropna() if "rhythm_days" in members else pd.Series()
    out["median days between orders"] = (
        round(float(gaps.median()), 1) if len(gaps) else "no repeat buyers"
    )
    if {"hour_sin", "hour_cos"} <= set(members.columns):
        hour = circular_hour(members["hour_sin"].mean(), members["hour_cos"].mean())
        out["usual order hour"] = f"{int(hour):02d}:00"
    return out


def _churn(members: pd.DataFrame, everyone: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {
        "median days since last order": round(float(members["recency_days"].median())),
        "shop median": round(float(everyone["recency_days"].median())),
    }
    if "p_alive" in members and members["p_alive"].notna().any():
        out["mean P(alive)"] = round(float(members["p_alive"].mean()), 3)
        out["shop mean P(alive)"] = round(float(everyone["p_alive"].mean()), 3)
    return out
