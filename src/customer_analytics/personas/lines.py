"""A persona card's lines and its given name, by the rules of ``lines.yaml`` and ``names.yaml``.

Each line is one figure of the persona against the shop's average
(:mod:`customer_analytics.personas.evidence`), written when its condition holds; a line
whose figure the source cannot give is listed as not filled, with the reason. Given
names are chosen from lists kept as data, one entry per person in every report language,
by a hash of the persona's English description: the same persona keeps its name.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from customer_analytics import i18n
from customer_analytics.personas.evidence import HOUR_WINDOW, Reading
from customer_analytics.personas.tags import TagDictionary

LINES_FILE = Path(__file__).with_name("lines.yaml")
NAMES_FILE = Path(__file__).with_name("names.yaml")
#: Conditions a line may carry, as the tag dictionary's (tags.yaml).
CONDITIONS = ("at_least", "at_most", "at_least_times_average", "at_most_times_average")


@dataclass(frozen=True)
class CardLines:
    """The card-line rules of ``lines.yaml`` (or a shop's own file of the same shape)."""

    figures: dict[str, dict[str, Any]]
    sections: dict[str, dict[str, Any]]
    lines: tuple[dict[str, Any], ...]
    festivals: dict[str, dict[str, Any]]
    reasons: dict[str, dict[str, Any]]
    return_reasons: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path | None = None) -> CardLines:
        """Read card-line rules; ``None`` reads the package's ``lines.yaml``."""
        tree = yaml.safe_load((path or LINES_FILE).read_text())
        return cls(
            tree["figures"],
            tree["sections"],
            tuple(tree["lines"]),
            {str(k): v for k, v in tree.get("festivals", {}).items()},
            tree.get("reasons", {}),
            tree.get("return_reasons", {}),
        )

    def write(
        self, readings: dict[str, Reading], dictionary: TagDictionary
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A persona's lines and the lines it cannot fill.

        Parameters
        ----------
        readings
            The persona's figures (figure name -> reading); a figure absent cannot be
            given by this source.
        dictionary
            The tag dictionary, for the words of items (categories, channels).

        Returns
        -------
        tuple
            The lines written, by section in the file's order, strongest first (a
            section marked ``always`` with no line holding shows its nearest line,
            ``nearest: True``); and the lines not filled (``section``, ``figure``,
            ``needs`` and ``why`` in each report language).
        """
        written: list[dict[str, Any]] = []
        unfilled: list[dict[str, Any]] = []
        for section, spec in self.sections.items():
            candidates = []
            for rule in (r for r in self.lines if r["section"] == section):
                reading = readings.get(rule["figure"])
                if reading is None or _missing(reading.value):
                    needs = self.figures[rule["figure"]].get("needs", "")
                    unfilled.append(self.not_filled(section, rule["figure"], needs))
                    continue
                holds, strength = _condition(rule, reading)
                candidates.append((holds, strength, rule, reading))
            held = sorted((c for c in candidates if c[0]), key=lambda c: -c[1])
            chosen = held[: int(spec.get("max", 3))]
            if not chosen and spec.get("always") and candidates:
                chosen = [max(candidates, key=lambda c: c[1])]
            for holds, strength, rule, reading in chosen:
                written.append(self._line(section, rule, reading, strength, not holds, dictionary))
        return written, unfilled

    def _line(
        self,
        section: str,
        rule: dict[str, Any],
        reading: Reading,
        strength: float,
        nearest: bool,
        dictionary: TagDictionary,
    ) -> dict[str, Any]:
        figure = self.figures[rule["figure"]]
        words = {}
        for lang in i18n.LANGUAGES:
            with i18n.language(lang), i18n.fallbacks() as english:
                text = i18n.word(rule, "text", what=f"lines.yaml: {rule['figure']} text")
                item = self._item(figure, reading.item, dictionary)
            if lang == i18n.SOURCE:
                words[lang] = {"text": text, "item": item}
            elif not english:
                words[lang] = {"text": text, "item": item}
        return {
            "section": section,
            "figure": rule["figure"],
            "value": round(reading.value, 4),
            "average": round(reading.average, 4),
            "format": figure.get("format", "number"),
            "digits": int(figure.get("digits", 0)),
            "strength": round(strength, 3) if math.isfinite(strength) else None,
            "nearest": nearest,
            **words.pop(i18n.SOURCE),
            "words": words,
        }

    def word_of(self, figure: str, item: str, dictionary: TagDictionary) -> str:
        """``item`` of the figure named ``figure`` (a category of ``low_rated``, a reason
        of ``return_reason``) as a reader's word, in the current language."""
        return self._item(self.figures[figure], item, dictionary)

    def _item(self, figure: dict[str, Any], item: str | None, dictionary: TagDictionary) -> str:
        """The item's word in the current language: a tag dictionary value, a festival's or
        a return reason's name, an hour window, or the item as the data has it (a brand)."""
        if item is None:
            return ""
        source = figure.get("items")
        if source == "hours":
            start = int(item)
            return f"{start:02d}:00–{(start + HOUR_WINDOW) % 24:02d}:00"
        if source in ("festivals", "return_reasons"):
            entry = getattr(self, source).get(item)
            return i18n.word(entry, "name", what=f"lines.yaml: {source} {item}") if entry else item
        if source:
            try:
                return dictionary[source].value_word(item)
            except StopIteration:
                return item.replace("_", " ")
        return item

    def not_filled(self, section: str, figure: str, needs: str) -> dict[str, Any]:
        """A line the card cannot fill: its section, figure and the reason (``needs``,
        a key of ``reasons``) in every report language it has words for."""
        reason = self.reasons.get(needs, {"why": needs})
        return {
            "section": section,
            "figure": figure,
            "needs": needs,
            "why": reason["why"],
            "words": {
                lang: {"why": reason[lang]["why"]}
                for lang in i18n.LANGUAGES
                if isinstance(reason.get(lang), dict) and "why" in reason[lang]
            },
        }

    def section_word(self, section: str) -> str:
        """A section's title in the current language."""
        spec = self.sections.get(section, {"title": section})
        return i18n.word(spec, "title", what=f"lines.yaml: {section} title")


