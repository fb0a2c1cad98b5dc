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
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customer_analytics import i18n
from customer_analytics.clean.stage import clean_tables_of
from customer_analytics.clustering.stage import CLUSTERS, FEATURES
from customer_analytics.config import Config
from customer_analytics.i18n import N_
from customer_analytics.personas.stage import CUSTOMERS_PERSONAS, PERSONAS, reachable_customers
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.recommend import candidates, metrics
from customer_analytics.recommend.activation import (
    ALSO_BOUGHT,
    bought_together,
    persona_products,
    picks,
)
from customer_analytics.recommend.interactions import (
    Evaluated,
    NotEnoughHistory,
    Window,
    carts_left,
    customer_products,
    evaluated,
    purchase_lines,
    trained_until,
    windows,
)
from customer_analytics.recommend.truth import truth_scores
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
ACTIVATION = OUTPUTS.declare(
    "activation",
    "CSVs for marketing tools: picks.csv (each consenting customer's picks with reasons), "
    "cart_reminders.csv (consenting customers with a cart left), also_bought.csv and "
    "persona_products.csv",
)
BY_GROUP = OUTPUTS.declare(
    "by_group.parquet", "test-window metrics per model by persona and for one-order customers"
)

#: How the tables and findings round their figures.
DIGITS = 4
#: The "also bought" products per product in the activation file.
PAIRS_PER_PRODUCT = 10


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
    """Compute the recommendation stage's outputs into ``out``; return its findings.

    When either window has no customer to evaluate (a short history, a gap in sales),
    no model can be chosen on evidence: recent popularity is the fallback, the
    activation files are written from it, and the findings say why (``not_evaluated``).
    """
    settings = cfg.recommend
    as_of = run_as_of(inputs)
    tables = clean_tables_of(inputs)
    if "order_items" not in tables:
        raise ValueError("08_recommend needs order lines (order_items): this source has none")
    persona = personas_of(inputs)
    codes, persona_names = pd.factorize(persona, sort=True)
    persona_code = pd.Series(codes, index=persona.index)
    validation, test = windows(day_end(as_of), settings.validation_days, settings.test_days)

    con = engine.connect(cfg.engine)
    try:
        lines = purchase_lines(
            con.read_parquet(tables["orders"]), con.read_parquet(tables["order_items"])
        )
        events = con.read_parquet(tables["events"]) if "events" in tables else None
        identity = con.read_parquet(tables["identity_map"]) if "identity_map" in tables else None

        def left(start: dt.datetime, end: dt.datetime) -> pd.DataFrame | None:
            if events is None:
                return None
            return carts_left(events, lines, identity, start, end).execute()

        def trained(end: dt.datetime, horizon: int) -> candidates.Training:
            carts = left(end - dt.timedelta(days=settings.cart_days), end)
            return trained_until(lines, end, horizon, persona_code, settings.popular_days, carts)

        def window_data(window: Window) -> tuple[candidates.Training, Evaluated]:
            progress.step(f"the {window.name} window from {window.start:%Y-%m-%d}")
            train = trained(window.start, window.days)
            scored = evaluated(customer_products(lines, window.start, window.end).execute(), train)
            if scored.counts["evaluated"] == 0:
                raise NotEnoughHistory(
                    f"no customer bought both before and during the {window.name} window "
                    f"from {window.start:%Y-%m-%d}"
                )
            return train, scored

        try:
            data = {window.name: window_data(window) for window in (validation, test)}
        except NotEnoughHistory as why:
            data = str(why)
        progress.step(f"every purchase to {as_of}, products bought together and carts left")
        try:
            final = trained(day_end(as_of), settings.test_days)
        except NotEnoughHistory as why:
            raise ValueError(f"08_recommend cannot recommend: {why}") from None
        # Every pair for the check against the planted pairs (a synthetic shop's only),
        # else each product's first ten, which is all the activation file holds.
        per_product = len(final.items) if cfg.truth_dir is not None else PAIRS_PER_PRODUCT
        all_pairs = bought_together(lines, settings.min_pair_orders, per_product).execute()
        together = all_pairs[all_pairs["rank"] <= PAIRS_PER_PRODUCT].reset_index(drop=True)
        carts = left(day_end(as_of) - dt.timedelta(hours=settings.cart_hours), day_end(as_of))
    finally:
        engine.close(con)

    if isinstance(data, str):
        found = not_evaluated(data, out)
    else:
        found = evaluate(cfg, inputs, out, data, persona, all_pairs)
    chosen = found["chosen"]
    progress.step(f"picks for every consenting customer from {chosen}, refitted to {as_of}")
    model = candidates.make(chosen, settings.seed, **found["tuned"].get(chosen, {})).fit(final)
    activated = activate(cfg, inputs, out, model, final, together, carts, list(persona_names))
    found = {
        "as_of": str(as_of),
        "windows": {
            w.name: {"start": f"{w.start:%Y-%m-%d}", "days": w.days} for w in (validation, test)
        },
        **found,
        **activated,
        "persona_words": persona_words(inputs),
    }
    return {**found, "headline": _headline(found)}


