"""Hillstrom's e-mail test (64,000 customers, randomised): our uplift models beside
scikit-uplift's two-model and class-transformation approaches on the same split."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from support import shared_file

from customer_analytics.targeting import qini, uplift

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from sklift.models import ClassTransformation
    from sklift.models import TwoModels as SkliftTwoModels

FEATURES = ["recency", "history", "mens", "womens", "newbie", "zip_code", "channel"]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_womens_email_visits_are_targeted_better_than_random_and_no_worse_than_sklift() -> None:
    data = pd.read_csv(shared_file("hillstrom.csv"))
    data = data[data["segment"].isin(["Womens E-Mail", "No E-Mail"])]
    X = pd.get_dummies(data[FEATURES], dtype=float).to_numpy()
    y = data["visit"].to_numpy(dtype=float)
    t = (data["segment"] == "Womens E-Mail").to_numpy(dtype=int)
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=t)
    ours = {
        "two_models": uplift.TwoModels(),
        "doubly_robust": uplift.DoublyRobust(propensity=t.mean()),
    }
    theirs = {
        "sklift_two_models": SkliftTwoModels(
            estimator_trmnt=HistGradientBoostingClassifier(random_state=0),
            estimator_ctrl=HistGradientBoostingClassifier(random_state=0),
            method="vanilla",
        ),
        "sklift_class_transformation": ClassTransformation(
            HistGradientBoostingClassifier(random_state=0)
        ),
    }
    scores = {}
    for name, model in {**ours, **theirs}.items():
        labels = y[train] if name in ours else y[train].astype(int)
        scores[name] = model.fit(X[train], labels, t[train]).predict(X[test])
    found = {name: qini.qini_coefficient(y[test], s, t[test]) for name, s in scores.items()}
    print(found)
    best_ours = max(ours, key=found.get)
    best_theirs = max(theirs, key=found.get)
    assert qini.scores_with_bands(y[test], scores[best_ours], t[test], 100)["qini_low"] > 0
    diff = qini.paired_difference(y[test], scores[best_ours], scores[best_theirs], t[test], 100)
    assert diff["qini_diff_high"] > 0, diff  # not worse beyond the paired interval