def _missing(value: float) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _condition(rule: dict[str, Any], reading: Reading) -> tuple[bool, float]:
    """Does the rule's condition hold, and how strongly the figure stands out from the
    shop's average (its ratio, inverted for ``at_most`` rules)?"""
    value, average = reading.value, reading.average
    kind = next((c for c in CONDITIONS if c in rule), None)
    if kind is None or kind.startswith("at_least"):
        strength = value / average if average else math.inf
    else:
        strength = average / value if value else math.inf
    if kind is None:
        return True, strength
    limit = rule[kind] * average if kind.endswith("times_average") else rule[kind]
    holds = value >= limit if kind.startswith("at_least") else value <= limit
    return bool(holds), strength


@dataclass(frozen=True)
class GivenNames:
    """Given-name lists and how a card's name is written (``names.yaml``)."""

    tree: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> GivenNames:
        """Read given names; ``None`` reads the package's ``names.yaml``."""
        return cls(yaml.safe_load((path or NAMES_FILE).read_text()))

    def choose(self, descriptions: list[str], genders: list[str | None]) -> list[dict[str, str]]:
        """A distinct given name for each persona, in every report language.

        Parameters
        ----------
        descriptions
            Each persona's English description (its composed name), in the cards'
            order: the earlier card keeps its name when two hash to the same one.
        genders
            Each persona's gender tag (``female``, ``male``, ``mixed``; None unknown).

        Returns
        -------
        list of dict
            Per persona, ``{lang: given name}`` for each language the list spells.
        """
        taken: set[str] = set()
        chosen = []
        for description, gender in zip(descriptions, genders, strict=True):
            pool = self.tree.get(gender) if gender in ("female", "male") else None
            pool = pool or self.tree["any"]
            everyone = pool + [e for k in ("female", "male", "any") for e in self.tree[k]]
            start = _hash(description) % len(pool)
            order = pool[start:] + pool[:start] + everyone
            entry = next((e for e in order if e[i18n.SOURCE] not in taken), None)
            if entry is None:  # more personas than names: a number tells them apart
                entry = {k: f"{v} {len(chosen) + 1}" for k, v in pool[start].items()}
            taken.add(entry[i18n.SOURCE])
            chosen.append({lang: entry[lang] for lang in i18n.LANGUAGES if lang in entry})
        return chosen

    def full_name(self, given: str, description: str) -> str:
        """The card's name in the current language (given name and description)."""
        block = self.tree.get(i18n.current(), {}) if i18n.current() != i18n.SOURCE else {}
        spec = {**self.tree, **block}
        if spec.get("lower_first") and description[:1].isupper():
            description = description[0].lower() + description[1:]
        return spec["format"].format(given=given, persona=description)

    def avatar(self, given: dict[str, str], description: str) -> dict[str, Any]:
        """An avatar to draw locally: initials per language and a colour."""
        colours = self.tree["colours"]
        size = int(self.tree.get("initials", 1))
        return {
            "colour": colours[_hash(description) % len(colours)],
            "initials": {lang: name[:size].upper() for lang, name in given.items()},
        }


def _hash(text: str) -> int:
    """A number from text that is the same in every run (Python's hash() is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
