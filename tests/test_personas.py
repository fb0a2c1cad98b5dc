"""Tags, names and actions of personas, and the planted personas' traits they must recover."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from customer_analytics.personas import NAME_STRENGTH, ActionRules, build_personas, persona_name
from customer_analytics.report.cards import card_html
from customer_analytics.tags import TagDictionary

PERSONAS = Path(__file__).resolve().parents[1] / "src/customer_analytics/synthetic/personas.yaml"


def shop(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Two kinds of customers: young app-using beauty buyers with coupons, and the rest."""
    rng = np.random.default_rng(seed)
    beauty = np.arange(n) < n // 2
    table = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 300, n),
            "tenure_days": rng.uniform(200, 700, n),
            "frequency": np.where(beauty, 3, 6) + rng.integers(0, 2, n),
            "monetary": rng.gamma(4, 300, n),
            "coupon_share": np.where(beauty, 0.7, 0.1),
            "cart_abandonment": np.where(beauty, 0.9, 0.3),
            "return_share": 0.02,
            "category_beauty": np.where(beauty, 0.8, 0.1),
            "category_food": np.where(beauty, 0.2, 0.9),
            "channel_app": np.where(beauty, 0.9, 0.2),
            "channel_web": np.where(beauty, 0.1, 0.8),
            "age": np.where(beauty, 22, 48),
            "female": np.where(beauty, 1.0, rng.integers(0, 2, n).astype(float)),
            "city_tier": np.where(beauty, 1, 3),
        },
        index=pd.Index([f"C{i:04d}" for i in range(n)], name="customer_id"),
    )
    return table


def test_every_planted_trait_is_in_the_dictionary_vocabulary() -> None:
    """The truth is written in the tag dictionary's words: every planted trait is a trait
    of the dictionary, and every categorical value one its rule can produce."""
    dictionary = TagDictionary.load()
    personas = yaml.safe_load(PERSONAS.read_text())
    values = {
        "top_category": set(personas["categories"]),
        "channel": set(personas["channels"]),
    }
    for spec in personas["personas"].values():
        for trait, value in spec["traits"].items():
            rule = dictionary[trait]
            if rule.is_flag:
                assert isinstance(value, bool), trait
            elif rule.bands:
                assert value in rule.bands, (trait, value)
            else:
                assert value in values[trait], (trait, value)


def test_group_tags_carry_the_number_and_the_shop_average() -> None:
    table = shop()
    beauty = table.iloc[:200]
    tags = {t.trait: t for t in TagDictionary.load().tag_group(beauty, table)}
    assert tags["top_category"].value == "beauty"
    assert tags["channel"].value == "app"
    assert tags["age_band"].value == "18-24" and tags["age_band"].number == 1.0
    assert tags["gender"].value == "female"
    assert tags["city_tier"].value == "tier-1"
    assert tags["promo_sensitive"].value is True
    assert tags["promo_sensitive"].number == pytest.approx(0.7)
    assert tags["promo_sensitive"].average == pytest.approx(0.4)
    assert tags["cart_abandoner"].value is True
    assert tags["frequent"].value is False and tags["returner"].value is False
    assert "clv" not in tags["high_value"].feature  # no CLV: net spend stands in


def test_customers_are_tagged_by_the_same_rules() -> None:
    table = shop()
    tags = TagDictionary.load().tag_customers(table)
    assert (tags.loc[table.index[:200], "top_category"] == "beauty").all()
    assert (tags.loc[table.index[200:], "top_category"] == "food").all()
    assert tags.loc[table.index[:200], "promo_sensitive"].all()
    assert not tags.loc[table.index[200:], "promo_sensitive"].any()
    assert set(tags["age_band"]) == {"18-24", "45-54"}


def test_a_source_without_a_feature_gets_no_tag_for_it_and_says_why() -> None:
    table = shop().drop(columns=["coupon_share", "age"])
    dictionary = TagDictionary.load()
    missing = dictionary.missing(table)
    assert set(missing) >= {"promo_sensitive", "age_band", "seasonal"}
    tags = {t.trait for t in dictionary.tag_group(table.iloc[:200], table)}
    assert "promo_sensitive" not in tags and "age_band" not in tags


