"""Stage 06_personas: persona cards, every customer's persona and tags, and audiences.

Outputs in the stage's folder:

- ``personas.json``: the cards (:class:`customer_analytics.personas.PersonaCard`);
- ``customers_personas.parquet``: every buying customer's cluster, persona, RFM segment,
  CLV, P(alive), tags and own recommended action, for analysts (merged customer id only,
  no PII; not limited by consent, so not for activation);
- ``movement.parquet``: customers per (persona at the snapshot, persona at ``as_of``);
- ``audiences/*.csv``: what marketing tools import, one file per persona and per
  actionable RFM segment, consenting customers only (DESIGN section 7); the runner
  copies them into the run's report folder (``runner.PUBLISHED``).

A persona under ``privacy.min_group_size`` customers (the clustering merges such groups,
so only a shop too small for any group of that size has one) is never shown: no card,
no name on its customers, no audience, no row or column of the movement matrix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.config import Config
from customer_analytics.features import slug
from customer_analytics.personas import ActionRules, PersonaCard, build_personas
from customer_analytics.privacy import count_for_report
from customer_analytics.rfm_segments import load_segments
from customer_analytics.stage import stage_findings
from customer_analytics.tags import TagDictionary
from customer_analytics.truth import planted_personas

AUDIENCE_COLUMNS = ["customer_id", "persona", "segment", "clv", "p_alive", "action", "channel"]
NEW = "(new since snapshot)"


def run_personas(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the personas stage's outputs into ``out``; return its headline figures."""
    clustered = inputs["05_clustering"]
    features = pd.read_parquet(clustered / "features.parquet").set_index("customer_id")
    clusters = pd.read_parquet(clustered / "clusters.parquet").set_index("customer_id")
    dictionary = TagDictionary.load(cfg.resolve_optional(cfg.personas.tags))
    actions = ActionRules.load(cfg.resolve_optional(cfg.personas.actions))
    missing = stage_findings(clustered)["missing_features"]

    labels = clusters["cluster"].reindex(features.index)
    cards = build_personas(features, labels, dictionary, actions, missing=missing)
    minimum = cfg.privacy.min_group_size
    shown = [c for c in cards if c.customers >= minimum]
    (out / "personas.json").write_text(
        json.dumps([c.to_dict() for c in shown], indent=1, default=str)
    )

    names = {c.cluster: c.name for c in shown}
    customers = _customer_table(features, clusters, names, dictionary, actions)
    customers.reset_index().to_parquet(out / "customers_personas.parquet", index=False)
    movement = _movement(clusters, names)
    movement.reset_index().to_parquet(out / "movement.parquet", index=False)
    audiences = _write_audiences(customers, shown, cfg, out / "audiences")

    found = {
        "personas": [_summary(c) for c in shown],
        "suppressed_groups": len(cards) - len(shown),
        "missing_tags": dictionary.missing(features),
        "persona_kept_share": _stayed(movement),
        "movement_customers": int(movement.drop(index=NEW, errors="ignore").to_numpy().sum()),
        **audiences,
        **_truth_traits(inputs, labels, shown),
    }
    return {**found, "headline": _headline(found, minimum)}


