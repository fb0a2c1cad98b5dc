"""Stage 08_recommend: "guess you like" picks, chosen on a validation window and
checked on a test window against strong retail baselines.

1. The purchases before the validation window train every candidate
   (:mod:`.candidates`) with each setting of its grid; the validation window's NDCG@10
   picks each candidate's setting, and the best candidate.
2. The purchases before the test window train every candidate again with its setting;
   the test window reports the metrics (:mod:`.metrics`) with paired bootstrap
   intervals, the chosen model's NDCG@10 difference from each baseline, and the
   metrics by persona and for customers with one order.

Customers are evaluated in a window when they bought before it and bought a product
known before it during it; the others are counted apart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customer_analytics.clean.stage import clean_tables_of
from customer_analytics.clustering.stage import CLUSTERS
from customer_analytics.config import Config
from customer_analytics.personas.stage import CUSTOMERS_PERSONAS
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.recommend import candidates, metrics
from customer_analytics.recommend.interactions import (
    Evaluated,
    Window,
    customer_orders,
    customer_products,
    evaluated,
    purchase_lines,
    training,
    windows,
)
from customer_analytics.utils import progress
from customer_analytics.utils.dates import day_end

OUTPUTS = Outputs(__name__)
SCORES = OUTPUTS.declare(
    "scores.parquet",
    "each candidate's test-window metrics with their 95% bootstrap intervals, and its "
    "validation NDCG@10",
)
TUNING = OUTPUTS.declare(
    "tuning.parquet", "every candidate setting tried and its validation NDCG@10"
)
BY_GROUP = OUTPUTS.declare(
    "by_group.parquet", "test-window metrics per model by persona and for one-order customers"
)

#: How the tables and findings round their figures.
DIGITS = 4


def personas_of(inputs: dict[str, Path]) -> pd.Series:
    """Each customer's persona name (06_personas) or cluster ("group 3", 05_clustering);
    empty when neither ran."""
    if CUSTOMERS_PERSONAS.exists(inputs):
        table = pd.read_parquet(CUSTOMERS_PERSONAS.path(inputs), columns=["customer_id", "persona"])
        return table.set_index("customer_id")["persona"].astype(str)
    if CLUSTERS.exists(inputs):
        table = pd.read_parquet(CLUSTERS.path(inputs), columns=["customer_id", "cluster"])
        return "group " + table.set_index("customer_id")["cluster"].astype(str)
    return pd.Series(dtype=str)


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the recommendation stage's outputs into ``out``; return its findings."""
    settings = cfg.recommend
    as_of = run_as_of(inputs)
    tables = clean_tables_of(inputs)
    if "order_items" not in tables:
        raise ValueError("08_recommend needs order lines (order_items): this source has none")
    persona = personas_of(inputs)
    codes, _ = pd.factorize(persona, sort=True)
    persona_code = pd.Series(codes, index=persona.index)
    validation, test = windows(day_end(as_of), settings.validation_days, settings.test_days)

    con = engine.connect(cfg.engine)
    try:
        lines = purchase_lines(
            con.read_parquet(tables["orders"]), con.read_parquet(tables["order_items"])
        )

        def window_data(window: Window) -> tuple[candidates.Training, Evaluated]:
            recent_start = window.start - dt.timedelta(days=settings.popular_days)
            train = training(
                customer_products(lines, None, window.start).execute(),
                customer_products(lines, recent_start, window.start).execute(),
                customer_orders(lines, window.start).execute(),
                persona_code,
                window.start,
                window.days,
            )
            scored = customer_products(lines, window.start, window.end).execute()
            return train, evaluated(scored, train)

        progress.step(f"the validation window from {validation.start:%Y-%m-%d}")
        valid_train, valid_eval = window_data(validation)
        progress.step(f"the test window from {test.start:%Y-%m-%d}")
        test_train, test_eval = window_data(test)
    finally:
        engine.close(con)
    for name, scored in (("validation", valid_eval), ("test", test_eval)):
        if scored.counts["evaluated"] == 0:
            raise ValueError(
                f"no customer bought both before and during the {name} window: "
                "make recommend.validation_days and test_days shorter or give more history"
            )

    tuning, tuned = tune(valid_train, valid_eval, cfg.recommend.seed)
    validation_ndcg = {name: score for name, (_, score) in tuned.items()}
    chosen = max(validation_ndcg, key=validation_ndcg.get)
    tuning.to_parquet(TUNING.at(out), index=False)

    progress.step("scoring every candidate on the test window")
    draws = metrics.bootstrap_draws(len(test_eval.rows), settings.n_bootstrap, settings.seed)
    popularity = np.asarray(test_train.bought.mean(axis=0)).ravel()
    values, models = {}, {}
    for name, (params, _) in tuned.items():
        model = candidates.make(name, settings.seed, **params).fit(test_train)
        top = candidates.top_items(model, test_eval.rows, min(20, len(test_train.items)))
        values[name] = metrics.per_customer(top, test_eval.truth)
        summary = metrics.summarise(values[name], draws)
        models[name] = {**summary, **metrics.catalogue_metrics(top, popularity)}
    vs_baselines = {
        baseline: metrics.paired_difference(
            values[chosen]["ndcg_at_10"], values[baseline]["ndcg_at_10"], draws
        )
        for baseline in candidates.BASELINES
        if baseline != chosen
    }
    scores = pd.DataFrame.from_dict(models, orient="index").rename_axis("model")
    scores["validation_ndcg_at_10"] = pd.Series(validation_ndcg)
    scores.reset_index().to_parquet(SCORES.at(out), index=False)
    groups = _groups(test_train, test_eval, persona)
    by_group = pd.concat(
        {name: metrics.by_group(v, groups) for name, v in values.items()}, names=["model"]
    )
    by_group.reset_index().to_parquet(BY_GROUP.at(out), index=False)

    found = {
        "as_of": str(as_of),
        "windows": {
            w.name: {"start": f"{w.start:%Y-%m-%d}", "days": w.days} for w in (validation, test)
        },
        "products": len(test_train.items),
        "customers": {"validation": valid_eval.counts, "test": test_eval.counts},
        "chosen": chosen,
        "chosen_reason": _reason(chosen, validation_ndcg),
        "tuned": {name: params for name, (params, _) in tuned.items() if params},
        "validation_ndcg_at_10": _rounded(validation_ndcg),
        "models": {name: _rounded(row) for name, row in models.items()},
        "vs_baselines": {name: _rounded(row) for name, row in vs_baselines.items()},
        "one_order_customers": _one_order(by_group, chosen),
    }
    return {**found, "headline": _headline(found)}


