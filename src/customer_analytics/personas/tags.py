"""Tags for customers and personas, assigned by the rules of a tag dictionary (``tags.yaml``).

One dictionary serves both: a customer is tagged on their own feature values, a persona
on its members (the mean of a feature, or the value most members have). Every tag keeps
the number behind it and the shop's average beside it, so a card can say
"promo-sensitive: 55% of orders with a coupon (shop: 40%)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics import i18n

TAGS_FILE = Path(__file__).with_name("tags.yaml")
THRESHOLDS = ("at_least", "at_most", "at_least_times_average", "at_most_times_average")
#: How a card writes a tag's number when its trait gives no ``figure``: the share of
#: members in the band most hold, or the largest share.
_DEFAULT_FIGURES = {"plurality": i18n.N_("{:.0%} of customers"), "argmax": "{:.0%}"}
#: The words a tag holds in each report language (its ``zh:`` block in the dictionary).
WORDS = ("label", "figure", "says")
_FIELDS = re.compile(r"\{[^}]*\}")
_LETTERS = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Trait:
    """One entry of the tag dictionary: a trait and the rule that assigns its value."""

    name: str
    kind: str
    label: str
    features: tuple[str, ...] = ()
    decide: str = "mean"
    bands: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    argmax: str | None = None
    rule: str | None = None  # one of THRESHOLDS for a yes/no tag
    threshold: float | None = None
    names: dict[str, str] | str | None = None
    nouns: dict[str, str] | None = None
    says: str = ""
    figure: str | None = None
    #: The trait's words in each other report language (``{"zh": {"label": ...,
    #: "values": {...}, "name": {...}, "noun": {...}, "figure": ..., "says": ...}}``).
    words: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_flag(self) -> bool:
        return self.rule is not None

    def feature_in(self, table: pd.DataFrame) -> str | None:
        """The first of the trait's features the table has with any value."""
        for name in self.features:
            if name in table.columns and table[name].notna().any():
                return name
        return None

    def columns_in(self, table: pd.DataFrame) -> list[str]:
        """The share columns an ``argmax`` trait chooses among."""
        return [c for c in table.columns if self.argmax and c.startswith(self.argmax)]

    def name_for(self, value: Any) -> str | None:
        """The word for this tag in a generated persona name, in the current language."""
        if isinstance(self.names, dict):
            english = self.names.get(str(value))
            block = self._block().get("name")
            if english is None:
                return None
            own = block.get(str(value)) if isinstance(block, dict) else None
            return self._word(english, own, f"name {value}")
        if self.names is None or value is not True:
            return None
        block = self._block().get("name")
        return self._word(self.names, block if isinstance(block, str) else None, "name")

    def noun_for(self, value: Any) -> str | None:
        """The noun a persona's name ends with for this (category) value, or None."""
        english = (self.nouns or {}).get(str(value))
        if english is None:
            return None
        own = self._block().get("noun", {}).get(str(value))
        return self._word(english, own, f"noun {value}")

    def value_word(self, value: Any) -> str:
        """A value of the trait (``tier-1``, ``beauty``) as a reader's word."""
        english = str(value).replace("_", " ")
        own = self._block().get("values", {}).get(str(value))
        return self._word(english, own, f"value {value}")

    def label_for(self, value: Any) -> str:
        """How the tag reads in a tag line, in the current language (``tier-1 city``)."""
        label = self._word(self.label, self._block().get("label"), "label")
        return label.format(value=self.value_word(value)) if "{value}" in label else label

    def figure_text(self) -> str:
        """How a card writes the tag's number (a format string), in the current language."""
        english = self.figure or _DEFAULT_FIGURES.get("argmax" if self.argmax else self.decide, "")
        own = self._block().get("figure")
        if own is None and english and not self.figure:
            return i18n.gettext(english)  # the default figures are in the catalogues
        return self._word(english, own, "figure") if english else ""

    def title_text(self) -> str:
        """The trait's name in words (``title``; the id with spaces in English)."""
        return self._word(self.name.replace("_", " "), self._block().get("title"), "title")

    def says_text(self) -> str:
        """What the tag means, in the current language."""
        return self._word(self.says, self._block().get("says"), "says") if self.says else ""

    def _block(self) -> dict[str, Any]:
        return self.words.get(i18n.current(), {}) if i18n.current() != i18n.SOURCE else {}

    def _word(self, english: str, own: str | None, key: str) -> str:
        if own is None and not _LETTERS.search(_FIELDS.sub("", english)):
            return english  # only placeholders ("{value}", "{:.0%}"): no words to translate
        entry = {"w": english, **({i18n.current(): {"w": own}} if own else {})}
        return i18n.word(entry, "w", what=f"tags.yaml: {self.name} {key}")