def persona_words(inputs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Each persona's name in the other report languages (06_personas' cards), by its
    English name: what the page shows for the personas of the tables."""
    if not PERSONAS.exists(inputs):
        return {}
    cards = json.loads(PERSONAS.path(inputs).read_text())
    return {c["name"]: c.get("words", {}) for c in cards}


def not_evaluated(reason: str, out: Path) -> dict[str, Any]:
    """The findings and (empty) tables of a run whose windows cannot choose a model."""
    pd.DataFrame(columns=["model", *metrics.METRICS]).to_parquet(SCORES.at(out), index=False)
    pd.DataFrame(columns=["model", "params", "ndcg_at_10"]).to_parquet(TUNING.at(out), index=False)
    pd.DataFrame(columns=["model", "group", "customers"]).to_parquet(BY_GROUP.at(out), index=False)
    return {
        "not_evaluated": reason,
        "chosen": "popular",
        "chosen_reason": f"recent popularity, the fallback: {reason}, so no model can be "
        "chosen or checked on evidence",
        "tuned": {},
        "models": {},
        "vs_baselines": {},
    }


def evaluate(
    cfg: Config,
    inputs: dict[str, Path],
    out: Path,
    data: dict[str, tuple[candidates.Training, Evaluated]],
    persona: pd.Series,
    all_pairs: pd.DataFrame,
) -> dict[str, Any]:
    """Tune and choose on the validation window, score every candidate on the test
    window; write the tables and return the findings of both."""
    settings = cfg.recommend
    valid_train, valid_eval = data["validation"]
    test_train, test_eval = data["test"]
    tuning, tuned = tune(valid_train, valid_eval, settings.seed)
    validation_ndcg = {name: score for name, (_, score) in tuned.items()}
    chosen = max(validation_ndcg, key=validation_ndcg.get)
    tuning.to_parquet(TUNING.at(out), index=False)

    progress.step("scoring every candidate on the test window")
    draws = metrics.bootstrap_draws(len(test_eval.rows), settings.n_bootstrap, settings.seed)
    popularity = np.asarray(test_train.bought.mean(axis=0)).ravel()
    values, models, tops = {}, {}, {}
    for name, (params, _) in tuned.items():
        model = candidates.make(name, settings.seed, **params).fit(test_train)
        tops[name] = candidates.top_items(model, test_eval.rows, min(20, len(test_train.items)))
        values[name] = metrics.per_customer(tops[name], test_eval.truth)
        summary = metrics.summarise(values[name], draws)
        models[name] = {**summary, **metrics.catalogue_metrics(tops[name], popularity)}
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
    test_carts = test_train.extra.get("carts")
    carts_later = metrics.carts_bought_later(
        None if test_carts is None else test_carts[test_eval.rows], test_eval.truth, tops
    )
    return {
        "products": len(test_train.items),
        "customers": {"validation": valid_eval.counts, "test": test_eval.counts},
        "chosen": chosen,
        "chosen_reason": _reason(chosen, validation_ndcg),
        "tuned": {name: params for name, (params, _) in tuned.items() if params},
        "validation_ndcg_at_10": _rounded(validation_ndcg),
        "models": {name: _rounded(row) for name, row in models.items()},
        "vs_baselines": {name: _rounded(row) for name, row in vs_baselines.items()},
        "one_order_customers": _one_order(by_group, chosen),
        **({"carts_bought_later": carts_later} if carts_later else {}),
        **truth_scores(
            cfg.truth_dir,
            test_train,
            test_eval,
            {name: row["ndcg_at_10"] for name, row in models.items()},
            chosen,
            all_pairs,
            _products(inputs),
        ),
    }


def activate(
    cfg: Config,
    inputs: dict[str, Path],
    out: Path,
    model: candidates.Candidate,
    final: candidates.Training,
    together: pd.DataFrame,
    carts: pd.DataFrame | None,
    persona_names: list[str],
) -> dict[str, Any]:
    """Write the activation files (:data:`ACTIVATION`) and return what the findings say
    of them: consenting customers only in the per-customer files (DESIGN section 7)."""
    settings = cfg.recommend
    folder = ACTIVATION.at(out)
    folder.mkdir(parents=True, exist_ok=True)
    products = _products(inputs)
    names = products["product_name"] if "product_name" in products else pd.Series(dtype=str)
    files = {
        "also_bought.csv": together,
        "persona_products.csv": persona_products(final, persona_names),
    }
    customers = _customers(inputs)
    reachable, consent = reachable_customers(customers, cfg.personas.consent_basis)
    found: dict[str, Any] = {"consent": consent}
    if reachable is not None:
        picked = picks(
            model, final, reachable.index, settings.top_n, settings.just_bought_days, names
        )
        files["picks.csv"] = picked
        reasons = picked["reason"].where(
            ~picked["reason"].str.startswith("customers who"), ALSO_BOUGHT
        )
        found["picks"] = {
            "customers": int(picked["customer_id"].nunique()),
            "by_reason": {str(k): int(v) for k, v in reasons.value_counts().items()},
        }
        found["examples"] = _examples(picked, final, products)
        if carts is not None:
            files["cart_reminders.csv"] = _reminders(carts, reachable, _best_hours(inputs))
    if carts is None:
        found["cart_reminders"] = "no web or app events: carts cannot be seen"
    else:
        reminded = files.get("cart_reminders.csv", pd.DataFrame())
        found["cart_reminders"] = {
            "hours": settings.cart_hours,
            "customers_with_carts_left": int(carts["customer_id"].nunique()),
            "customers_to_remind": len(reminded),
        }
    for name, frame in files.items():
        frame.to_csv(folder / name, index=False)
    found["activation_files"] = {name: len(frame) for name, frame in files.items()}
    found["persona_products"] = {
        str(p): rows["product_id"].head(5).tolist()
        for p, rows in files["persona_products.csv"].groupby("persona", sort=True)
    }
    return found


def _products(inputs: dict[str, Path]) -> pd.DataFrame:
    tables = clean_tables_of(inputs)
    if "products" not in tables:
        return pd.DataFrame(columns=["product_id"]).set_index("product_id")
    return (
        pd.read_parquet(tables["products"])
        .drop(columns="_row", errors="ignore")
        .set_index("product_id")
    )


def _customers(inputs: dict[str, Path]) -> pd.DataFrame:
    """Consent, persona and channel per customer (06_personas), empty when it did not run."""
    if not CUSTOMERS_PERSONAS.exists(inputs):
        return pd.DataFrame(columns=["consent", "persona", "channel"])
    columns = ["customer_id", "consent", "persona", "channel"]
    return pd.read_parquet(CUSTOMERS_PERSONAS.path(inputs), columns=columns).set_index(
        "customer_id"
    )


def _best_hours(inputs: dict[str, Path]) -> pd.Series:
    """Each customer's usual hour of ordering (the circular mean, 05_clustering)."""
    if not FEATURES.exists(inputs):
        return pd.Series(dtype=float)
    features = pd.read_parquet(FEATURES.path(inputs))
    if "order_hour" not in features:
        return pd.Series(dtype=float)
    return features.set_index("customer_id")["order_hour"].round().mod(24)


