"""The voice of the customer: planted themes recovered in their cells, a quiet negative
control, snippets without personal data, and sources without feedback text."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import CliRun, on_run

from customer_analytics.personas.feedback import (
    NO_FEEDBACK,
    NO_TEXT,
    FeedbackRules,
    log_odds_z,
    read_feedback,
    read_voice,
    segment,
    truth_themes,
)
from customer_analytics.privacy import RULES, mask_text
from customer_analytics.synthetic import generate

RULES_FB = FeedbackRules.load()
#: As tests/synthetic/test_feedback.py: every theme cell holds dozens of low-rated
#: reviews (the tiny shop's a handful), and the shop generates in seconds.
CUSTOMERS = 5_000


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The 5,000-customer shop's voice, texts masked as ingest masks them. Personas are
    the planted ones, from the truth's customers file, not clusters: this checks the
    statistics, not the clustering (the default run's findings map clusters)."""
    shop = tmp_path_factory.mktemp("voice")
    generate(shop, n_customers=CUSTOMERS, seed=42)
    raw = pd.read_csv(shop / "raw" / "feedback.csv", dtype=str, keep_default_na=False)
    people = pd.read_csv(shop / "raw" / "customers.csv", dtype=str, keep_default_na=False)
    masked, _ = mask_text(ibis.memtable(raw), ("text",), ibis.memtable(people))
    feedback = masked.to_pandas().sort_values("_row").drop(columns="_row")
    truth = pd.read_parquet(shop / "truth" / "customers.parquet")
    persona = truth.drop_duplicates("customer_id").set_index("customer_id")["persona"]
    products = pd.read_csv(shop / "raw" / "products.csv", dtype=str)
    category = products.set_index("product_id")["category"]
    found = read_voice(feedback, persona, category, 10, RULES_FB)
    return shop, persona, found, people


def test_each_planted_theme_ranks_in_the_top_three_of_its_cell(voice: tuple) -> None:
    shop, persona, found, _ = voice
    truth = truth_themes(shop / "truth", persona, found.themes, found.findings)
    planted = {k: v for k, v in truth.items() if k != "negative_control"}
    assert len(planted) == 5
    for name, check in planted.items():
        assert check["persona"] == check["planted_persona"], name
        assert check["rank"] is not None and check["rank"] <= 3, (name, check)
        assert check["theme"], (name, check)  # above the noise rule too


def test_the_negative_control_shows_nothing_above_the_noise_rule(voice: tuple) -> None:
    shop, persona, found, _ = voice
    control = truth_themes(shop / "truth", persona, found.themes, found.findings)[
        "negative_control"
    ]
    assert control["themes"] == 0
    assert control["top_z"] < control["z_above"]
    cell = found.themes[
        (found.themes["persona"] == "tech_enthusiasts")
        & (found.themes["category"] == "electronics")
    ]
    assert len(cell) and not cell["theme"].any()
    assert "tech_enthusiasts" not in found.findings["pains"]


def test_noise_rule_is_bonferroni_over_the_tests_and_at_least_its_floor(voice: tuple) -> None:
    _, _, found, _ = voice
    rule = found.findings["noise_rule"]
    assert rule["tests"] > 100
    assert rule["z_above"] == round(RULES_FB.noise.threshold(rule["tests"]), 2)
    assert rule["z_above"] >= RULES_FB.noise.min_z
    themes = found.themes[found.themes["theme"]]
    assert (themes["z"] > rule["z_above"]).all()
    assert (themes["reviews"] >= RULES_FB.noise.min_reviews).all()


def test_snippets_carry_no_personal_data_nor_customer_ids(voice: tuple) -> None:
    _, _, found, people = voice
    snippets = found.themes.loc[found.themes["theme"], "snippets"]
    assert snippets.str.len().gt(0).all()
    text = "\n".join(snippets)
    for rule in RULES["text_masks"].values():
        assert re.search(rule["pattern"], text) is None
    assert re.search(r"\d{5,}", text) is None
    assert not any(cid in text for cid in people["customer_id"])
    emails = people["email"][people["email"].str.len() > 0]
    assert not any(e in text for e in emails)
    assert "customer_id" not in found.themes.columns


def test_pains_per_persona_are_the_theme_words_strongest_first(voice: tuple) -> None:
    _, _, found, _ = voice
    pains = found.findings["pains"]
    assert {"premium_fashion", "family_essentials", "seasonal_gifters"} <= set(pains)
    for rows in pains.values():
        zs = [r["z"] for r in rows]
        assert zs == sorted(zs, reverse=True)
        assert {"category", "word", "name", "reviews", "share", "z"} <= set(rows[0])


def test_small_cells_are_not_described(voice: tuple) -> None:
    _, _, found, _ = voice
    assert (found.themes["cell_reviews"] >= 10).all()
    ratings = found.ratings
    assert (ratings.loc[ratings["level"] == "product", "reviews"] >= 20).all()


