"""Card lines and given names: every card has a name, an avatar, goals and interests,
objections, channel and hour lines each with its figure and the shop's, in both
languages; the planted personas' traits show in their cards; a source without events or
demographics says which lines it could not fill."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from support import CliRun, on_run

from customer_analytics import i18n
from customer_analytics.personas.cards import ActionRules, build_personas
from customer_analytics.personas.lines import CardLines, GivenNames
from customer_analytics.personas.report import card_html
from customer_analytics.personas.stage import PERSONAS
from customer_analytics.personas.tags import TagDictionary
from customer_analytics.pipeline.outputs import stage_findings

SECTIONS = ("goals", "objections", "channel", "hour")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _cards(table: pd.DataFrame) -> list:
    labels = pd.Series(np.repeat([0, 1], len(table) // 2), index=table.index)
    return build_personas(table, labels, TagDictionary.load(), ActionRules.load())


def test_names_are_distinct_stable_and_in_both_languages(shop) -> None:
    first, again = _cards(shop()), _cards(shop())
    assert [c.full_name for c in first] == [c.full_name for c in again]
    assert len({c.full_name for c in first}) == len(first)
    beauty = next(c for c in first if c.name.endswith("beauty lovers"))
    given = beauty.full_name.split(",")[0]
    female = [e["en"] for e in GivenNames.load().tree["female"]]
    assert given in female, "a persona of women is called by a woman's name"
    assert beauty.full_name.endswith("young urban beauty lovers")
    assert CHINESE.search(beauty.words["zh"]["full_name"])
    assert beauty.words["zh"]["full_name"].endswith(beauty.words["zh"]["name"])
    assert set(beauty.avatar["initials"]) == {"en", "zh"} and beauty.avatar["colour"]


def test_given_names_never_repeat_even_when_descriptions_hash_alike() -> None:
    names = GivenNames.load()
    chosen = names.choose([f"persona {i}" for i in range(30)], ["female"] * 30)
    assert len({c["en"] for c in chosen}) == 30
    assert chosen[:5] == names.choose([f"persona {i}" for i in range(5)], ["female"] * 5)


def test_lines_carry_their_figure_and_the_shops_and_follow_the_rules(shop) -> None:
    cards = _cards(shop())
    beauty = next(c for c in cards if c.name.endswith("beauty lovers"))
    by_figure = {line["figure"]: line for line in beauty.lines}
    assert by_figure["top_category"]["item"] == "beauty"
    assert {"coupon_share", "cart_abandonment"} <= set(by_figure)
    assert by_figure["coupon_share"]["value"] == 0.7
    assert by_figure["coupon_share"]["average"] == 0.4
    card = json.loads(json.dumps(beauty.to_dict(), default=str))
    page = card_html(card, "CNY")
    assert "<svg" in page and "Waits for a deal: 70% of orders with a coupon (shop 40%)" in page
    with i18n.language("zh"), i18n.fallbacks() as english:
        page = card_html(card, "CNY")
    assert not english
    assert "等优惠才下单：70%的订单用了优惠券（全店 40%）" in page and "不购买的原因" in page


def test_a_section_with_nothing_standing_out_shows_its_nearest_figure(shop) -> None:
    """The other half of the shop has no objection above the shop's: the card still
    gives the nearest figure, marked as such."""
    other = next(c for c in _cards(shop()) if not c.name.endswith("beauty lovers"))
    objections = [line for line in other.lines if line["section"] == "objections"]
    assert len(objections) == 1 and objections[0]["nearest"]


def test_a_source_without_events_or_demographics_says_what_it_could_not_fill(shop) -> None:
    table = shop().drop(columns=["cart_abandonment", "age", "female", "city_tier"])
    for card in _cards(table):
        missing = {(line["needs"], line["figure"]) for line in card.unfilled}
        assert ("events", "cart_abandonment") in missing
        assert ("demographics", "gender") in missing
        # no feedback table among this test's figures: no pains
        assert {("ratings", "low_rated"), ("return_reasons", "return_reason")} <= missing
        card_dict = json.loads(json.dumps(card.to_dict(), default=str))
        page = card_html(card_dict, "CNY", lines=CardLines.load())
        assert "no web or app events in this source" in page
        assert "no rated reviews in this source" in page
        assert card.full_name.split(",")[0] in [e["en"] for e in GivenNames.load().tree["any"]]


@on_run("tiny")
def test_every_tiny_card_has_its_name_avatar_and_lines_with_evidence(
    config_run: Callable[[str], CliRun],
) -> None:
    run = config_run("tiny")
    cards = json.loads(PERSONAS.path(run.stages).read_text())
    assert cards and len({c["full_name"] for c in cards}) == len(cards)
    for card in cards:
        assert card["full_name"].endswith(card["name"][0].lower() + card["name"][1:])
        assert CHINESE.search(card["words"]["zh"]["full_name"])
        assert card["avatar"]["initials"]["zh"] and card["avatar"]["colour"].startswith("#")
        for section in SECTIONS:
            shown = [line for line in card["lines"] if line["section"] == section]
            assert shown, (card["name"], section)
            for line in shown:
                assert np.isfinite(line["value"]) and np.isfinite(line["average"])
                assert line["words"]["zh"]["text"]
        assert card["unfilled"] == []
    found = stage_findings(run.stages["06_personas"])
    assert found["unfilled_lines"] == {}
    # pains from the reviews and returns (feedback.py's pain_figures), in both languages
    pains = [line for card in cards for line in card["lines"] if line["section"] == "pains"]
    assert pains and all(CHINESE.search(line["words"]["zh"]["text"]) for line in pains)
    page = (run.report / "06_personas.zh.html").read_text()
    for card in cards:
        assert card["words"]["zh"]["full_name"] in page
    assert "不购买的原因" in page and "<svg" in page
    # what later stages give each persona, written on its card once the run has them
    picks = run.findings("08_recommend")["persona_products"]
    shown = [c for c in cards if picks.get(c["name"])]
    assert shown and page.count("推荐商品（08）") == len(shown)
    english = (run.report / "06_personas.html").read_text()
    assert english.count("Products to recommend (08)") == len(shown)
    assert "In the targeting plan (09)" in english


@on_run("tiny")
def test_planted_personas_show_their_traits_in_goals_and_objections(
    config_run: Callable[[str], CliRun],
) -> None:
    """The card holding most of a planted persona (personas/truth.py) says what the
    shop planted: the young urban beauty lovers come for beauty and wait for deals and
    leave carts; the bargain hunters wait for deals, leave carts and return."""
    run = config_run("tiny")
    cards = {c["name"]: c for c in json.loads(PERSONAS.path(run.stages).read_text())}
    truth = stage_findings(run.stages["06_personas"])["truth"]

    def lines(planted: str, section: str) -> dict[str, str | None]:
        card = cards[truth[planted]["persona"]]
        return {
            line["figure"]: line["item"]
            for line in card["lines"]
            if line["section"] == section and not line["nearest"]
        }

    assert lines("young_urban_beauty", "goals").get("top_category") == "beauty"
    assert {"coupon_share", "cart_abandonment"} <= set(lines("young_urban_beauty", "objections"))
    assert {"coupon_share", "cart_abandonment", "return_share"} <= set(
        lines("bargain_hunters", "objections")
    )
    assert lines("seasonal_gifters", "goals").get("top_category") == "food"
    assert "festival" in lines("seasonal_gifters", "goals")
    assert lines("tech_enthusiasts", "goals").get("top_category") == "electronics"
    assert lines("tech_enthusiasts", "channel").get("channel") == "web"