def _reminders(carts: pd.DataFrame, reachable: pd.DataFrame, hours: pd.Series) -> pd.DataFrame:
    """One row per consenting customer with a cart left: its products, persona, channel
    and the hour they usually order at."""
    carts = carts[carts["customer_id"].isin(reachable.index)]
    by = carts.groupby("customer_id", sort=True)
    table = pd.DataFrame(
        {
            "products": by["product_id"].agg(lambda ids: ", ".join(sorted(ids))),
            "last_carted_utc": by["carted_ts"].max(),
        }
    )
    table["persona"] = reachable["persona"].reindex(table.index)
    table["channel"] = reachable["channel"].reindex(table.index)
    table["best_hour"] = hours.reindex(table.index)
    return table.reset_index()


def _examples(
    picked: pd.DataFrame, final: candidates.Training, products: pd.DataFrame, n: int = 3
) -> list[dict[str, Any]]:
    """Three customers with at least three orders (the first by id), what they bought
    lately and their first five picks with reasons, for the stakeholder page."""
    counts = pd.Series(final.order_counts, index=final.customers)
    regulars = [c for c in picked["customer_id"].unique() if counts.get(c, 0) >= 3][:n]
    category = products["category"] if "category" in products else pd.Series(dtype=str)
    examples = []
    for customer in regulars:
        row = final.customers.get_loc(customer)
        owned = final.orders[row]
        recent = owned.indices[np.argsort(final.days_since_last[row].data, kind="stable")]
        examples.append(
            {
                "customer_id": str(customer),
                "orders": int(counts[customer]),
                "recent_categories": list(
                    dict.fromkeys(category.reindex(final.items[recent]).dropna())
                )[:3],
                "picks": [
                    {
                        "product_id": str(r.product_id),
                        "category": str(category.get(r.product_id, "")),
                        "reason": r.reason,
                    }
                    for r in picked[picked["customer_id"] == customer].head(5).itertuples()
                ],
            }
        )
    return examples


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
        search = candidates.search(name, train)
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