def tune(
    train: candidates.Training, scored: Evaluated, seed: int
) -> tuple[pd.DataFrame, dict[str, tuple[dict[str, Any], float]]]:
    """Every candidate's coordinate search (:data:`candidates.SEARCH`) on the validation
    window: the table of settings tried and, per candidate, its best setting with that
    setting's NDCG@10."""
    rows, best = [], {}
    k = min(20, len(train.items))

    def ndcg(name: str, params: dict[str, Any]) -> float:
        model = candidates.make(name, seed, **params).fit(train)
        top = candidates.top_items(model, scored.rows, k)
        found = float(metrics.per_customer(top, scored.truth)["ndcg_at_10"].mean())
        rows.append({"model": name, "params": _label(params), "ndcg_at_10": found})
        return found

    for number, name in enumerate(candidates.CANDIDATES, start=1):
        progress.step(f"validation: {name}", number, len(candidates.CANDIDATES))
        search = candidates.SEARCH.get(name, [])
        params = {param: values[0] for param, values in search}
        best[name] = (params, ndcg(name, params))
        for param, values in search:
            for value in values[1:]:
                trial = {**best[name][0], param: value}
                score = ndcg(name, trial)
                if score > best[name][1]:
                    best[name] = (trial, score)
    return pd.DataFrame(rows), best


def _groups(train: candidates.Training, scored: Evaluated, persona: pd.Series) -> pd.Series:
    """Each evaluated customer's group: "one order" for customers with a single order
    in training, else their persona (or "all" without personas)."""
    customers = train.customers[scored.rows]
    names = persona.reindex(customers).fillna("all").to_numpy()
    one_order = train.order_counts[scored.rows] == 1
    return pd.Series(np.where(one_order, "one order", names), index=customers)


def _one_order(by_group: pd.DataFrame, chosen: str) -> dict[str, Any]:
    table = by_group.reset_index()
    row = table[(table["model"] == chosen) & (table["group"] == "one order")]
    if row.empty:
        return {"customers": 0}
    return _rounded(row.iloc[0].drop(["model", "group"]).to_dict())


def _reason(chosen: str, validation: dict[str, float]) -> str:
    ranked = sorted(validation.items(), key=lambda kv: -kv[1])
    runner = next(name for name, _ in ranked if name != chosen)
    return (
        f"{chosen} had the highest NDCG@10 on the validation window "
        f"({validation[chosen]:.3f}; next {runner}, {validation[runner]:.3f})"
    )


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    chosen = found["models"][found["chosen"]]
    return {
        "Chosen model": found["chosen"],
        "NDCG@10 (test)": chosen["ndcg_at_10"],
        "HR@10 (test)": chosen["hr_at_10"],
        "Customers evaluated (test)": found["customers"]["test"]["evaluated"],
        "Products": found["products"],
    }


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "(none)"


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: round(float(v), DIGITS) if isinstance(v, float | np.floating) else v
        for k, v in values.items()
    }
