"""Uplift models (``targeting/uplift.py``) and their evaluation (``targeting/qini.py``):
on Hillstrom's e-mail test beside scikit-uplift's approaches, and at a million customers.

    .venv/bin/python benchmarks/bench_uplift.py [--parts hillstrom scale] [--customers 1000000]

1. Hillstrom (``../shared/data/hillstrom.csv``, 64,000 customers randomised to a Mens
   e-mail, a Womens e-mail or none): for each e-mail against no e-mail and each of visit
   and conversion, the same 70/30 split (stratified by arm, seed 0) for every model:
   ours (two models, doubly robust with the planned share as the propensity, the
   response model) and scikit-uplift's ``TwoModels`` (vanilla) and
   ``ClassTransformation``, all on histogram gradient boosting; the Qini coefficient
   with its 95% Poisson-bootstrap band (200 replicates) and the AUUC on the 30%.
2. Scale: ``--customers`` simulated customers with 40 features (the effect on a binary
   conversion rises with two of them, the baseline with two others), half treated: ours
   fitted on 70% and evaluated (Qini with bands) on 30%, timed, beside
   scikit-uplift's ``TwoModels``. Target: fitted and evaluated within 5 minutes.

Wall-clock figures are printed, never asserted: the machine is shared.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from customer_analytics.targeting import qini, uplift

warnings.filterwarnings("ignore", category=FutureWarning)  # sklift 0.5.1 on scikit-learn 1.9
from sklift.models import ClassTransformation, TwoModels  # noqa: E402

HILLSTROM = Path(__file__).resolve().parents[2] / "shared" / "data" / "hillstrom.csv"
FEATURES = ["recency", "history", "mens", "womens", "newbie", "zip_code", "channel"]


def models(propensity: float) -> dict:
    """Ours and scikit-uplift's, each a fresh unfitted model."""
    return {
        "two_models": uplift.TwoModels(),
        "doubly_robust": uplift.DoublyRobust(propensity=propensity),
        "response": uplift.Response(),
        "sklift_two_models": TwoModels(
            estimator_trmnt=HistGradientBoostingClassifier(random_state=0),
            estimator_ctrl=HistGradientBoostingClassifier(random_state=0),
            method="vanilla",
        ),
        "sklift_class_transformation": ClassTransformation(
            HistGradientBoostingClassifier(random_state=0)
        ),
    }


def evaluate(X: np.ndarray, y: np.ndarray, t: np.ndarray, names: list[str] | None = None) -> None:
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=t)
    for name, model in models(float(t.mean())).items():
        if names is not None and name not in names:
            continue
        start = time.perf_counter()
        labels = y[train].astype(int) if name.startswith("sklift") else y[train]
        predicted = model.fit(X[train], labels, t[train]).predict(X[test])
        fitted = time.perf_counter() - start
        found = qini.scores_with_bands(y[test], predicted, t[test])
        print(
            f"    {name:<28} Qini {found['qini']:7.4f} ({found['qini_low']:7.4f} to "
            f"{found['qini_high']:7.4f})  AUUC {found['auuc']:7.4f}  fit {fitted:6.1f} s, "
            f"evaluated {time.perf_counter() - start - fitted:5.1f} s"
        )


def hillstrom() -> None:
    if not HILLSTROM.is_file():
        print(f"1. Hillstrom: {HILLSTROM} is missing, skipped")
        return
    data = pd.read_csv(HILLSTROM)
    for email in ("Womens E-Mail", "Mens E-Mail"):
        part = data[data["segment"].isin([email, "No E-Mail"])]
        X = pd.get_dummies(part[FEATURES], dtype=float).to_numpy()
        t = (part["segment"] == email).to_numpy(dtype=int)
        for outcome in ("visit", "conversion"):
            print(f"1. Hillstrom, {email} against none, {outcome} ({len(t):,} customers)")
            evaluate(X, part[outcome].to_numpy(dtype=float), t)


def scale(customers: int) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(customers, 40)).astype(np.float32)
    t = rng.integers(0, 2, customers)
    base = 1 / (1 + np.exp(-(-2.5 + 0.8 * X[:, 0] + 0.5 * X[:, 1])))
    effect = 0.04 * (X[:, 2] > 0) + 0.03 * np.tanh(X[:, 3])
    y = (rng.random(customers) < np.clip(base + t * effect, 0, 1)).astype(float)
    print(f"2. Scale: {customers:,} customers x 40 features, conversion {y.mean():.3f}")
    start = time.perf_counter()
    evaluate(X, y, t, ["two_models", "doubly_robust", "sklift_two_models"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  all three in {time.perf_counter() - start:.1f} s (target: ours within 300 s each), peak {peak:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["hillstrom", "scale"])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    if "hillstrom" in args.parts:
        hillstrom()
    if "scale" in args.parts:
        scale(args.customers)


if __name__ == "__main__":
    main()