#: The candidates as a reader reads them (the English page shows their ids).
MODELS = {
    # Translators: the ids of the recommendation models; give each a short name.
    "popular": N_("popular"),
    "popular_persona": N_("popular_persona"),
    "buy_again": N_("buy_again"),
    "item_cosine": N_("item_cosine"),
    "als": N_("als"),
    "blend": N_("blend"),
}


def model_name(model: str) -> str:
    """A candidate's name in the current language (its id in English)."""
    return i18n.gettext(MODELS[model]) if model in MODELS else model


def _in_every_language(render: Any, *args: Any) -> dict[str, str]:
    """``render(*args)`` in every report language, for the index page."""
    out = {}
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            out[lang] = render(*args)
    return out


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    if "not_evaluated" in found:
        return {
            N_("Chosen model"): _in_every_language(
                lambda m: i18n.gettext(N_("{model} (fallback: not evaluated)")).format(
                    model=model_name(m)
                ),
                found["chosen"],
            )
        }
    chosen = found["models"][found["chosen"]]
    return {
        N_("Chosen model"): _in_every_language(model_name, found["chosen"]),
        N_("NDCG@10 (test)"): chosen["ndcg_at_10"],
        N_("HR@10 (test)"): chosen["hr_at_10"],
        N_("Customers evaluated (test)"): found["customers"]["test"]["evaluated"],
        N_("Products"): found["products"],
    }


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "(none)"


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: round(float(v), DIGITS) if isinstance(v, float | np.floating) else v
        for k, v in values.items()
    }
