"""The synthetic shop's review texts: planted themes at their rates and only in their cells,
a quiet negative control, personal data where the truth says, and nothing else moved."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_analytics.privacy import RULES
from customer_analytics.synthetic import feedback as voice
from customer_analytics.synthetic import generate
from customer_analytics.synthetic.shop import RETURN_REASONS

SPEC = voice.load()
#: Large enough for every theme cell to hold dozens of low-rated reviews (the tiny shop's
#: hold a handful), small enough to generate in seconds.
CUSTOMERS = 5_000


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("voice")
    generate(out, n_customers=CUSTOMERS, seed=42)
    return out


def _raw(shop: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(shop / "raw" / name, dtype=str, keep_default_na=False)


def _rows(shop: Path) -> pd.DataFrame:
    """The truth's row per feedback row, with the text and reason as exported."""
    rows = pd.read_parquet(shop / "truth" / "feedback_rows.parquet")
    raw = _raw(shop, "feedback.csv")
    assert (rows["feedback_id"].to_numpy() == raw["feedback_id"].to_numpy()).all()
    return rows.assign(text=raw["text"].to_numpy(), return_reason=raw["return_reason"].to_numpy())


def _in_cell(rows: pd.DataFrame, cell: dict) -> np.ndarray:
    inside = (rows["persona"] == cell["persona"]) & (rows["category"] == cell["category"])
    if "city_tier" in cell:
        inside &= rows["city_tier"].isin(cell["city_tier"])
    return inside.to_numpy()


def test_themes_are_data_phrased_several_ways_and_apart_from_the_generic_pool() -> None:
    generic = {p for pool in SPEC["generic"].values() for p in pool}
    for name, theme in SPEC["themes"].items():
        assert len(set(theme["phrases"])) >= 4, name
        assert not set(theme["phrases"]) & generic, name
        assert theme["return_reason"] in RETURN_REASONS, name
        for cell in theme["cells"]:
            assert 0.25 <= cell["rate"] <= 0.4, (name, cell)
    control = SPEC["negative_control"]
    cells = [(c["persona"], c["category"]) for t in SPEC["themes"].values() for c in t["cells"]]
    assert (control["persona"], control["category"]) not in cells


def test_truth_lists_every_theme_cell_and_the_negative_control(shop: Path) -> None:
    themes = pd.read_csv(shop / "truth" / "feedback_themes.csv", dtype=str, keep_default_na=False)
    planted = themes[themes["negative_control"] == "False"]
    expected = {
        (n, c["persona"], c["category"]) for n, t in SPEC["themes"].items() for c in t["cells"]
    }
    assert (
        set(zip(planted["theme"], planted["persona"], planted["category"], strict=True)) == expected
    )
    for _, row in planted.iterrows():
        assert row["phrases"].split("|") == SPEC["themes"][row["theme"]]["phrases"]
    control = themes[themes["negative_control"] == "True"]
    assert len(control) == 1 and control["theme"].iloc[0] == ""
    assert (control["persona"].iloc[0], control["category"].iloc[0]) == tuple(
        SPEC["negative_control"].values()
    )


def test_every_review_has_a_text_and_a_theme_only_where_planted(shop: Path) -> None:
    rows = _rows(shop)
    reviews = rows[rows["kind"] == "review"]
    assert (reviews["text"].str.len() > 0).all()
    assert (rows.loc[rows["kind"] == "return", "text"] == "").all()
    assert (~reviews["theme"].eq("") <= reviews["low_rated"]).all()
    for name, theme in SPEC["themes"].items():
        said = reviews["text"].apply(lambda t, p=theme["phrases"]: any(x in t for x in p))
        assert (said == (reviews["theme"] == name)).all(), name
        inside = np.zeros(len(reviews), dtype=bool)
        for cell in theme["cells"]:
            inside |= _in_cell(reviews, cell)
        assert not ((reviews["theme"] == name).to_numpy() & ~inside).any(), name


def test_themes_appear_at_their_planted_rates_as_a_minority(shop: Path) -> None:
    rows = _rows(shop)
    reviews = rows[rows["kind"] == "review"]
    for name, theme in SPEC["themes"].items():
        for cell in theme["cells"]:
            inside = _in_cell(reviews, cell)
            low = inside & reviews["low_rated"].to_numpy()
            hit = (reviews["theme"] == name).to_numpy() & low
            n, p = int(low.sum()), cell["rate"]
            assert n >= 20, (name, cell, n)
            # within four standard errors of the planted rate
            assert abs(hit.sum() / n - p) <= 4 * np.sqrt(p * (1 - p) / n), (name, cell)
            # a minority of the cell's reviews (low-rated ones are themselves a minority)
            assert hit.sum() / inside.sum() < 0.2
            assert low.sum() / inside.sum() < 0.5


