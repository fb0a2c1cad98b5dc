"""What the personas notebook shows: cards in the shop's words, units and currency."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from customer_analytics.personas.cards import ActionRules, build_personas
from customer_analytics.personas.report import card_html
from customer_analytics.personas.tags import TagDictionary


def test_cards_write_shares_as_percentages_and_money_in_the_shop_currency(shop) -> None:
    table = shop().assign(aov=250.0)
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load())
    card = json.loads(json.dumps(cards[0].to_dict(), default=str))
    page = card_html(card, "CNY")
    female = card["demographics"]["female"]
    assert f"female: {female:.0%}" in page and f"{female:.0%} female" in page
    assert str(female) not in page
    # Money as the reader's locale writes the shop's currency (CN¥ in English, ¥ in Chinese).
    assert "average order value: CN¥250" in page
    high_value = next(t for t in card["tags"] if t["trait"] == "high_value")
    assert f"CN¥{high_value['number']:,.0f}" in page
    assert "of orders with a coupon" in page


def test_cards_in_chinese_compose_names_and_tags_from_the_dictionary_words(shop) -> None:
    from customer_analytics import i18n

    table = shop().assign(aov=250.0)
    labels = pd.Series(np.repeat([0, 1], 200), index=table.index)
    cards = build_personas(table, labels, TagDictionary.load(), ActionRules.load())
    card = json.loads(json.dumps(cards[0].to_dict(), default=str))
    assert card["words"]["zh"]["name"].endswith("美妆爱好者")
    with i18n.language("zh"), i18n.fallbacks() as english:
        page = card_html(card, "CNY")
    assert not english
    assert card["words"]["zh"]["name"] in page and "平均客单价：¥250" in page
    assert "CNY" not in page and "beauty" not in page