@dataclass(frozen=True)
class Tag:
    """A trait's value for a persona or a customer, with the number behind it.

    ``number`` is the members' figure (mean feature, or share of members with the value)
    and ``average`` the shop's; ``strength`` is their ratio (inverted for ``at_most``
    rules), which ranks how characteristic a tag is. ``figure`` formats either number
    for reading (``"{:.0%} of orders with a coupon"``; ``{currency}`` is the shop's).
    """

    trait: str
    kind: str
    value: Any
    label: str
    feature: str
    number: float
    average: float
    strength: float
    says: str = ""
    figure: str = ""
    #: ``label``, ``figure`` and ``says`` in each other report language (``{"zh": {...}}``);
    #: a word the dictionary lacks in a language is left out (English stands in).
    words: dict[str, dict[str, str]] = field(default_factory=dict)

    def word(self, key: str) -> str:
        """The tag's ``label``, ``figure`` or ``says`` in the current language."""
        return tag_word(self.__dict__, key)

    @property
    def shown(self) -> bool:
        """A tag line shows categorical values and the yes/no tags that hold."""
        return self.value is not False


def tag_word(tag: dict[str, Any], key: str) -> str:
    """A tag's (as :class:`Tag` or as a card's JSON holds it) ``label``, ``figure`` or
    ``says`` in the current language."""
    return i18n.word({**tag, **tag.get("words", {})}, key, what=f"tags.yaml: {tag['trait']} {key}")


class TagDictionary:
    """The tag rules of ``tags.yaml`` (or a shop's own file of the same shape).

    Parameters
    ----------
    traits
        The dictionary's traits in the order tag lines list them.
    words
        The dictionary's own words in each report language (``{"zh": {"join": "",
        "customers": ..., "shoppers": ...}}``): how a persona's name joins its words, the
        noun of a name without a standing-out category, and of a category without a noun.
    """

    def __init__(self, traits: list[Trait], words: dict[str, dict[str, Any]] | None = None) -> None:
        self.traits = traits
        self.words = words or {}

    @classmethod
    def load(cls, path: Path | None = None) -> TagDictionary:
        """Read a tag dictionary; ``None`` reads the package's ``tags.yaml``."""
        tree = yaml.safe_load((path or TAGS_FILE).read_text())
        words = {lang: tree[lang] for lang in i18n.LANGUAGES if lang in tree}
        return cls([_trait(name, spec) for name, spec in tree["traits"].items()], words)

    def word(self, key: str, english: str) -> str:
        """One of the dictionary's own words (``join``, ``customers``, ``shoppers``) in the
        current language; ``english`` where the language's block lacks it."""
        block = self.words.get(i18n.current(), {}) if i18n.current() != i18n.SOURCE else {}
        if isinstance(block.get(key), str):  # an empty join is a word too
            return block[key]
        return i18n.word({key: english}, key, what=f"tags.yaml: {key}")

    def __getitem__(self, name: str) -> Trait:
        return next(t for t in self.traits if t.name == name)

    def missing(self, table: pd.DataFrame) -> dict[str, str]:
        """Traits this feature table cannot decide, with the reason."""
        out = {}
        for trait in self.traits:
            if trait.argmax and not trait.columns_in(table):
                out[trait.name] = f"no {trait.argmax}* columns in the features"
            elif trait.features and trait.feature_in(table) is None:
                out[trait.name] = f"no values for {' or '.join(trait.features)}"
        return out

    def tag_group(self, members: pd.DataFrame, shop: pd.DataFrame) -> list[Tag]:
        """The tags of a group of customers (a persona), judged against the whole shop."""
        tags = []
        for trait in self.traits:
            tag = self._group_tag(trait, members, shop)
            if tag is not None:
                tags.append(tag)
        return tags

    def tag_customers(self, table: pd.DataFrame) -> pd.DataFrame:
        """Every customer's tags: one column per trait (text values or True/False)."""
        out = pd.DataFrame(index=table.index)
        for trait in self.traits:
            if trait.argmax:
                cols = trait.columns_in(table)
                if cols:
                    shares = table[cols]
                    top = shares.fillna(0).idxmax(axis=1).str.removeprefix(trait.argmax)
                    out[trait.name] = top.where(shares.sum(axis=1) > 0)
                continue
            feature = trait.feature_in(table)
            if feature is None:
                continue
            values = table[feature]
            if trait.is_flag:
                out[trait.name] = _passes(trait, values, values.mean()).where(values.notna())
            else:
                out[trait.name] = _band(trait, values)
        return out

    def _group_tag(self, trait: Trait, members: pd.DataFrame, shop: pd.DataFrame) -> Tag | None:
        if trait.argmax:
            cols = trait.columns_in(members)
            if not cols:
                return None
            means = members[cols].mean()
            best = means.idxmax()
            value = best.removeprefix(trait.argmax)
            return _tag(trait, value, best, means[best], shop[best].mean())
        feature = trait.feature_in(members)
        if feature is None:
            return None
        values, everyone = members[feature], shop[feature]
        if trait.is_flag:
            number, average = values.mean(), everyone.mean()
            held = bool(_passes(trait, pd.Series([number]), average).iloc[0])
            tag = _tag(trait, held, feature, number, average)
            if trait.rule.startswith("at_most"):  # smaller is stronger
                tag = _with_strength(tag, average / number if number else np.inf)
            return tag
        if trait.decide == "plurality":
            bands = _band(trait, values).value_counts(normalize=True)
            if bands.empty:
                return None
            value = bands.index[0]
            return _tag(
                trait, value, feature, bands.iloc[0], (_band(trait, everyone) == value).mean()
            )
        value = _band(trait, pd.Series([values.mean()])).iloc[0]
        # A band of the mean (gender from the female share) has no "more than the shop"
        # reading: its strength is undefined, so it never names a persona.
        tag = _tag(trait, value, feature, values.mean(), everyone.mean())
        return _with_strength(tag, float("nan"))

    def tag_line(self, tags: list[Tag]) -> str:
        """Tags as one line in the dictionary's order, like the shop's own labels (in the
        current language)."""
        return " · ".join(t.word("label") for t in tags if t.shown)