def _headline(found: dict[str, Any], minimum: int) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first; audiences
    under the privacy minimum read "<10" (the files themselves are for activation)."""
    headline: dict[str, Any] = {
        "Personas": len(found["personas"]),
        "Groups too small to show": found["suppressed_groups"],
        "Kept their persona since the snapshot": found["persona_kept_share"],
    }
    if "truth" in found:
        checks = found["truth"].values()
        matched, traits = sum(c["matched"] for c in checks), sum(c["traits"] for c in checks)
        headline["Planted traits matched"] = f"{matched} of {traits}"
    audiences = found["audiences"]
    headline["Audience files"] = len(audiences)
    headline["Audience rows"] = count_for_report(sum(audiences.values()), minimum)
    for name, rows in audiences.items():
        headline[f"Audience · {name}"] = count_for_report(rows, minimum)
    return headline


def _truth_traits(inputs: dict[str, Path], labels: pd.Series, cards: list[PersonaCard]) -> dict:
    """Against the planted personas: does the card of the cluster holding most of a
    planted persona's customers carry that persona's defining traits? A cluster with no
    card (under the privacy minimum) carries none."""
    planted = planted_personas(inputs["01_ingest"])
    if planted is None:
        return {}
    persona, traits = planted
    truth = persona.reindex(labels.index)
    by_cluster = {c.cluster: c for c in cards}
    out = {}
    for name, wanted in traits.items():
        members = labels[truth == name]
        if members.empty:
            continue
        card = by_cluster.get(int(members.value_counts().index[0]))
        tags = {t.trait: t.value for t in card.tags} if card else {}
        wrong = {
            k: f"planted {v}, tagged {tags.get(k)}" for k, v in wanted.items() if tags.get(k) != v
        }
        out[name] = {
            "persona": card.name if card else "(no card: under the privacy minimum)",
            "traits": len(wanted),
            "matched": len(wanted) - len(wrong),
            "mismatches": wrong,
        }
    return {"truth": out}


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


def _write_audiences(
    customers: pd.DataFrame,
    cards: list[PersonaCard],
    cfg: Config,
    folder: Path,
) -> dict[str, Any]:
    """One CSV per persona and per actionable RFM segment; consenting customers only."""
    basis = cfg.personas.consent_basis
    if customers["consent"].notna().any():
        reachable = customers[customers["consent"] == 1]
        consent = "marketing_consent column: only customers who consented on every account"
    elif basis:
        reachable = customers
        consent = f"no consent column; the config states the basis: {basis}"
    else:
        return {
            "audiences": {},
            "audience_note": "No audience files: the source has no marketing-consent column "
            "and the config states no consent basis (personas.consent_basis).",
        }
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
    return {"audiences": counts, "audience_note": f"Consent: {consent}."}


def _write(rows: pd.DataFrame, path: Path) -> str:
    rows.reset_index()[AUDIENCE_COLUMNS].round({"clv": 2, "p_alive": 4}).to_csv(path, index=False)
    return path.name


def _summary(card: PersonaCard) -> dict[str, Any]:
    return {
        "cluster": card.cluster,
        "name": card.name,
        "customers": card.customers,
        "customer_share": round(card.share_customers, 4),
        "revenue_share": round(card.share_revenue, 4),
        "clv_share": round(card.share_clv, 4)
        if isinstance(card.share_clv, float)
        else card.share_clv,
        "tag_line": card.tag_line,
        "top_tags": [t.label for t in card.top_tags],
        "actions": [a["action"] for a in card.actions],
    }


def persona_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the personas stage for the run's index page: each
    persona with its size, share of net revenue and top three tags."""
    personas = found["personas"]
    if not personas:
        return ["No persona is large enough to describe."]
    lines = [
        f"{p['name']}: {p['customers']:,} buyers ({p['customer_share']:.0%}), "
        f"{p['revenue_share']:.0%} of net revenue"
        + (f"; {' · '.join(p['top_tags'][:3])}." if p["top_tags"] else ".")
        for p in personas
    ]
    if found["suppressed_groups"]:
        lines.append(
            f"{found['suppressed_groups']} group(s) under the privacy minimum are not shown."
        )
    lines.append(
        f"{found['persona_kept_share']:.0%} of customers who had bought by the snapshot "
        "kept their persona."
    )
    if found["audiences"]:
        rows = found["headline"]["Audience rows"]
        rows = f"{rows:,}" if isinstance(rows, int) else rows
        lines.append(
            f"{len(found['audiences'])} audience files with {rows} rows "
            "(consenting customers only)."
        )
    else:
        lines.append(found["audience_note"])
    return lines
