"""The voice of the customer: ratings, returns and the themes of low-rated reviews, per
persona and product category (run within ``06_personas``).

Themes are words, found by statistics alone: each review is segmented with ``jieba``
(stop words, punctuation and digits dropped; ``feedback.yaml``), and a persona x
category cell's low-rated reviews are compared with the shop's other low-rated reviews
by the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi &
Quinn 2008, "Fightin' Words: Lexical Feature Selection and Evaluation for Identifying
the Content of Political Conflict", *Political Analysis* 16(4), section 3.5.1). A word
is a theme only above the noise rule (:class:`NoiseRule`). The themes' names in
``feedback.yaml`` label the words found; they never rank them.

The texts are the ingest stage's, personal data already masked; a snippet is cut around
its word, masked once more by the same patterns, and never carries a customer id.
Cells and products under ``privacy.min_group_size`` are not described.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import norm

from customer_analytics.personas.evidence import Reading, largest
from customer_analytics.privacy import RULES
from customer_analytics.synthetic import feedback as planted_feedback
from customer_analytics.synthetic.truth import planted_personas
from customer_analytics.utils.dates import day_end

HERE = Path(__file__).resolve().parent
#: What the module says when a source cannot give it something (the report translates).
NO_FEEDBACK = "no feedback table in this source"
NO_TEXT = "no review texts in this source"
NO_RATINGS = "no ratings in this source"
NO_RETURNS = "no returns in this source"
NO_LINES = "no order lines to divide returns by"
_WORDLIKE = re.compile(r"\w")
#: The themes table's columns, in order.
THEME_COLUMNS = [
    "persona", "category", "word", "delta", "z", "reviews", "rank", "cell_reviews", "share",
    "other_share", "name", "snippets", "theme",
]  # fmt: skip


@dataclass(frozen=True)
class NoiseRule:
    """When a word counts as a theme of its cell.

    Attributes
    ----------
    alpha
        The family-wise error rate over every (cell, word) pair tested.
    min_z
        The least threshold, whatever the number of tests.
    min_reviews
        The least number of the cell's low-rated reviews that use the word; only words
        that reach it are tested.
    """

    alpha: float
    min_z: float
    min_reviews: int

    def threshold(self, tests: int) -> float:
        """The z-score a word must exceed: the one-sided normal quantile of ``alpha``
        over ``tests`` (Bonferroni), and at least ``min_z``."""
        if tests <= 0:
            return self.min_z
        return max(self.min_z, float(norm.isf(self.alpha / tests)))


@dataclass(frozen=True)
class FeedbackRules:
    """``feedback.yaml``: what is low-rated, the prior, the noise rule, stop words."""

    low_rating: int
    prior_strength: float
    noise: NoiseRule
    top_words: int
    snippets: int
    snippet_chars: int
    product_min_reviews: int
    products_shown: int
    stop_words: frozenset[str]
    theme_names: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path | None = None) -> FeedbackRules:
        """The rules in ``path`` (the package's ``feedback.yaml`` when None)."""
        spec = yaml.safe_load((path or HERE / "feedback.yaml").read_text(encoding="utf-8"))
        return cls(
            low_rating=int(spec["low_rating"]),
            prior_strength=float(spec["prior_strength"]),
            noise=NoiseRule(**spec["noise"]),
            top_words=int(spec["top_words"]),
            snippets=int(spec["snippets"]),
            snippet_chars=int(spec["snippet_chars"]),
            product_min_reviews=int(spec["product_min_reviews"]),
            products_shown=int(spec["products_shown"]),
            stop_words=frozenset(str(w) for w in spec["stop_words"]),
            theme_names=spec.get("theme_names", {}),
        )

    def theme_of(self, word: str) -> str:
        """The name (a ``theme_names`` key) of the first theme listing ``word``; ``""``."""
        for name, theme in self.theme_names.items():
            if word in theme["words"]:
                return name
        return ""


@cache
def _tokenizer() -> Any:
    """jieba's segmenter, its dictionary loaded once and quietly: jieba logs "Building
    prefix dict" to stderr at first use, which would land in every notebook and log."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def segment(text: str, stop_words: frozenset[str]) -> list[str]:
    """The distinct words of ``text`` as jieba cuts it, without stop words, punctuation,
    digits or the masking placeholders, in order of first use.

    A review counts a word once: the statistics compare how many reviews use a word, so
    one long review cannot make a theme.
    """
    for rule in (*RULES["text_masks"].values(), RULES["name_mask"]):
        text = text.replace(rule["placeholder"], " ")
    seen: dict[str, None] = {}
    for word in _tokenizer().lcut(text):
        word = word.strip()
        if word and _WORDLIKE.search(word) and not word.isdigit() and word not in stop_words:
            seen.setdefault(word, None)
    return list(seen)


def log_odds_z(
    cell: pd.Series, other: pd.Series, prior: pd.Series, strength: float
) -> pd.DataFrame:
    """Weighted log-odds ratio of each word, a cell against the rest, and its z-score.

    Monroe, Colaresi & Quinn (2008), eq. 16-22: with counts :math:`y^i_w` (the cell) and
    :math:`y^j_w` (the rest), totals :math:`n^i, n^j` and an informative Dirichlet prior
    :math:`\\alpha_w = \\alpha_0 \\pi_w`,

    .. math::
        \\delta_w = \\log\\frac{y^i_w + \\alpha_w}{n^i + \\alpha_0 - y^i_w - \\alpha_w}
                  - \\log\\frac{y^j_w + \\alpha_w}{n^j + \\alpha_0 - y^j_w - \\alpha_w},
        \\quad \\sigma^2_w \\approx \\frac{1}{y^i_w + \\alpha_w} + \\frac{1}{y^j_w + \\alpha_w},
        \\quad z_w = \\delta_w / \\sigma_w.

    Parameters
    ----------
    cell, other
        Reviews using each word, in the cell and in the rest (may be weighted: not
        whole numbers).
    prior
        The prior's word counts (:math:`\\pi_w` is their share); every word of ``cell``
        and ``other`` must have a positive count.
    strength
        :math:`\\alpha_0`, the prior's weight in words.

    Returns
    -------
    pandas.DataFrame
        ``delta`` and ``z`` per word, indexed by word.
    """
    vocab = prior.index[prior > 0]
    yi = cell.reindex(vocab, fill_value=0.0).astype(float)
    yj = other.reindex(vocab, fill_value=0.0).astype(float)
    alpha = strength * prior.reindex(vocab).astype(float) / float(prior[vocab].sum())
    ni, nj = float(yi.sum()), float(yj.sum())
    delta = np.log((yi + alpha) / (ni + strength - yi - alpha)) - np.log(
        (yj + alpha) / (nj + strength - yj - alpha)
    )
    z = delta / np.sqrt(1.0 / (yi + alpha) + 1.0 / (yj + alpha))
    return pd.DataFrame({"delta": delta, "z": z})


@dataclass(frozen=True)
class VoiceOfCustomer:
    """What the module found: its tables and the stage's findings."""

    ratings: pd.DataFrame  # level (category, product, persona), key, reviews, mean, low share
    returns: pd.DataFrame  # level, key, returns, lines, rate, top reason and its share
    themes: pd.DataFrame  # per cell: its top words with evidence, theme flag and snippets
    findings: dict[str, Any]


def read_voice(
    feedback: pd.DataFrame | None,
    persona: pd.Series,
    category: pd.Series | None,
    min_group: int,
    rules: FeedbackRules,
    order_lines: pd.DataFrame | None = None,
) -> VoiceOfCustomer:
    """Ratings, returns and the themes of low-rated reviews, per persona and category.

    Parameters
    ----------
    feedback
        The canonical ``feedback`` table (``kind``, ``customer_id`` as merged ids,
        ``product_id``, ``rating``, ``return_reason``, ``text``); None when the source
        has none.
    persona
        Each customer's persona name, indexed by merged customer id (missing: a persona
        not shown).
    category
        Each product's category, indexed by product id; None without a products table.
    min_group
        ``privacy.min_group_size``: smaller cells, products and personas are not
        described.
    rules
        ``feedback.yaml``.
    order_lines
        ``customer_id`` (merged) and ``product_id`` of every order line bought, for
        return rates; None leaves rates out.
    """
    missing: dict[str, str] = {}
    if feedback is None or feedback.empty:
        missing = {"ratings": NO_FEEDBACK, "returns": NO_FEEDBACK, "themes": NO_FEEDBACK}
        empty = pd.DataFrame()
        return VoiceOfCustomer(empty, empty, empty, _findings(missing, rules, None, [], {}))
    rows = feedback.copy()
    rows["persona"] = rows["customer_id"].map(persona)
    cats = category if category is not None else pd.Series(dtype=object)
    rows["category"] = rows["product_id"].map(cats)
    rows["rating"] = pd.to_numeric(rows.get("rating"), errors="coerce")
    reviews = rows[(rows["kind"] == "review") & rows["rating"].notna()]
    returns = rows[rows["kind"] == "return"]

    ratings = _ratings(reviews, rules, min_group)
    if ratings.empty:
        missing["ratings"] = NO_RATINGS
    returned = _returns(returns, order_lines, persona, cats, min_group)
    if returned.empty:
        missing["returns"] = NO_RETURNS
    elif order_lines is None:
        missing["return_rate"] = NO_LINES
    text = reviews["text"].fillna("").astype(str) if "text" in reviews else pd.Series(dtype=str)
    if not text.str.strip().any():
        missing["themes"] = NO_TEXT
        themes, tests = pd.DataFrame(), 0
    else:
        themes, tests = _themes(reviews.assign(text=text), rules, min_group)
    threshold = rules.noise.threshold(tests)
    if themes.empty:
        # the columns stay, so the output and its readers (truth, cards) need no special case
        themes = pd.DataFrame(columns=THEME_COLUMNS)
    else:
        themes["theme"] = themes["z"].gt(threshold) & themes["reviews"].ge(rules.noise.min_reviews)
        themes.loc[~themes["theme"], "snippets"] = ""
    pains = _pains(themes)
    return VoiceOfCustomer(
        ratings, returned, themes, _findings(missing, rules, threshold, pains, {"tests": tests})
    )


def _findings(
    missing: dict[str, str],
    rules: FeedbackRules,
    threshold: float | None,
    pains: list[dict[str, Any]],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The ``feedback`` findings: per persona its pains (theme words, strongest first)."""
    by_persona: dict[str, list[dict[str, Any]]] = {}
    for pain in pains:
        by_persona.setdefault(pain.pop("persona"), []).append(pain)
    return {
        "low_rating": rules.low_rating,
        "noise_rule": {
            "z_above": None if threshold is None else round(threshold, 2),
            "min_reviews": rules.noise.min_reviews,
            "alpha": rules.noise.alpha,
            **extra,
        },
        "could_not": missing,
        "pains": by_persona,
    }


def _ratings(reviews: pd.DataFrame, rules: FeedbackRules, min_group: int) -> pd.DataFrame:
    """Reviews, mean rating and share low-rated per category, persona and product (the
    best and worst ``products_shown`` with enough reviews)."""
    if reviews.empty:
        return pd.DataFrame()
    low = reviews["rating"] <= rules.low_rating
    frames = []
    for level, key in (("category", "category"), ("persona", "persona"), ("product", "product_id")):
        table = (
            reviews.assign(low=low)
            .groupby(key)
            .agg(
                reviews=("rating", "size"),
                mean_rating=("rating", "mean"),
                low_share=("low", "mean"),
            )
        )
        least = max(min_group, rules.product_min_reviews) if level == "product" else min_group
        table = table[table["reviews"] >= least].sort_values("mean_rating", ascending=False)
        if level == "product":
            shown = rules.products_shown
            table = pd.concat([table.head(shown), table.tail(shown)]).drop_duplicates()
            table["category"] = table.index.map(reviews.groupby("product_id")["category"].first())
        frames.append(table.rename_axis("key").reset_index().assign(level=level))
    out = pd.concat(frames, ignore_index=True)
    out["mean_rating"] = out["mean_rating"].round(2)
    out["low_share"] = out["low_share"].round(4)
    columns = ["level", "key", "category", "reviews", "mean_rating", "low_share"]
    return out.reindex(columns=columns)


def _returns(
    returns: pd.DataFrame,
    lines: pd.DataFrame | None,
    persona: pd.Series,
    category: pd.Series,
    min_group: int,
) -> pd.DataFrame:
    """Returns, their rate per order line bought, and the most given reason with its
    share, per category and per persona."""
    if returns.empty:
        return pd.DataFrame()
    reasons = returns.assign(return_reason=returns["return_reason"].fillna("(none)"))
    frames = []
    for level in ("category", "persona"):
        counts = reasons.groupby(level).size().rename("returns")
        shares = reasons.groupby(level)["return_reason"].value_counts(normalize=True)
        top = shares.groupby(level=0).head(1).reset_index(level=1)
        table = counts.to_frame().join(top.rename(columns={"proportion": "reason_share"}))
        if lines is not None:
            bought = (
                lines.assign(
                    persona=lines["customer_id"].map(persona),
                    category=lines["product_id"].map(category),
                )
                .groupby(level)
                .size()
            )
            table["lines"] = bought.reindex(table.index)
            table["return_rate"] = (table["returns"] / table["lines"]).round(4)
        table = table[table["returns"] >= min_group]
        frames.append(table.rename_axis("key").reset_index().assign(level=level))
    out = pd.concat(frames, ignore_index=True)
    out["reason_share"] = out["reason_share"].round(4)
    columns = ["level", "key", "returns", "lines", "return_rate", "return_reason", "reason_share"]
    return out.reindex(columns=columns)


def _themes(
    reviews: pd.DataFrame, rules: FeedbackRules, min_group: int
) -> tuple[pd.DataFrame, int]:
    """Per persona x category cell of at least ``min_group`` low-rated reviews, its top
    words by z-score with their evidence and snippets; and the number of (cell, word)
    pairs tested (those reaching ``noise.min_reviews``), for the noise rule.

    The rest of the shop is its other low-rated reviews, weighted to the cell's mix of
    ratings: a cell of more one-star reviews would otherwise find the one-star pool's
    generic words (差, 失望) rather than what its customers say alone.
    """
    low = reviews[(reviews["rating"] <= rules.low_rating) & reviews["persona"].notna()]
    low = low[low["category"].notna()].copy()
    if low.empty:
        return pd.DataFrame(), 0
    low["words"] = low["text"].map(lambda t: segment(t, rules.stop_words))
    used = low[["persona", "category", "rating", "words"]].explode("words").dropna()
    prior = used["words"].value_counts()
    found, tests = [], 0
    for (persona, category), cell in low.groupby(["persona", "category"], sort=True):
        if len(cell) < min_group:
            continue
        inside = (low["persona"] == persona) & (low["category"] == category)
        rest = used[~((used["persona"] == persona) & (used["category"] == category))]
        mix = cell["rating"].value_counts(normalize=True)
        weight = mix / low.loc[~inside, "rating"].value_counts(normalize=True)
        # reviews using each word per rating, each rating weighted to the cell's mix
        other = rest.groupby("rating")["words"].value_counts()
        other = other.mul(other.index.get_level_values(0).map(weight).fillna(0.0).to_numpy())
        other = other.groupby(level=1).sum()
        mine = cell["words"].explode().dropna().value_counts()
        scored = log_odds_z(mine, other, prior, rules.prior_strength).reindex(mine.index)
        scored["reviews"] = mine
        tests += int((mine >= rules.noise.min_reviews).sum())
        scored = scored.sort_values(["z", "reviews"], ascending=[False, False])
        scored["rank"] = np.arange(1, len(scored) + 1)
        top = scored.head(rules.top_words).rename_axis("word").reset_index()
        top.insert(0, "persona", persona)
        top.insert(1, "category", category)
        top["cell_reviews"] = len(cell)
        top["share"] = (top["reviews"] / len(cell)).round(4)
        top["other_share"] = (
            top["word"].map(other).fillna(0.0) / float(len(low) - len(cell))
        ).round(4)
        top["name"] = top["word"].map(rules.theme_of)
        top["snippets"] = [
            " | ".join(_snippets(cell, w, rules.snippets, rules.snippet_chars)) for w in top["word"]
        ]
        found.append(top)
    if not found:
        return pd.DataFrame(), tests
    out = pd.concat(found, ignore_index=True)
    out["z"], out["delta"] = out["z"].round(2), out["delta"].round(3)
    return out, tests


def _snippets(cell: pd.DataFrame, word: str, count: int, width: int) -> list[str]:
    """A few of the cell's texts that use ``word`` (the shortest first: the least said
    beside it), cut to ``width`` characters around it and masked once more."""
    using = cell[cell["words"].map(lambda ws: word in ws)]["text"]
    using = using.loc[using.str.len().sort_values(kind="stable").index].drop_duplicates()
    out: list[str] = []
    for text in using:
        if len(out) == count:
            break
        at = text.find(word)
        start = max(0, min(at - width // 3, len(text) - width)) if at >= 0 else 0
        piece = text[start : start + width]
        piece = ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
        piece = _mask(piece)
        if piece not in out:
            out.append(piece)
    return out


def _mask(text: str) -> str:
    """Personal-data patterns replaced (privacy.yaml's ``text_masks``): the text was
    masked at ingest; a cut must not leave a fragment the patterns then miss."""
    for rule in RULES["text_masks"].values():
        text = re.sub(rule["pattern"], rule["replacement"], text)
    return re.sub(r"\d{5,}", "…", text)


def _pains(themes: pd.DataFrame) -> list[dict[str, Any]]:
    """The theme words, per persona: what persona cards read as pains."""
    if themes.empty:
        return []
    shown = themes[themes["theme"]].sort_values(["persona", "z"], ascending=[True, False])
    return [
        {
            "persona": r.persona,
            "category": r.category,
            "word": r.word,
            "name": r.name,
            "reviews": int(r.reviews),
            "share": float(r.share),
            "z": float(r.z),
        }
        for r in shown.itertuples()
    ]


@dataclass(frozen=True)
class FeedbackTables:
    """What the voice of the customer reads from the clean tables (:func:`read_feedback`).

    Attributes
    ----------
    feedback
        The ``feedback`` rows dated by the end of ``as_of``, ``customer_id`` as merged
        ids; None when the source has no feedback table.
    category
        Each product's category, indexed by product id; None without a products table.
    order_lines
        ``customer_id`` (merged) and ``product_id`` of every line of an order placed by
        the end of ``as_of``; None without order lines.
    """

    feedback: pd.DataFrame | None
    category: pd.Series | None
    order_lines: pd.DataFrame | None


def read_feedback(tables: dict[str, Path], as_of: dt.date) -> FeedbackTables:
    """Read the feedback, the products' categories and the order lines a run's personas
    stage describes, leaving out what happened after ``as_of`` as the features do.

    Parameters
    ----------
    tables
        The clean stage's Parquet files by table name
        (:func:`customer_analytics.clean.stage.clean_tables_of`).
    as_of
        The run's last day; a review or return dated later, and the lines of an order
        placed later, are not read.
    """
    end = pd.Timestamp(day_end(as_of))
    merged = _merged_ids(tables)
    feedback = None
    if "feedback" in tables:
        feedback = pd.read_parquet(tables["feedback"])
        feedback = feedback[_dated_before(feedback, "ts_utc", end)].reset_index(drop=True)
        feedback["customer_id"] = _to_merged(feedback["customer_id"], merged)
    category = None
    if "products" in tables:
        products = pd.read_parquet(tables["products"], columns=["product_id", "category"])
        category = products.drop_duplicates("product_id").set_index("product_id")["category"]
    return FeedbackTables(feedback, category, _order_lines(tables, merged, end))


def _dated_before(table: pd.DataFrame, column: str, end: pd.Timestamp) -> pd.Series:
    """Rows dated before ``end`` (a row with no date is kept: nothing says it is later)."""
    if column not in table:
        return pd.Series(True, index=table.index)
    when = pd.to_datetime(table[column])
    if when.dt.tz is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    return when.isna() | (when < end)


def voice_of_run(
    cfg: Any, read: FeedbackTables, persona: pd.Series, paths: tuple[Path, Path, Path]
) -> dict[str, Any]:
    """Write the ratings, returns and themes tables to ``paths`` (in that order) and
    return the findings ``feedback`` (and, on the synthetic shop, ``feedback_truth``).

    Parameters
    ----------
    cfg
        The run's :class:`customer_analytics.config.Config`.
    read
        The run's feedback, categories and order lines (:func:`read_feedback`).
    persona
        Each customer's persona name (None: not shown), indexed by merged customer id.
    paths
        Where the ratings, returns and themes tables go.
    """
    voice = read_voice(
        read.feedback,
        persona,
        read.category,
        cfg.privacy.min_group_size,
        FeedbackRules.load(),
        read.order_lines,
    )
    for table, path in zip((voice.ratings, voice.returns, voice.themes), paths, strict=True):
        table.to_parquet(path, index=False)
    found: dict[str, Any] = {"feedback": voice.findings}
    truth = truth_themes(cfg.truth_dir, persona, voice.themes, voice.findings)
    if truth:
        found["feedback_truth"] = truth
    return found


#: A persona's low-rating share of a category is read only from this many of its reviews.
PAIN_MIN_REVIEWS = 10


def pain_figures(
    read: FeedbackTables, labels: pd.Series, low_rating: int
) -> dict[str, dict[int, Reading]]:
    """The figures of the persona cards' pains lines (``lines.yaml``), per cluster.

    ``low_rated``: the category whose reviews the cluster rates low (at most
    ``low_rating`` stars) most often against the shop's share for that category, among
    categories it reviewed at least :data:`PAIN_MIN_REVIEWS` times. ``return_reason``: the
    reason most over the shop's share of its returns. A figure the feedback table cannot
    give is left out (the card says why).

    Parameters
    ----------
    read
        The run's feedback and categories (:func:`read_feedback`).
    labels
        Each buying customer's cluster, indexed by merged customer id.
    low_rating
        The highest rating that counts as low (``feedback.yaml``).
    """
    if read.feedback is None:
        return {}
    cluster = labels.set_axis(labels.index.astype(str))
    feedback = read.feedback.assign(cluster=read.feedback["customer_id"].map(cluster))
    feedback = feedback[feedback["cluster"].notna()]
    out: dict[str, dict[int, Reading]] = {}
    reasons = feedback["return_reason"].fillna("").astype(str)
    returns = feedback[(feedback["kind"] == "return") & reasons.ne("")]
    if len(returns):
        counts = returns.groupby(["cluster", "return_reason"]).size().astype(float)
        out["return_reason"] = largest(counts.rename_axis(["cluster", "key"]), by_lift=True)
    reviews = feedback[feedback["kind"] == "review"].assign(
        rating=lambda f: pd.to_numeric(f["rating"], errors="coerce")
    )
    reviews = reviews[reviews["rating"].notna()]
    if read.category is not None and len(reviews):
        reviews = reviews.assign(
            category=reviews["product_id"].map(read.category),
            low=reviews["rating"] <= low_rating,
        )
        shop = reviews.groupby("category")["low"].mean()
        cells = reviews.groupby(["cluster", "category"])["low"].agg(["mean", "size"])
        cells = cells[cells["size"] >= PAIN_MIN_REVIEWS].reset_index()
        cells["over"] = cells["mean"] - cells["category"].map(shop)
        top = cells.sort_values("over", ascending=False).drop_duplicates("cluster")
        out["low_rated"] = {
            int(r.cluster): Reading(float(r.mean), float(shop[r.category]), str(r.category))
            for r in top.itertuples()
        }
    return {name: readings for name, readings in out.items() if readings}


def _merged_ids(tables: dict[str, Path]) -> pd.Series | None:
    if "identity_map" not in tables:
        return None
    identity = pd.read_parquet(
        tables["identity_map"], columns=["customer_id", "merged_customer_id"]
    )
    return identity.set_index("customer_id")["merged_customer_id"]


def _to_merged(ids: pd.Series, merged: pd.Series | None) -> pd.Series:
    ids = ids.astype("string")
    if merged is None:
        return ids
    return ids.map(merged).fillna(ids)


def _order_lines(
    tables: dict[str, Path], merged: pd.Series | None, end: pd.Timestamp
) -> pd.DataFrame | None:
    """The buyer (merged id) and product of every line of an order placed before
    ``end``; None without order lines."""
    if "order_items" not in tables or "orders" not in tables:
        return None
    lines = pd.read_parquet(tables["order_items"], columns=["order_id", "product_id"])
    orders = pd.read_parquet(tables["orders"])
    orders = orders[_dated_before(orders, "order_ts_utc", end)]
    if "is_return" in orders:  # a credit note (Online Retail's "C" invoices) is no purchase
        orders = orders[~orders["is_return"].fillna(False).astype(bool)]
    buyer = orders.drop_duplicates("order_id").set_index("order_id")["customer_id"]
    lines = lines[lines["order_id"].isin(buyer.index)]
    lines["customer_id"] = _to_merged(lines["order_id"].map(buyer), merged)
    return lines[["customer_id", "product_id"]]


def truth_themes(
    truth_dir: Path | None,
    persona: pd.Series,
    themes: pd.DataFrame,
    findings: dict[str, Any],
) -> dict[str, Any]:
    """Each planted theme's rank in the cell of the persona holding most of its planted
    persona's customers, and the negative control's top z-score against the noise rule.
    Nothing for a real shop.

    A planted theme's words are those of its phrases (as segmented here) that no generic
    phrase uses; its rank is that of its first word in the cell's ranking.
    """
    planted = planted_personas(truth_dir)
    if planted is None or not (truth_dir / "feedback_themes.csv").is_file():
        return {}
    truth = pd.read_csv(truth_dir / "feedback_themes.csv", dtype=str, keep_default_na=False)
    spec = planted_feedback.load()
    rules = FeedbackRules.load()
    generic = {
        w for pool in spec["generic"].values() for p in pool for w in segment(p, rules.stop_words)
    }
    planted_persona = planted[0].reindex(persona.index)
    found = persona.groupby(planted_persona).agg(
        lambda s: s.value_counts().index[0] if s.notna().any() else None
    )
    threshold = findings["noise_rule"]["z_above"]
    out: dict[str, Any] = {}
    for row in truth.itertuples():
        name = found.get(row.persona)
        cell = themes[(themes["persona"] == name) & (themes["category"] == row.category)]
        entry: dict[str, Any] = {
            "planted_persona": row.persona,
            "category": row.category,
            "persona": name,
        }
        if row.negative_control == "True":
            top = cell["z"].max() if len(cell) else None
            entry |= {
                "negative_control": True,
                "top_z": None if top is None else float(top),
                "themes": int(cell["theme"].sum()) if len(cell) else 0,
                "z_above": threshold,
            }
            out["negative_control"] = entry
            continue
        words = {w for p in row.phrases.split("|") for w in segment(p, rules.stop_words)} - generic
        hits = cell[cell["word"].isin(words)]
        first = hits.iloc[0] if len(hits) else None
        entry |= {
            "rank": None if first is None else int(first["rank"]),
            "word": None if first is None else first["word"],
            "z": None if first is None else float(first["z"]),
            "reviews": None if first is None else int(first["reviews"]),
            "theme": bool(first is not None and first["theme"]),
        }
        out[f"{row.theme} · {row.persona} · {row.category}"] = entry
    return out
