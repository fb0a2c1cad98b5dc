"""Stage 06_personas: persona cards, every customer's persona and tags, and audiences.

Outputs in the stage's folder:

- ``personas.json``: the cards (:class:`customer_analytics.personas.PersonaCard`);
- ``customers_personas.parquet``: every buying customer's cluster, persona, RFM segment,
  CLV, P(alive), tags and own recommended action, for analysts (merged customer id only,
  no PII; not limited by consent, so not for activation);
- ``movement.parquet``: customers per (persona at the snapshot, persona at ``as_of``);
- ``audiences/*.csv``: what marketing tools import, one file per persona and per
  actionable RFM segment, consenting customers only (DESIGN section 7).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.config import Config
from customer_analytics.personas import ActionRules, PersonaCard, build_personas
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
    shown = [c for c in cards if c.customers >= cfg.privacy.min_group_size]
    (out / "personas.json").write_text(
        json.dumps([c.to_dict() for c in shown], indent=1, default=str)
    )

    names = {c.cluster: c.name for c in cards}
    customers = _customer_table(features, clusters, names, dictionary, actions, inputs)
    customers.reset_index().to_parquet(out / "customers_personas.parquet", index=False)
    movement = _movement(clusters, names)
    movement.reset_index().to_parquet(out / "movement.parquet", index=False)
    audiences = _write_audiences(customers, shown, cfg, inputs, out / "audiences")

    stayed = _stayed(movement)
    return {
        "personas": [_summary(c) for c in shown],
        "suppressed_groups": len(cards) - len(shown),
        "missing_tags": dictionary.missing(features),
        "persona_kept_share": stayed,
        "movement_customers": int(movement.drop(index=NEW, errors="ignore").to_numpy().sum()),
        **audiences,
        **_truth_traits(inputs, labels, cards),
    }


def _truth_traits(inputs: dict[str, Path], labels: pd.Series, cards: list[PersonaCard]) -> dict:
    """Against the planted personas: does the card of the cluster holding most of a
    planted persona's customers carry that persona's defining traits?"""
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
        card = by_cluster[int(members.value_counts().index[0])]
        tags = {t.trait: t.value for t in card.tags}
        wrong = {
            k: f"planted {v}, tagged {tags.get(k)}" for k, v in wanted.items() if tags.get(k) != v
        }
        out[name] = {
            "persona": card.name,
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
    inputs: dict[str, Path],
) -> pd.DataFrame:
    tags = dictionary.tag_customers(features)
    table = pd.DataFrame(index=features.index)
    table["cluster"] = clusters["cluster"].reindex(features.index)
    table["persona"] = table["cluster"].map(names)
    if "03_rfm" in inputs:
        rfm = pd.read_parquet(
            inputs["03_rfm"] / "customers_rfm.parquet", columns=["customer_id", "segment"]
        )
        table["segment"] = rfm.set_index("customer_id")["segment"].reindex(table.index)
    for column in ("clv", "p_alive", "consent"):
        table[column] = features[column] if column in features else float("nan")
    table["channel"] = tags["channel"] if "channel" in tags else None
    table["action"] = actions.for_customers(tags)
    return table.join(tags.drop(columns=["channel"], errors="ignore").add_prefix("tag_"))


def _movement(clusters: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """Customers per (persona at the snapshot, persona now); new buyers on their own row."""
    before = clusters["cluster_at_snapshot"].map(
        lambda c: names.get(c, NEW) if pd.notna(c) else NEW
    )
    now = clusters["cluster"].map(names)
    order = list(dict.fromkeys(names.values()))
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
    inputs: dict[str, Path],
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
        counts[_write(rows, folder / f"persona-{_slug(name)}.csv")] = len(rows)
    if "03_rfm" in inputs and "segment" in reachable:
        scheme = load_segments(cfg.resolve_optional(cfg.rfm.segments))
        for rule in scheme.rules:
            if rule.action:
                rows = reachable[reachable["segment"] == rule.name].assign(action=rule.action)
                counts[_write(rows, folder / f"segment-{_slug(rule.name)}.csv")] = len(rows)
    return {"audiences": counts, "audience_note": f"Consent: {consent}."}


def _write(rows: pd.DataFrame, path: Path) -> str:
    rows.reset_index()[AUDIENCE_COLUMNS].round({"clv": 2, "p_alive": 4}).to_csv(path, index=False)
    return path.name


def publish_audiences(out_dir: Path, run_dir: Path | None) -> Path | None:
    """Copy the stage's audience files into the run's report folder (``<run>/audiences``)."""
    source = out_dir / "audiences"
    if run_dir is None or not source.is_dir():
        return None
    target = run_dir / "audiences"
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


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


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def persona_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the personas stage for the run's index page."""
    personas = found["personas"]
    if not personas:
        return ["No persona is large enough to describe."]
    top = max(personas, key=lambda p: p["revenue_share"])
    lines = [
        f"{len(personas)} personas; the most valuable, {top['name']} "
        f"({top['customer_share']:.0%} of buyers), brings {top['revenue_share']:.0%} of net revenue.",
        f"{found['persona_kept_share']:.0%} of customers who had bought by the snapshot kept their persona.",
    ]
    if found["audiences"]:
        lines.append(
            f"{len(found['audiences'])} audience files with "
            f"{sum(found['audiences'].values()):,} rows (consenting customers only)."
        )
    else:
        lines.append(found["audience_note"])
    return lines
