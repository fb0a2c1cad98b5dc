"""The tag dictionary: traits of customers and of groups, each with its number and the
shop's average, in a vocabulary the planted personas share (``shop`` of conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from support import ROOT

from customer_analytics.personas.tags import TagDictionary

PERSONAS = ROOT / "src/customer_analytics/synthetic/personas.yaml"


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


def test_group_tags_carry_the_number_and_the_shop_average(shop) -> None:
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


def test_customers_are_tagged_by_the_same_rules(shop) -> None:
    table = shop()
    tags = TagDictionary.load().tag_customers(table)
    assert (tags.loc[table.index[:200], "top_category"] == "beauty").all()
    assert (tags.loc[table.index[200:], "top_category"] == "food").all()
    assert tags.loc[table.index[:200], "promo_sensitive"].all()
    assert not tags.loc[table.index[200:], "promo_sensitive"].any()
    assert set(tags["age_band"]) == {"18-24", "45-54"}


def test_a_source_without_a_feature_gets_no_tag_for_it_and_says_why(shop) -> None:
    table = shop().drop(columns=["coupon_share", "age"])
    dictionary = TagDictionary.load()
    missing = dictionary.missing(table)
    assert set(missing) >= {"promo_sensitive", "age_band", "seasonal"}
    tags = {t.trait for t in dictionary.tag_group(table.iloc[:200], table)}
    assert "promo_sensitive" not in tags and "age_band" not in tags


def test_habit_brand_price_and_device_tags(shop) -> None:
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
