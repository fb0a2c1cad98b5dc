"""The uplift models find a planted heterogeneous effect that the response model,
the usual practice, ranks by the wrong thing."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from customer_analytics.targeting import qini, uplift


def _shop(n: int, treated_share: float, seed: int = 0):  # noqa: ANN202
    """Revenue whose baseline rises with x0 ("sure things" buy anyway) while the
    treatment's effect rises with x1 and is negative below 0.3."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 5))
    t = (rng.random(n) < treated_share).astype(int)
    effect = 20.0 * (X[:, 1] - 0.3)
    y = 50.0 * X[:, 0] + t * effect + rng.normal(0, 10.0, n)
    return X, y, t, effect


def test_uplift_models_recover_the_effect_and_beat_the_response_model() -> None:
    X, y, t, _ = _shop(12000, treated_share=0.25)
    X_new, y_new, t_new, effect_new = _shop(6000, treated_share=0.25, seed=1)
    found = {}
    for name, model in {
        "two_models": uplift.TwoModels(),
        "doubly_robust": uplift.DoublyRobust(propensity=0.25),
        "response": uplift.Response(),
    }.items():
        predicted = model.fit(X, y, t).predict(X_new)
        found[name] = (
            spearmanr(predicted, effect_new).statistic,
            qini.qini_coefficient(y_new, predicted, t_new),
        )
    for name in ("two_models", "doubly_robust"):
        assert found[name][0] > 0.8
        # a revenue's Qini is small beside the perfect ranking's, which sees the noise
        assert found[name][1] > 1.5 * found["response"][1] > 0
    assert found["response"][0] < 0.5  # it ranks the sure things, who buy anyway


def test_doubly_robust_pseudo_outcomes_average_to_the_effect() -> None:
    X, y, t, effect = _shop(20000, treated_share=0.3, seed=2)
    pseudo = uplift.DoublyRobust(propensity=0.3).pseudo_outcomes(X, y, t)
    assert abs(pseudo.mean() - effect.mean()) < 3 * pseudo.std() / np.sqrt(len(y))