def test_a_source_without_feedback_or_text_says_what_it_could_not_compute() -> None:
    persona = pd.Series({"C1": "a", "C2": "b"})
    nothing = read_voice(None, persona, None, 10, RULES_FB)
    assert nothing.findings["could_not"] == {
        "ratings": NO_FEEDBACK,
        "returns": NO_FEEDBACK,
        "themes": NO_FEEDBACK,
    }
    assert nothing.themes.empty and nothing.findings["pains"] == {}
    # Ratings but no text (the canonical table's text column absent)
    rows = pd.DataFrame(
        {
            "kind": ["review"] * 24,
            "customer_id": ["C1", "C2"] * 12,
            "product_id": ["P1"] * 24,
            "rating": [1, 5] * 12,
            "return_reason": [None] * 24,
        }
    )
    silent = read_voice(rows, persona, pd.Series({"P1": "home"}), 10, RULES_FB)
    assert silent.findings["could_not"]["themes"] == NO_TEXT
    assert not silent.ratings.empty


def test_segmentation_drops_stop_words_punctuation_digits_and_placeholders() -> None:
    words = segment("尺码偏小，建议拍大一码了。电话[电话] 123", RULES_FB.stop_words)
    assert "尺码" in words and "偏小" in words
    assert not {"了", "，", "。", "123", "[电话]", "电话"} & set(words)


def test_log_odds_z_is_zero_for_a_word_used_alike_and_positive_for_one_used_more() -> None:
    cell = pd.Series({"a": 10.0, "b": 10.0})
    other = pd.Series({"a": 100.0, "b": 100.0})
    z = log_odds_z(cell, other, cell + other, 100.0)["z"]
    assert abs(z["a"]) < 1e-9 and abs(z["b"]) < 1e-9
    z = log_odds_z(pd.Series({"a": 30.0, "b": 5.0}), other, other + 35, 100.0)["z"]
    assert z["a"] > 2 > 0 > z["b"]


def test_jieba_loads_quietly() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from customer_analytics.personas.feedback import segment; segment('尺码偏小', frozenset())",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "prefix dict" not in done.stderr + done.stdout


def test_cells_under_the_minimum_leave_an_empty_themes_table_with_its_columns() -> None:
    rows = pd.DataFrame(
        {
            "kind": ["review"] * 4,
            "customer_id": ["C1", "C2"] * 2,
            "product_id": ["P1"] * 4,
            "rating": [1, 5] * 2,
            "return_reason": [None] * 4,
            "text": ["包装破了"] * 4,
        }
    )
    found = read_voice(
        rows, pd.Series({"C1": "a", "C2": "b"}), pd.Series({"P1": "home"}), 10, RULES_FB
    )
    assert found.themes.empty and "word" in found.themes.columns
    assert found.findings["pains"] == {}


@pytest.mark.slow
@on_run("default")
def test_the_default_run_finds_each_planted_theme_in_its_found_persona_s_cell(
    config_run: Callable[[str], CliRun],
) -> None:
    """Through the command line, with the personas 05_clustering found (each planted
    persona matched to the found persona holding most of its customers): every planted
    theme ranks in its cell's top three above the noise rule, and the negative control's
    best word stays under the rule."""
    truth = dict(config_run("default").findings("06_personas")["feedback_truth"])
    control = truth.pop("negative_control")
    assert len(truth) == 5
    for cell, found in truth.items():
        assert found["rank"] <= 3 and found["theme"], (cell, found)
    assert control["themes"] == 0 and control["top_z"] < control["z_above"], control


def test_feedback_and_order_lines_after_as_of_are_not_read(tmp_path: Path) -> None:
    """As the features leave out later orders, the voice of the customer leaves out
    reviews, returns and order lines dated after ``as_of`` (UTC, the end of the day);
    an undated review is kept, a credit note is no purchase, and merged accounts'
    feedback is their person's."""
    feedback = pd.DataFrame(
        {
            "kind": ["review", "review", "review", "return"],
            "customer_id": ["C1", "C2", "C3", "C1"],
            "product_id": ["P1", "P1", "P2", "P1"],
            "ts_utc": pd.to_datetime(
                ["2025-06-30 23:59", "2025-07-01 00:00", None, "2025-08-01 10:00"]
            ),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["C1", "C2", "C1"],
            "order_ts_utc": pd.to_datetime(["2025-06-01", "2025-07-02", "2025-06-02"]),
            "is_return": [False, False, True],
        }
    )
    items = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "product_id": ["P1", "P2", "P1"]})
    identity = pd.DataFrame({"customer_id": ["C3"], "merged_customer_id": ["C1"]})
    tables = {}
    for name, frame in [
        ("feedback", feedback), ("orders", orders), ("order_items", items),
        ("identity_map", identity),
    ]:  # fmt: skip
        tables[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(tables[name])

    read = read_feedback(tables, dt.date(2025, 6, 30))
    assert read.feedback["customer_id"].tolist() == ["C1", "C1"]
    assert read.feedback["product_id"].tolist() == ["P1", "P2"]
    assert read.order_lines.to_dict("records") == [{"customer_id": "C1", "product_id": "P1"}]
    assert read.category is None
    later = read_feedback(tables, dt.date(2025, 8, 1))
    assert len(later.feedback) == 4 and len(later.order_lines) == 2


@on_run("tiny")
def test_the_clean_feedback_table_carries_its_time_in_utc(
    config_run: Callable[[str], CliRun],
) -> None:
    """The clean stage parses feedback times (rule ``feedback_timestamp``), so the
    features and the voice of the customer can leave out what came after ``as_of``."""
    run = config_run("tiny")
    clean = pd.read_parquet(run.stages["02_clean"] / "feedback.parquet")
    assert clean["ts_utc"].notna().all() and len(clean)
    assert clean["ts_utc"].max() > pd.Timestamp(run.findings("01_ingest")["as_of"])
