"""Tags for customers and personas, assigned by the rules of a tag dictionary (``tags.yaml``).

One dictionary serves both: a customer is tagged on their own feature values, a persona
on its members (the mean of a feature, or the value most members have). Every tag keeps
the number behind it and the shop's average beside it, so a card can say
"promo-sensitive: 55% of orders with a coupon (shop: 40%)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

TAGS_FILE = Path(__file__).with_name("tags.yaml")
THRESHOLDS = ("at_least", "at_most", "at_least_times_average", "at_most_times_average")
#: How a card writes a tag's number when its trait gives no ``figure``: the share of
#: members in the band most hold, or the largest share.
_DEFAULT_FIGURES = {"plurality": "{:.0%} of customers", "argmax": "{:.0%}"}


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
        """The word for this tag in a generated persona name."""
        if isinstance(self.names, dict):
            return self.names.get(str(value))
        return self.names if value is True else None


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

    @property
    def shown(self) -> bool:
        """A tag line shows categorical values and the yes/no tags that hold."""
        return self.value is not False


class TagDictionary:
    """The tag rules of ``tags.yaml`` (or a shop's own file of the same shape).

    Parameters
    ----------
    traits
        The dictionary's traits in the order tag lines list them.
    """

    def __init__(self, traits: list[Trait]) -> None:
        self.traits = traits

    @classmethod
    def load(cls, path: Path | None = None) -> TagDictionary:
        """Read a tag dictionary; ``None`` reads the package's ``tags.yaml``."""
        raw = yaml.safe_load((path or TAGS_FILE).read_text())["traits"]
        return cls([_trait(name, spec) for name, spec in raw.items()])

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
        """Tags as one line in the dictionary's order, like the shop's own labels."""
        return " · ".join(t.label for t in tags if t.shown)


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
    label = trait.label.format(value=str(value).replace("_", " "))
    strength = number / average if average else np.inf
    return Tag(
        trait=trait.name,
        kind=trait.kind,
        value=value,
        label=label,
        feature=feature,
        number=float(number),
        average=float(average),
        strength=float(strength),
        says=trait.says,
        figure=trait.figure or _DEFAULT_FIGURES.get("argmax" if trait.argmax else trait.decide, ""),
    )


def _with_strength(tag: Tag, strength: float) -> Tag:
    return Tag(**{**tag.__dict__, "strength": float(strength)})
