"""Stage 06_personas: persona cards, every customer's persona and tags, and audiences.

The audience files are what marketing tools import: consenting customers only (DESIGN
section 7); the runner copies them into the run's report folder. A persona under ``privacy.min_group_size`` customers (the clustering merges such groups,
so only a shop too small for any group of that size has one) is never shown: no card,
no name on its customers, no audience, no row or column of the movement matrix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics import i18n
from customer_analytics.clean.stage import clean_tables_of
from customer_analytics.clustering.stage import CLUSTERS, FEATURES
from customer_analytics.clustering.stage import OUTPUTS as CLUSTERING
from customer_analytics.config import Config
from customer_analytics.i18n import N_
from customer_analytics.personas.cards import ActionRules, PersonaCard, build_personas
from customer_analytics.personas.evidence import feature_figures, table_figures
from customer_analytics.personas.feedback import (
    FeedbackRules,
    pain_figures,
    read_feedback,
    voice_of_run,
)
from customer_analytics.personas.lines import CardLines, GivenNames
from customer_analytics.personas.tags import TagDictionary
from customer_analytics.personas.truth import truth_traits
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.privacy import count_for_report
from customer_analytics.rfm.segments import load_segments
from customer_analytics.utils.parquet import write_frame
from customer_analytics.utils.text import slug

AUDIENCE_COLUMNS = ["customer_id", "persona", "segment", "clv", "p_alive", "action", "channel"]
NEW = "(new since snapshot)"

OUTPUTS = Outputs(__name__)
PERSONAS = OUTPUTS.declare(
    "personas.json", "the persona cards (customer_analytics.personas.cards.PersonaCard)"
)
CUSTOMERS_PERSONAS = OUTPUTS.declare(
    "customers_personas.parquet",
    "every buying customer's cluster, persona, RFM segment, CLV, P(alive), tags and own "
    "action, for analysts (merged id only; not limited by consent, so not for activation)",
)
MOVEMENT = OUTPUTS.declare(
    "movement.parquet", "customers per (persona at the snapshot, persona at as_of)"
)
AUDIENCES = OUTPUTS.declare(
    "audiences",
    "a CSV per persona and per actionable RFM segment: consenting customers, their action",
)
# The voice of the customer (personas/feedback.py); empty tables where the source has
# no feedback, and the findings' feedback.could_not says why.
FEEDBACK_RATINGS = OUTPUTS.declare(
    "feedback_ratings.parquet",
    "reviews, mean rating and low-rated share per category, persona and best/worst product",
)
FEEDBACK_RETURNS = OUTPUTS.declare(
    "feedback_returns.parquet",
    "returns, return rate per order line and the most given reason per category and persona",
)
FEEDBACK_THEMES = OUTPUTS.declare(
    "feedback_themes.parquet",
    "per persona x category cell, the top words of its low-rated reviews: reviews, share, "
    "log-odds z-score, rank, whether above the noise rule (theme: a persona's pains), "
    "masked snippets",
)


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the personas stage's outputs into ``out``; return its headline figures."""
    features = pd.read_parquet(FEATURES.path(inputs)).set_index("customer_id")
    clusters = pd.read_parquet(CLUSTERS.path(inputs)).set_index("customer_id")
    dictionary = TagDictionary.load(cfg.resolve_optional(cfg.personas.tags))
    actions = ActionRules.load(cfg.resolve_optional(cfg.personas.actions))
    missing = CLUSTERING.findings(inputs)["missing_features"]

    labels = clusters["cluster"].reindex(features.index)
    tables = clean_tables_of(inputs)
    said = read_feedback(tables, run_as_of(inputs))
    figures = {
        **feature_figures(features, labels),
        **table_figures(
            tables,
            labels,
            features["frequency"],
            as_of=run_as_of(inputs),
            timezone_name=cfg.shop.timezone,
            festivals=cfg.shop.festivals,
            festival_days=cfg.shop.festival_days,
        ),
        **pain_figures(said, labels, FeedbackRules.load().low_rating),
    }
    cards = build_personas(
        features,
        labels,
        dictionary,
        actions,
        missing=missing,
        figures=figures,
        lines=CardLines.load(cfg.resolve_optional(cfg.personas.lines)),
        given_names=GivenNames.load(cfg.resolve_optional(cfg.personas.names)),
    )
    minimum = cfg.privacy.min_group_size
    shown = [c for c in cards if c.customers >= minimum]
    PERSONAS.at(out).write_text(json.dumps([c.to_dict() for c in shown], indent=1, default=str))

    names = {c.cluster: c.name for c in shown}
    customers = _customer_table(features, clusters, names, dictionary, actions)
    write_frame(customers.reset_index(), CUSTOMERS_PERSONAS.at(out))
    movement = _movement(clusters, names)
    movement.reset_index().to_parquet(MOVEMENT.at(out), index=False)
    audiences = _write_audiences(customers, shown, cfg, AUDIENCES.at(out))

    found = {
        "personas": [_summary(c) for c in shown],
        "suppressed_groups": len(cards) - len(shown),
        "missing_tags": dictionary.missing(features),
        "unfilled_lines": _unfilled(shown),
        "persona_kept_share": _stayed(movement),
        "movement_customers": int(movement.drop(index=NEW, errors="ignore").to_numpy().sum()),
        **audiences,
        **truth_traits(cfg.truth_dir, labels, shown),
    }
    voice = (FEEDBACK_RATINGS.at(out), FEEDBACK_RETURNS.at(out), FEEDBACK_THEMES.at(out))
    found.update(voice_of_run(cfg, said, customers["persona"], voice))
    return {**found, "headline": _headline(found, minimum)}


