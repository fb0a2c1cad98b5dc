"""Persona cards: names from the strongest distinguishing tags, actions by rule, and every
field filled or saying why not (``shop`` of conftest.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.personas.cards import (
    NAME_STRENGTH,
    ActionRules,
    build_personas,
    persona_name,
)
from customer_analytics.personas.tags import TagDictionary


def test_names_come_from_the_strongest_tags_and_are_unique(shop) -> None:
    table = shop()
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load())
    names = [c.name for c in cards]
    assert len(set(names)) == 2
    beauty = next(c for c in cards if "beauty" in c.tag_line)
    assert beauty.name.endswith("beauty lovers")
    assert beauty.name.split()[0] in {"Young", "Urban", "Hesitant", "Deal-seeking"}
    # A name is a pure function of the tags: the same tags, the same name.
    again = persona_name(beauty.tags, TagDictionary.load())
    assert again == beauty.name


def test_coupons_only_for_the_promo_sensitive_and_vip_for_high_value() -> None:
    rules = ActionRules.load()
    assert [a["action"] for a in rules.for_tags({"promo_sensitive"})] == ["Targeted coupons"]
    assert "Targeted coupons" not in [
        a["action"] for a in rules.for_tags({"high_value", "frequent"})
    ]
    assert rules.for_tags({"high_value", "churn_risk"})[0]["action"] == "VIP perks"
    assert rules.for_tags(set())[0]["action"] == rules.default["action"]
    tags = pd.DataFrame({"promo_sensitive": [True, False], "high_value": [True, False]})
    assert list(rules.for_customers(tags)) == ["VIP perks", rules.default["action"]]


def test_every_card_field_is_filled_or_says_why_not(shop) -> None:
    table = shop().drop(columns=["age", "female", "city_tier"])
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    missing = {"demographics": "no customers table"}
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load(), missing=missing)
    for card in cards:
        for name, value in card.__dict__.items():
            assert value not in (None, "", {}, []), name
        assert card.demographics == "no demographics: no customers table"
        assert card.share_clv.startswith("no CLV")


def test_top_tags_and_names_only_from_tags_that_set_the_persona_apart(shop) -> None:
    """Both halves hold promo-sensitive (coupons on half or more of orders), but the
    other half less than the shop does: not one of its top tags."""
    table = shop().assign(coupon_share=np.repeat([0.7, 0.55], 200))
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load())
    other = next(c for c in cards if c.cluster == 1)
    promo = next(t for t in other.tags if t.trait == "promo_sensitive")
    assert promo.value is True and promo.strength < 1
    assert "promo_sensitive" not in {t.trait for t in other.top_tags}
    for card in cards:
        assert card.top_tags and all(t.strength >= NAME_STRENGTH for t in card.top_tags)
