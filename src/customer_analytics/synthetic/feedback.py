"""Review texts with planted themes, returns' reasons shifted by them, and personal data
written into some reviews (``feedback.yaml``).

Runs on the finished feedback table, with seed streams of its own, so every value drawn
before (ratings, returns, reasons) stays as it was; only a return's reason in a theme's
cell may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
#: Weights of an ID number's first 17 digits and the check character of the weighted
#: sum's remainder (GB 11643-1999, ISO 7064 MOD 11-2).
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = "10X98765432"


def load() -> dict:
    """The review texts' settings: ``feedback.yaml`` beside this file."""
    return yaml.safe_load((HERE / "feedback.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Planted:
    """The feedback table with texts, and its truth."""

    feedback: pd.DataFrame
    themes: pd.DataFrame  # one row per theme cell, and the negative control
    rows: pd.DataFrame  # one row per feedback row: its cell and planted theme
    pii: pd.DataFrame  # one row per personal item written into a review: where it sits


def plant(
    rng: np.random.Generator,
    pii_rng: np.random.Generator,
    feedback: pd.DataFrame,
    persona: pd.Series,
    category: pd.Series,
    customers: pd.DataFrame,
    city_tier: pd.Series,
    spec: dict | None = None,
) -> Planted:
    """Write every review's text, shift returns' reasons in the themes' cells, and write
    personal data into a few reviews.

    Parameters
    ----------
    rng
        The texts' and themes' own stream.
    pii_rng
        The personal data's own stream.
    feedback
        The feedback table as exported (``feedback_id``, ``kind``, ``customer_id``,
        ``product_id``, ``rating``, ``return_reason``), in its final order.
    persona
        Customer id -> planted persona.
    category
        Product id -> category.
    customers
        The exported customers (``customer_id``, ``name``, ``email``, ``phone``,
        ``birth_year``, ``city``).
    city_tier
        City as spelled in the export -> tier (1 to 5).
    spec
        ``feedback.yaml``'s settings (read when None).
    """
    spec = spec or load()
    n = len(feedback)
    people = customers.drop_duplicates("customer_id").set_index("customer_id")
    who = feedback["customer_id"].astype(str)
    cell = pd.DataFrame(
        {
            "feedback_id": feedback["feedback_id"].to_numpy(),
            "kind": feedback["kind"].to_numpy(),
            "persona": who.map(persona).fillna("").to_numpy(),
            "category": feedback["product_id"].map(category).fillna("").to_numpy(),
            "city_tier": who.map(people["city"]).map(city_tier).fillna(0).astype(int).to_numpy(),
        }
    )
    review = cell["kind"].to_numpy() == "review"
    rating = pd.to_numeric(feedback["rating"], errors="coerce").fillna(0).to_numpy()
    low = review & (rating <= spec["low_rating"])
    # One uniform per row for each decision, drawn whatever the row: a row's draws do not
    # depend on which cells exist.
    u_theme, u_shift, u_phrase, u_second, u_generic = rng.random((5, n))
    theme = np.full(n, "", dtype=object)
    reason = feedback["return_reason"].to_numpy().copy()
    shifted = np.zeros(n, dtype=bool)
    rows = []
    for name, t in spec["themes"].items():
        for c in t["cells"]:
            inside = (cell["persona"].to_numpy() == c["persona"]) & (
                cell["category"].to_numpy() == c["category"]
            )
            if "city_tier" in c:
                inside &= np.isin(cell["city_tier"].to_numpy(), c["city_tier"])
            theme[inside & low & (u_theme < c["rate"])] = name
            move = inside & ~review & (u_shift < c.get("return_shift", 0.0))
            reason[move], shifted[move] = t["return_reason"], True
            rows.append(_theme_row(name, t, c, spec["low_rating"]))
    control = spec["negative_control"]
    rows.append(
        {"theme": "", "persona": control["persona"], "category": control["category"],
         "condition": f"rating <= {spec['low_rating']}", "phrases": "", "rate": 0.0,
         "return_reason": "", "return_shift": 0.0, "return_reason_share": np.nan,
         "negative_control": True}
    )  # fmt: skip
    text = _texts(spec, rating, review, theme, u_phrase, u_second, u_generic)
    text, pii = _personal(pii_rng, spec["pii"], text, review, who, people, feedback)
    out = feedback.copy()
    out["return_reason"] = reason
    # The canonical feedback table's text sits after the return reason.
    out.insert(out.columns.get_loc("return_reason") + 1, "text", text)
    cell["low_rated"] = low
    cell["theme"] = theme
    cell["return_reason_shifted"] = shifted
    return Planted(out, pd.DataFrame(rows), cell, pii)


def _theme_row(name: str, theme: dict, c: dict, low_rating: int) -> dict:
    condition = f"rating <= {low_rating}"
    if "city_tier" in c:
        condition += " and city_tier in " + ",".join(str(t) for t in c["city_tier"])
    shift = c.get("return_shift", 0.0)
    return {
        "theme": name,
        "persona": c["persona"],
        "category": c["category"],
        "condition": condition,
        "phrases": "|".join(theme["phrases"]),
        "rate": c["rate"],
        "return_reason": theme["return_reason"],
        "return_shift": shift,
        # the five reasons are drawn alike before the shift
        "return_reason_share": shift + (1 - shift) / 5,
        "negative_control": False,
    }


def _pick(u: np.ndarray, k: int) -> np.ndarray:
    """Positions in a list of ``k`` from uniforms."""
    return np.minimum((u * k).astype(int), k - 1)


def _texts(spec, rating, review, theme, u_phrase, u_second, u_generic) -> np.ndarray:  # noqa: ANN001
    """One or two phrases per review: the theme's first where one is planted, then the
    generic pool of the review's rating; blank for returns."""
    n = len(rating)
    mood = np.where(rating >= 4, "positive", np.where(rating == 3, "neutral", "negative"))
    first, other, after_theme = (np.full(n, "", dtype=object) for _ in range(3))
    for m, pool in spec["generic"].items():
        here = mood == m
        pool = np.array(pool, dtype=object)
        a = _pick(u_phrase, len(pool))
        # the second phrase is another one of the pool
        b = (a + 1 + _pick(u_generic, len(pool) - 1)) % len(pool)
        first[here], other[here] = pool[a[here]], pool[b[here]]
        after_theme[here] = pool[_pick(u_generic, len(pool))[here]]
    second = u_second < spec["second_phrase"]
    out = np.where(second, first + "，" + other, first)
    for name, t in spec["themes"].items():
        here = theme == name
        phrases = np.array(t["phrases"], dtype=object)
        said = phrases[_pick(u_phrase, len(phrases))]
        out[here] = np.where(second, said + "，" + after_theme, said)[here]
    return np.where(review, out, "")


def id_number(area: str, birth: str, sequence: int) -> str:
    """An 18-character ID number of the Chinese form: area, birth date, sequence and
    the check character (made up: the area and date are plausible, the person is not)."""
    body = f"{area}{birth}{sequence:03d}"
    total = int(np.dot(_ID_WEIGHTS, [int(d) for d in body]))
    return body + _ID_CHECK[total % 11]


def _personal(rng, spec, text, review, who, people, feedback) -> tuple[np.ndarray, pd.DataFrame]:  # noqa: ANN001
    """A sentence with one personal item appended to ``spec['share']`` of the reviews;
    returns the texts and where each item sits (start and end, in characters)."""
    n = len(text)
    u_pick, u_kind, u_sentence, u_form, u_value = rng.random((5, n))
    kinds = list(spec["kinds"])
    cdf = np.cumsum(list(spec["kinds"].values()))
    kind = np.array(kinds, dtype=object)[np.searchsorted(cdf / cdf[-1], u_kind, side="right")]
    chosen = np.flatnonzero(review & (u_pick < spec["share"]) & who.isin(people.index).to_numpy())
    text = text.copy()
    found = []
    for i in chosen:
        person = people.loc[who.iloc[i]]
        value = _value(spec, kind[i], person, u_form[i], u_value[i])
        if not value:
            continue
        sentences = spec["sentences"][kind[i]]
        sentence = sentences[_pick(u_sentence[i : i + 1], len(sentences))[0]]
        head = text[i] + "。"
        start = len(head) + sentence.index("{value}")
        text[i] = head + sentence.replace("{value}", value)
        found.append((feedback["feedback_id"].iloc[i], kind[i], start, start + len(value)))
    return text, pd.DataFrame(found, columns=["feedback_id", "kind", "start", "end"])


def _value(spec: dict, kind: str, person: pd.Series, u_form: float, u_value: float) -> str:
    """The customer's own name, e-mail or phone as they might write it, or a made-up ID
    number of their birth year; blank where the customer has none."""
    if kind == "email":
        return str(person["email"]).strip()
    if kind == "phone":
        digits = "".join(ch for ch in str(person["phone"]) if ch.isdigit())
        if len(digits) != 11:
            return ""
        form = spec["phone_formats"][int(u_form * len(spec["phone_formats"]))]
        return form.format(a=digits[:3], b=digits[3:7], c=digits[7:])
    if kind == "name":
        words = str(person["name"]).split()
        order = spec["name_orders"][int(u_form * len(spec["name_orders"]))]
        return " ".join(reversed(words) if order == "family_first" else words)
    year = pd.to_numeric(person["birth_year"], errors="coerce")
    if pd.isna(year):
        return ""
    areas = spec["id_areas"]
    day = int(u_value * 336)  # 12 months of 28 days: every date exists
    birth = f"{int(year):04d}{day // 28 + 1:02d}{day % 28 + 1:02d}"
    return id_number(areas[int(u_form * len(areas))], birth, int(u_value * 1e6) % 1000)