def test_names_come_from_the_strongest_tags_and_are_unique() -> None:
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


def test_every_card_field_is_filled_or_says_why_not() -> None:
    table = shop().drop(columns=["age", "female", "city_tier"])
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    missing = {"demographics": "no customers table"}
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load(), missing=missing)
    for card in cards:
        for name, value in card.__dict__.items():
            assert value not in (None, "", {}, []), name
        assert card.demographics == "no demographics: no customers table"
        assert card.share_clv.startswith("no CLV")


def test_planted_traits_are_decided_by_their_distributions() -> None:
    """A categorical trait is planted only where its value leads the runner-up by at least
    0.10 (gender: a female share at least 0.10 from the 0.4/0.6 edges of "mixed"); a tie
    cannot be recovered by any clustering, so it must not be in the truth."""
    personas = yaml.safe_load(PERSONAS.read_text())
    tiers = [f"tier-{i}" for i in range(1, 6)]
    for name, spec in personas["personas"].items():
        distributions = {
            "age_band": spec["age"],
            "city_tier": dict(zip(tiers, spec["tiers"], strict=True)),
            "top_category": dict(zip(personas["categories"], spec["categories"], strict=True)),
            "channel": dict(zip(personas["channels"], spec["channels"], strict=True)),
        }
        for trait, shares in distributions.items():
            ranked = sorted(shares.items(), key=lambda kv: -kv[1])
            decided = ranked[0][1] - ranked[1][1] >= 0.10 - 1e-9
            if trait in spec["traits"]:
                assert decided and spec["traits"][trait] == ranked[0][0], (name, trait)
        female = spec["female"]
        gender = "female" if female >= 0.6 else "male" if female < 0.4 else "mixed"
        margin = min(abs(female - 0.4), abs(female - 0.6))
        if "gender" in spec["traits"]:
            assert margin >= 0.10 - 1e-9 and spec["traits"]["gender"] == gender, name


def test_top_tags_and_names_only_from_tags_that_set_the_persona_apart() -> None:
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


def test_habit_brand_price_and_device_tags() -> None:
    """Order time bands cross midnight; price band, brand loyalty, device and weekend
    shopping are decided by the same dictionary for customers and personas."""
    n = 400
    night = np.arange(n) < n // 2
    table = shop(n).assign(
        order_hour=np.where(night, np.tile([23.5, 1.0, 3.0, 22.0], n // 4), 7.5),
        price_index=np.where(night, 2.0, 0.6),
        brand_loyalty=np.where(night, 0.9, 0.3),
        device_desktop=np.where(night, 0.8, 0.1),
        device_ios=np.where(night, 0.2, 0.9),
        weekend_share=np.where(night, 0.1, 0.6),
    )
    dictionary = TagDictionary.load()
    customers = dictionary.tag_customers(table)
    assert set(customers.loc[night, "time_of_day"]) == {"night-owl"}
    assert set(customers.loc[~night, "time_of_day"]) == {"early-bird"}
    assert set(customers.loc[night, "price_band"]) == {"premium"}
    assert customers.loc[~night, "weekend_shopper"].all()
    tags = {t.trait: t for t in dictionary.tag_group(table[night], table)}
    assert tags["time_of_day"].value == "night-owl" and tags["time_of_day"].number == 1.0
    assert tags["price_band"].value == "premium" and tags["price_band"].strength == 2.0
    assert tags["brand_loyal"].value is True and tags["device"].value == "desktop"
    assert tags["weekend_shopper"].value is False
    assert "night-owl" in dictionary.tag_line(list(tags.values()))


def test_cards_write_shares_as_percentages_and_money_in_the_shop_currency() -> None:
    table = shop().assign(aov=250.0)
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load())
    card = json.loads(json.dumps(cards[0].to_dict(), default=str))
    page = card_html(card, "CNY")
    female = card["demographics"]["female"]
    assert f"female: {female:.0%}" in page and f"{female:.0%} female" in page
    assert str(female) not in page
    assert "average order value: 250 CNY" in page
    high_value = next(t for t in card["tags"] if t["trait"] == "high_value")
    assert f"{high_value['number']:,.0f} CNY" in page
    assert "of orders with a coupon" in page