def _trait(name: str, spec: dict[str, Any]) -> Trait:
    features = spec.get("feature", ())
    rule = next((r for r in THRESHOLDS if r in spec), None)
    return Trait(
        name=name,
        kind=spec["kind"],
        label=spec.get("label", name),
        features=(features,) if isinstance(features, str) else tuple(features),
        decide=spec.get("decide", "mean"),
        bands={k: _ranges(v) for k, v in spec.get("bands", {}).items()},
        argmax=spec.get("argmax"),
        rule=rule,
        threshold=spec.get(rule) if rule else None,
        names=spec.get("name"),
        nouns=spec.get("noun"),
        says=spec.get("says", ""),
        figure=spec.get("figure"),
        words={lang: spec[lang] for lang in i18n.LANGUAGES if lang in spec},
    )


def _ranges(spec: list) -> tuple[tuple[float, float], ...]:
    """A band's ranges: ``[from, to]``, or a list of them (a band across midnight)."""
    ranges = spec if isinstance(spec[0], list | tuple) else [spec]
    return tuple((float(low), float(high)) for low, high in ranges)


def _passes(trait: Trait, values: pd.Series, average: float) -> pd.Series:
    limit = trait.threshold * average if trait.rule.endswith("times_average") else trait.threshold
    return values >= limit if trait.rule.startswith("at_least") else values <= limit


def _band(trait: Trait, values: pd.Series) -> pd.Series:
    """Each value's band label (None outside every band or missing)."""
    out = pd.Series(None, index=values.index, dtype=object)
    for label, ranges in trait.bands.items():
        for low, high in ranges:
            out[(values >= low) & (values < high)] = label
    return out


def _tag(trait: Trait, value: Any, feature: str, number: float, average: float) -> Tag:
    strength = number / average if average else np.inf
    with i18n.language(i18n.SOURCE):
        english = _words(trait, value)
    return Tag(
        trait=trait.name,
        kind=trait.kind,
        value=value,
        feature=feature,
        number=float(number),
        average=float(average),
        strength=float(strength),
        **english,
        words={
            lang: _own_words(trait, value, lang) for lang in i18n.LANGUAGES if lang != i18n.SOURCE
        },
    )


def _words(trait: Trait, value: Any, keys: tuple[str, ...] = WORDS) -> dict[str, str]:
    """A tag's label, figure and meaning in the current language."""
    making = {
        "label": lambda: trait.label_for(value),
        "figure": trait.figure_text,
        "says": trait.says_text,
    }
    return {key: making[key]() for key in keys}


def _own_words(trait: Trait, value: Any, lang: str) -> dict[str, str]:
    """The words of a tag that the dictionary (or the catalogues) has in ``lang``; a word
    it lacks is left out, so that a page in ``lang`` says English stands in for it."""
    own = {}
    for key in WORDS:
        with i18n.language(lang), i18n.fallbacks() as english:
            text = _words(trait, value, (key,))[key]
        if not english:
            own[key] = text
    return own


def _with_strength(tag: Tag, strength: float) -> Tag:
    return Tag(**{**tag.__dict__, "strength": float(strength)})