def _headline(found: dict[str, Any], minimum: int) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first; audiences
    under the privacy minimum read "<10" (the files themselves are for activation)."""
    headline: dict[str, Any] = {
        N_("Personas"): len(found["personas"]),
        N_("Groups too small to show"): found["suppressed_groups"],
        N_("Kept their persona since the snapshot"): found["persona_kept_share"],
    }
    if "truth" in found:
        checks = found["truth"].values()
        matched, traits = sum(c["matched"] for c in checks), sum(c["traits"] for c in checks)
        headline[N_("Planted traits matched")] = _in_every_language(
            N_("{matched} of {traits}"), matched=matched, traits=traits
        )
    audiences = found["audiences"]
    headline[N_("Audience files")] = len(audiences)
    headline[N_("Audience rows")] = count_for_report(sum(audiences.values()), minimum)
    for name, rows in audiences.items():
        # "Audience" is said by the index (report.po); the file name after " · " is code.
        headline[f"Audience · {name}"] = count_for_report(rows, minimum)
    return headline


def _in_every_language(message: str, **values: Any) -> dict[str, str]:
    """``message`` formatted in every report language, for the index page
    (``{"en": "5 of 6", "zh": "6 项中 5 项"}``)."""
    out = {}
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            out[lang] = i18n.gettext(message).format(**values)
    return out


def _customer_table(
    features: pd.DataFrame,
    clusters: pd.DataFrame,
    names: dict[int, str],
    dictionary: TagDictionary,
    actions: ActionRules,
) -> pd.DataFrame:
    tags = dictionary.tag_customers(features)
    table = pd.DataFrame(index=features.index)
    table["cluster"] = clusters["cluster"].reindex(features.index)
    table["persona"] = table["cluster"].map(names)
    table["segment"] = clusters["segment"].reindex(table.index) if "segment" in clusters else None
    for column in ("clv", "p_alive", "consent"):
        table[column] = features[column] if column in features else float("nan")
    table["channel"] = tags["channel"] if "channel" in tags else None
    table["action"] = actions.for_customers(tags)
    return table.join(tags.drop(columns=["channel"], errors="ignore").add_prefix("tag_"))


def _movement(clusters: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """Customers per (persona at the snapshot, persona now); new buyers on their own row.
    Customers of a persona not shown (not in ``names``), then or now, are left out."""
    snapshot = clusters["cluster_at_snapshot"]
    before = snapshot.map(names).astype(object).where(snapshot.notna(), NEW)
    now = clusters["cluster"].map(names)
    order = list(names.values())
    # crosstab drops the customers whose persona, then or now, is missing
    table = pd.crosstab(before.rename("at_snapshot"), now.rename("at_as_of"))
    return table.reindex(index=[*order, NEW], columns=order, fill_value=0)


def _stayed(movement: pd.DataFrame) -> float:
    known = movement.drop(index=NEW, errors="ignore")
    same = sum(known.at[p, p] for p in known.index if p in known.columns)
    total = known.to_numpy().sum()
    return round(float(same / total), 4) if total else float("nan")


def reachable_customers(
    customers: pd.DataFrame, basis: str | None
) -> tuple[pd.DataFrame | None, str]:
    """The customers marketing may contact, and on what basis.

    Parameters
    ----------
    customers
        Indexed by customer id, with ``consent`` (1 where the person consented on every
        account, NaN where the source says nothing).
    basis
        ``personas.consent_basis``: the legal basis on which the shop contacts every
        customer when the source has no consent column.

    Returns
    -------
    tuple
        The reachable rows (None: nobody may be contacted) and a sentence saying why.
    """
    if customers["consent"].notna().any():
        reachable = customers[customers["consent"] == 1]
        return reachable, "marketing_consent column: only customers who consented on every account."
    if basis:
        return customers, f"no consent column; the config states the basis: {basis}."
    return None, (
        "the source has no marketing-consent column and the config states no consent "
        "basis (personas.consent_basis)."
    )


def _write_audiences(
    customers: pd.DataFrame,
    cards: list[PersonaCard],
    cfg: Config,
    folder: Path,
) -> dict[str, Any]:
    """One CSV per persona and per actionable RFM segment; consenting customers only."""
    reachable, consent = reachable_customers(customers, cfg.personas.consent_basis)
    if reachable is None:
        return {"audiences": {}, "audience_note": f"No audience files: {consent}"}
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    by_persona = {c.name: c.actions[0]["action"] for c in cards}
    for name, action in by_persona.items():
        rows = reachable[reachable["persona"] == name].assign(action=action)
        counts[_write(rows, folder / f"persona-{slug(name, '-')}.csv")] = len(rows)
    if reachable["segment"].notna().any():
        scheme = load_segments(cfg.resolve_optional(cfg.rfm.segments))
        for rule in scheme.rules:
            if rule.action:
                rows = reachable[reachable["segment"] == rule.name].assign(action=rule.action)
                counts[_write(rows, folder / f"segment-{slug(rule.name, '-')}.csv")] = len(rows)
    return {"audiences": counts, "audience_note": f"Consent: {consent}"}


def _write(rows: pd.DataFrame, path: Path) -> str:
    rows.reset_index()[AUDIENCE_COLUMNS].round({"clv": 2, "p_alive": 4}).to_csv(path, index=False)
    return path.name


def _unfilled(cards: list[PersonaCard]) -> dict[str, list[str]]:
    """Why cards lack lines (a reason of ``lines.yaml``) -> the figures lacking, the
    same on every card of a run (a source has a table or not)."""
    out: dict[str, set[str]] = {}
    for card in cards:
        for line in card.unfilled:
            out.setdefault(line["needs"], set()).add(line["figure"])
    return {needs: sorted(figures) for needs, figures in sorted(out.items())}


def _summary(card: PersonaCard) -> dict[str, Any]:
    return {
        "cluster": card.cluster,
        "name": card.name,
        "full_name": card.full_name,
        "avatar": card.avatar,
        "customers": card.customers,
        "customer_share": round(card.share_customers, 4),
        "revenue_share": round(card.share_revenue, 4),
        "clv_share": round(card.share_clv, 4)
        if isinstance(card.share_clv, float)
        else card.share_clv,
        "tag_line": card.tag_line,
        "top_tags": [t.label for t in card.top_tags],
        "actions": [a["action"] for a in card.actions],
        # The same in each other report language: what the index and the page show.
        "words": {
            lang: {
                **words,
                "top_tags": [t.words.get(lang, {}).get("label", t.label) for t in card.top_tags],
                "actions": [
                    a["words"].get(lang, {}).get("action", a["action"]) for a in card.actions
                ],
            }
            for lang, words in card.words.items()
        },
    }