def test_the_negative_control_has_many_low_rated_reviews_and_no_theme(shop: Path) -> None:
    rows = _rows(shop)
    control = rows[_in_cell(rows, SPEC["negative_control"]) & (rows["kind"] == "review")]
    assert control["low_rated"].sum() >= 50
    assert (control["theme"] == "").all()
    phrases = [p for t in SPEC["themes"].values() for p in t["phrases"]]
    assert not control["text"].apply(lambda t: any(p in t for p in phrases)).any()
    # its returns keep the reasons drawn alike
    assert not rows.loc[_in_cell(rows, SPEC["negative_control"]), "return_reason_shifted"].any()


def test_return_reasons_stay_canonical_and_rise_in_their_cells(shop: Path) -> None:
    rows = _rows(shop)
    returns = rows[rows["kind"] == "return"]
    assert set(returns["return_reason"]) <= set(RETURN_REASONS)
    assert (returns["text"] == "").all()
    for theme in SPEC["themes"].values():
        for cell in theme["cells"]:
            inside = returns[_in_cell(returns, cell)]
            share = (inside["return_reason"] == theme["return_reason"]).mean()
            expected = cell["return_shift"] + (1 - cell["return_shift"]) / len(RETURN_REASONS)
            assert abs(share - expected) <= 4 * np.sqrt(expected * (1 - expected) / len(inside))
    outside = ~returns["return_reason_shifted"]
    shares = returns.loc[outside, "return_reason"].value_counts(normalize=True)
    assert (abs(shares - 1 / len(RETURN_REASONS)) < 0.05).all()


def _matches(kind: str, value: str, person: pd.Series) -> bool:
    masks = RULES["text_masks"]
    pattern = {"email": "e-mail address", "phone": "phone number", "id_number": "ID number"}
    if kind == "name":
        words = person["name"].split()
        return value in (" ".join(words), " ".join(reversed(words)))
    return re.search(masks[pattern[kind]]["pattern"], f" {value} ") is not None


def test_personal_data_sits_where_the_truth_says_and_is_the_customers_own(shop: Path) -> None:
    raw = _raw(shop, "feedback.csv").set_index("feedback_id")
    people = _raw(shop, "customers.csv").drop_duplicates("customer_id").set_index("customer_id")
    pii = pd.read_parquet(shop / "truth" / "feedback_pii.parquet")
    reviews = (raw["kind"] == "review").sum()
    share = SPEC["pii"]["share"]
    assert abs(len(pii) / reviews - share) <= 4 * np.sqrt(share * (1 - share) / reviews)
    assert set(pii["kind"]) == set(SPEC["pii"]["kinds"])
    assert not pii["feedback_id"].duplicated().any()
    for row in pii.itertuples():
        text = raw.loc[row.feedback_id, "text"]
        person = people.loc[raw.loc[row.feedback_id, "customer_id"]]
        value = text[row.start : row.end]
        assert _matches(row.kind, value, person), (row.kind, row.feedback_id)
        if row.kind == "email":
            assert value == person["email"].strip()
        if row.kind == "phone":
            assert re.sub(r"\D", "", value).endswith(re.sub(r"\D", "", person["phone"]))
        if row.kind == "id_number":
            assert value == voice.id_number(value[:6], value[6:14], int(value[14:17]))
            assert value[6:10] == person["birth_year"]


def test_id_numbers_carry_the_check_character_of_the_standard() -> None:
    # GB 11643-1999's examples
    assert voice.id_number("110105", "19491231", 2) == "11010519491231002X"
    assert voice.id_number("440524", "18800101", 1) == "440524188001010014"


def test_other_tables_and_draws_are_untouched_by_the_texts(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated with the texts' step left out (its streams never drawn), every other
    file is byte for byte the same, and the feedback table differs only in its text
    and, in the themes' cells, a return's reason."""

    def without_texts(rng, pii_rng, feedback, *args, **kwargs) -> voice.Planted:  # noqa: ANN001
        empty = pd.DataFrame({"feedback_id": [], "kind": [], "start": [], "end": []})
        return voice.Planted(feedback.assign(text=""), empty, empty, empty)

    monkeypatch.setattr(voice, "plant", without_texts)
    generate(tmp_path, n_customers=CUSTOMERS, seed=42)
    for path in sorted((tmp_path / "raw").iterdir()):
        if path.name != "feedback.csv":
            assert path.read_bytes() == (shop / "raw" / path.name).read_bytes(), path.name
    for path in sorted((tmp_path / "truth").iterdir()):
        if not path.name.startswith("feedback_"):
            assert path.read_bytes() == (shop / "truth" / path.name).read_bytes(), path.name
    before, after = _raw(tmp_path, "feedback.csv"), _raw(shop, "feedback.csv")
    same = [c for c in before.columns if c not in ("text", "return_reason")]
    pd.testing.assert_frame_equal(before[same], after[same])
    moved = before["return_reason"] != after["return_reason"]
    shifted = pd.read_parquet(shop / "truth" / "feedback_rows.parquet")["return_reason_shifted"]
    assert moved.sum() > 0 and (moved <= shifted).all()
