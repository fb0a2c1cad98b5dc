"""The lifetimes adapter: exact weighted fits, clear errors, stable formulas, CLV, and the
published parameters of the CDNOW sample (Fader, Hardie & Lee 2005 for BG/NBD and
Pareto/NBD, BTYDplus for MBG/NBD, Fader & Hardie's 2013 Gamma-Gamma note, Hardie's
BG/NBD workbook for E[X(t)]).

lifetimes is imported here only as the reference the adapter is checked against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy import integrate
from scipy.special import hyp2f1

from customer_analytics.clv import (
    BetaGeoModel,
    ClvFitError,
    ClvInputError,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    formulas,
)

CDNOW_PARETO = (0.553, 10.578, 0.606, 11.669)
CDNOW_BGNBD = (0.243, 4.414, 0.793, 2.426)
PARETO_PARAMS = dict(zip(ParetoNBDModel.param_names, CDNOW_PARETO, strict=True))


def columns(frame: pd.DataFrame) -> list[np.ndarray]:
    return [frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]


def relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.max(np.abs(ours / reference - 1)))


# ------------------------------------------------------------ weighted fits equal plain fits


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
@pytest.mark.parametrize(
    ("model", "fitter"),
    [(BetaGeoModel, BetaGeoFitter), (ModifiedBetaGeoModel, ModifiedBetaGeoFitter)],
)
def test_weighted_fit_equals_plain_fit_bg(data, model, fitter, penalizer):
    ours = model(penalizer=penalizer).fit(data)
    plain = fitter(penalizer_coef=penalizer).fit(*columns(data))
    assert ours.n_patterns_ < len(data) / 2  # the test is meaningful: rows were merged
    assert relative_difference(ours.params, plain.params_.to_numpy()) < 1e-6


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
def test_weighted_fit_equals_plain_fit_pareto(data, penalizer):
    ours = ParetoNBDModel(penalizer=penalizer).fit(data)
    plain = ParetoNBDFitter(penalizer_coef=penalizer).fit(
        *columns(data), initial_params=np.ones(4), tol=1e-8, maxiter=10_000
    )
    assert relative_difference(ours.params, plain.params_.to_numpy()) < 1e-6


def test_lifetimes_own_weighted_pareto_fit_moves_with_a_penalizer(data):
    """Why ParetoNBDModel has its own objective: lifetimes divides by mean(weights)."""
    (x, t_x, T), _, counts = formulas.deduplicate(*columns(data))
    settings = {"initial_params": np.ones(4), "tol": 1e-8, "maxiter": 10_000}
    weighted = ParetoNBDFitter(penalizer_coef=0.1).fit(x, t_x, T, weights=counts, **settings)
    plain = ParetoNBDFitter(penalizer_coef=0.1).fit(*columns(data), **settings)
    assert relative_difference(weighted.params_.to_numpy(), plain.params_.to_numpy()) > 1e-3


def test_pareto_fit_is_deterministic(data):
    # lifetimes draws its Pareto/NBD start from the global legacy generator: vary its seed.
    np.random.seed(1)  # noqa: NPY002
    first = ParetoNBDModel().fit(data).params_
    np.random.seed(2)  # noqa: NPY002
    assert ParetoNBDModel().fit(data).params_ == first


def test_log_likelihood_is_the_papers_total(data, fitted):
    x, t_x, T = columns(data)
    bg = fitted["bgnbd"]
    lifetimes_bg = -BetaGeoFitter._negative_log_likelihood(
        np.log(bg.params), x, t_x, T, np.ones_like(x), 0.0
    ) * len(x)
    assert bg.log_likelihood_ == pytest.approx(lifetimes_bg, rel=1e-12)
    pareto = fitted["pareto"]
    lifetimes_pareto = ParetoNBDFitter._conditional_log_likelihood(pareto.params, x, t_x, T).sum()
    assert pareto.log_likelihood_ == pytest.approx(lifetimes_pareto, rel=1e-12)


# ------------------------------------------------------------ invalid input


def frame(**overrides) -> pd.DataFrame:
    base = {"frequency": [2.0, 0.0, 1.0], "recency": [5.0, 0.0, 3.0], "T": [10.0, 8.0, 6.0]}
    return pd.DataFrame({**base, **overrides}, index=["a", "b", "c"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (frame().drop(columns="frequency"), "frequency column is missing from data"),
        (frame(T=[10.0, np.nan, 6.0]), r"T column has missing \(NaN\).*index 'b'"),
        (frame(recency=[-1.0, 0.0, 3.0]), "recency column must not be negative.*index 'a'"),
        (frame(frequency=[2.0, 0.0, -1.0]), "frequency column must not be negative"),
        (frame(frequency=[2.5, 0.0, 1.0]), "frequency column must hold whole numbers"),
        (frame(recency=[5.0, 0.0, 7.0]), "recency must not exceed T.*index 'c'"),
        (frame(recency=[5.0, 1.0, 3.0]), "recency must be 0 where frequency is 0.*index 'b'"),
        (frame(T=["10", "8", "6"]), "T column must be numeric"),
        (frame().iloc[:0], "data has no rows"),
    ],
)
def test_invalid_summary_is_rejected_naming_column_and_rule(fitted, bad, message):
    with pytest.raises(ClvInputError, match=message):
        BetaGeoModel().fit(bad)
    with pytest.raises(ClvInputError, match=message):
        fitted["pareto"].probability_alive(bad)


def test_misaligned_series_are_rejected():
    """pandas fills NaN where indexes differ; lifetimes would have used the wrong rows."""
    misaligned = pd.DataFrame(
        {
            "frequency": pd.Series([2.0, 1.0], index=[1, 2]),
            "recency": pd.Series([5.0, 3.0], index=[2, 3]),
            "T": pd.Series([10.0, 8.0], index=[1, 2]),
        }
    )
    with pytest.raises(ClvInputError, match="different indexes"):
        ParetoNBDModel().fit(misaligned)


def test_other_invalid_arguments(fitted, data):
    with pytest.raises(TypeError, match="pandas DataFrame"):
        BetaGeoModel().fit(data.to_numpy())
    with pytest.raises(ClvInputError, match="t must be one number or one per row"):
        fitted["bgnbd"].expected_purchases(data, np.ones(3))
    with pytest.raises(ClvInputError, match="spend must be one number or one per row"):
        customer_lifetime_value(fitted["bgnbd"], data, np.ones(3))
    with pytest.raises(ClvInputError, match="monetary_value column is missing"):
        GammaGammaModel().fit(data.drop(columns="monetary_value"))
    with pytest.raises(ClvInputError, match="time_unit must be one of"):
        BetaGeoModel(time_unit="months").fit(data)
    with pytest.raises(ClvFitError, match="not fitted yet"):
        BetaGeoModel().probability_alive(data)


def test_failed_fits_say_why_and_what_to_try(data):
    with pytest.raises(ClvFitError, match="did not converge.*Maximum number.*penalizer"):
        ParetoNBDModel(max_iter=5).fit(data)
    nobody_returns = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": [10.0, 20, 30, 40]})
    with pytest.raises(ClvFitError, match="BG/NBD.*(singular|degenerate).*measure time in days"):
        BetaGeoModel().fit(nobody_returns)


def test_pareto_fit_without_dropout_variation_stops_at_the_edge_and_says_so():
    """Everyone drops out at one rate: s and beta run off together to the bound, where
    the fit is refused with the reason."""
    rng = np.random.default_rng(3)
    n = 2000
    T = rng.integers(40, 79, n).astype(float)
    lam = rng.gamma(0.553, 1 / 10.578, n)
    active = np.minimum(rng.exponential(1 / 0.05, n), T)
    x = rng.poisson(lam * active).astype(float)
    last = np.where(x > 0, active * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    data = pd.DataFrame({"frequency": x, "recency": np.floor(last), "T": T})
    with pytest.raises(ClvFitError, match="edge of the parameter space.*use BG/NBD"):
        ParetoNBDModel().fit(data)


# ------------------------------------------------------------ Pareto/NBD at the edges


def test_pareto_formulas_match_lifetimes_where_it_works(data):
    fixed = ParetoNBDModel.from_params(PARETO_PARAMS)
    np.testing.assert_allclose(
        fixed.probability_alive(data),
        fixed.fitter_.conditional_probability_alive(*columns(data)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        fixed.expected_purchases(data, 39.0),
        fixed.fitter_.conditional_expected_number_of_purchases_up_to_time(39.0, *columns(data)),
        rtol=1e-10,
    )


def test_pareto_fit_works_with_a_high_frequency_customer_at_T(data):
    heavy = pd.DataFrame({"frequency": [400.0], "recency": [39.0], "T": [39.0]}, index=["heavy"])
    model = ParetoNBDModel().fit(pd.concat([data, heavy]))
    assert np.isfinite(model.log_likelihood_)
    assert model.probability_alive(heavy)[0] == 1.0
    assert np.isfinite(model.expected_purchases(heavy, 52.0)).all()


# ------------------------------------------------------------ P(at least one purchase)


def geometric_dropout_reference(params, t, x, t_x, T, modified: bool) -> float:
    """P(>= 1 purchase in t | history) by quadrature over the beta and gamma mixing laws."""
    r, alpha, a, b = params

    def over_p(k: float, m: float) -> float:  # E[p^m (1 - p)^k], unnormalised
        f = lambda p: p**m * (1 - p) ** k  # noqa: E731
        return integrate.quad(f, 0, 1, weight="alg", wvar=(a - 1, b - 1), epsabs=0, epsrel=1e-12)[0]

    def over_lambda(f) -> float:  # E[f(lambda) lambda^x], unnormalised gamma(r, alpha)
        g = lambda lam: f(lam) * np.exp(-alpha * lam)  # noqa: E731
        # lam^(x + r - 1) is singular at 0 when x = 0: integrate it as a weight there.
        near = integrate.quad(g, 0, 1, weight="alg", wvar=(x + r - 1, 0), epsabs=0, epsrel=1e-12)
        far = integrate.quad(lambda lam: g(lam) * lam ** (x + r - 1), 1, np.inf, epsrel=1e-12)
        return near[0] + far[0]

    extra = 1 if modified else 0
    stay = over_p(x + extra, 0)
    leave = over_p(x - 1 + extra, 1) if (x > 0 or modified) else 0.0
    alive = over_lambda(lambda lam: np.exp(-lam * T))
    died = over_lambda(lambda lam: np.exp(-lam * t_x))
    buys = over_lambda(lambda lam: np.exp(-lam * T) * -np.expm1(-lam * t))
    return stay * buys / (stay * alive + leave * died)


@pytest.mark.parametrize("history", [(0.0, 0.0, 30.0), (2.0, 30.43, 38.86), (7.0, 12.0, 35.0)])
@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel])
def test_probability_of_purchase_bg_models_matches_quadrature(history, model):
    fixed = model.from_params(dict(zip(model.param_names, CDNOW_BGNBD, strict=True)))
    x, t_x, T = history
    one = pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [T]})
    ours = fixed.probability_of_purchase(one, 26.0)[0]
    reference = geometric_dropout_reference(
        CDNOW_BGNBD, 26.0, x, t_x, T, modified=model is ModifiedBetaGeoModel
    )
    assert ours == pytest.approx(reference, rel=1e-8)
    assert ours <= fixed.expected_purchases(one, 26.0)[0]  # Markov's inequality


def test_probability_of_purchase_pareto_matches_lifetimes_conditional_pmf(data):
    fixed = ParetoNBDModel.from_params(PARETO_PARAMS)
    sample = data.iloc[:300]
    reference = fixed.fitter_.conditional_probability_of_n_purchases_up_to_time(
        0, 39.0, *columns(sample)
    )
    np.testing.assert_allclose(
        fixed.probability_of_purchase(sample, 39.0), 1 - reference, rtol=1e-10
    )


# ------------------------------------------------------------ alignment and CLV


def test_predictions_follow_the_row_order(data, fitted):
    order = np.random.default_rng(3).permutation(len(data))
    shuffled = data.iloc[order]
    for name in ("bgnbd", "mbgnbd", "pareto"):
        model = fitted[name]
        for predict in (
            model.probability_alive,
            lambda d, m=model: m.expected_purchases(d, 39.0),
            lambda d, m=model: m.probability_of_purchase(d, 39.0),
            lambda d, m=model: customer_lifetime_value(m, d, fitted["gg"]),
        ):
            np.testing.assert_allclose(predict(shuffled), predict(data)[order], rtol=1e-12)
    spend = fitted["gg"].expected_average_spend
    np.testing.assert_allclose(spend(shuffled), spend(data)[order], rtol=1e-12)
    per_row_t = np.linspace(1, 52, len(data))
    np.testing.assert_allclose(
        fitted["pareto"].expected_purchases(shuffled, per_row_t[order]),
        fitted["pareto"].expected_purchases(data, per_row_t)[order],
        rtol=1e-12,
    )


def test_clv_equals_a_hand_computation(fitted):
    model = fitted["bgnbd"]
    customer = pd.DataFrame({"frequency": [3.0], "recency": [20.0], "T": [30.0]})
    r, alpha, a, b = model.params
    x, t_x, T = 3.0, 20.0, 30.0
    weeks_per_month = 365.25 / 12 / 7

    def expected(t: float) -> float:  # Fader, Hardie & Lee (2005) eq. 10, written out
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * tail / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))

    by_hand = sum(
        (expected(m * weeks_per_month) - expected((m - 1) * weeks_per_month)) * 25.0 / 1.01**m
        for m in range(1, 13)
    )
    ours = customer_lifetime_value(model, customer, 25.0, months=12, monthly_discount_rate=0.01)
    assert ours[0] == pytest.approx(by_hand, rel=1e-10)


def test_clv_with_arrays_matches_one_customer_at_a_time(data, fitted):
    model, spend = fitted["pareto"], fitted["gg"]
    together = customer_lifetime_value(model, data.iloc[:50], spend, months=24)
    alone = [customer_lifetime_value(model, data.iloc[[i]], spend, months=24)[0] for i in range(50)]
    assert isinstance(together, np.ndarray) and together.shape == (50,)
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    days = ParetoNBDModel(time_unit="days")
    assert days.periods_per_month == pytest.approx(30.4375)
    assert model.periods_per_month == pytest.approx(30.4375 / 7)


def test_lifetimes_own_clv_breaks_with_arrays(data, fitted):
    """lifetimes issue #423, why customer_lifetime_value is ours."""
    x, t_x, T = columns(data)
    with pytest.raises(AttributeError):
        fitted["gg"].fitter_.customer_lifetime_value(
            fitted["bgnbd"].fitter_, x, t_x, T, data["monetary_value"].to_numpy(), freq="W"
        )


def test_gamma_gamma_uses_repeat_customers_only(data, fitted):
    gg = fitted["gg"]
    assert gg.n_customers_ == int((data["frequency"] > 0).sum())
    newcomer = pd.DataFrame({"frequency": [0.0], "monetary_value": [0.0]})
    p, q, gamma = gg.params
    assert gg.expected_average_spend(newcomer)[0] == pytest.approx(gamma * p / (q - 1))


def test_weighted_gamma_gamma_fit_equals_the_fit_on_repeated_rows(data):
    """The engine hands Gamma-Gamma distinct rows with their counts."""
    rows = data[["frequency", "monetary_value"]].round({"monetary_value": 0})
    distinct = rows.value_counts().rename("weight").reset_index()
    assert len(distinct) < len(rows)
    plain = GammaGammaModel().fit(rows)
    weighted = GammaGammaModel().fit(distinct, sample_weight=distinct["weight"])
    np.testing.assert_allclose(weighted.params, plain.params, rtol=1e-6)
    assert weighted.n_customers_ == plain.n_customers_
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-9)


# ------------------------------------------------------------ CDNOW's published figures


@pytest.mark.parametrize(
    ("name", "published", "log_likelihood"),
    [
        ("BG/NBD", (0.243, 4.414, 0.793, 2.426), -9582.4),
        ("Pareto/NBD", (0.553, 10.578, 0.606, 11.669), -9595.0),
        ("MBG/NBD", (0.525, 6.183, 0.891, 1.614), None),
    ],
)
def test_published_parameters(cdnow_fitted, name, published, log_likelihood):
    model = cdnow_fitted[name]
    assert tuple(np.round(model.params, 3)) == published
    if log_likelihood is not None:
        assert round(model.log_likelihood_, 1) == log_likelihood


def test_gamma_gamma_published_parameters(cdnow_spend):
    """Spend = mean of the repeat purchase days' totals (first day excluded, same-day
    purchases summed): the only definition giving the note's 946 customers and figures;
    fitted on the engine's weighted rows."""
    model = GammaGammaModel().fit(cdnow_spend, sample_weight=cdnow_spend["weight"])
    assert model.n_customers_ == 946
    np.testing.assert_allclose(model.params, [6.25, 3.74, 15.44], atol=0.01)


def test_bgnbd_expectations_from_hardies_workbook(cdnow_fitted):
    model = cdnow_fitted["BG/NBD"]
    assert round(float(model.expected_purchases_new_customer(78.0)), 3) == 1.858
    customer = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    assert round(model.expected_purchases(customer, 39.0)[0], 3) == 1.226


# ------------------------------------------------------------ a planted single-process shop


def test_single_bgnbd_shop_is_recovered_through_the_adapter(tmp_path: Path) -> None:
    """The generator's one-process mode: planted r, alpha, a, b within three standard
    errors, and the adapter's de-duplicated fit equals lifetimes' plain fit."""
    from lifetimes.utils import summary_data_from_transaction_data

    from customer_analytics.synthetic import generate

    planted = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    generate(tmp_path, n_customers=5000, mode="bgnbd", bgnbd_params=planted, events=False, seed=7)
    orders = pd.read_csv(tmp_path / "raw" / "orders.csv", dtype=str)
    orders["ts"] = pd.to_datetime(orders["order_ts"])
    hourly = summary_data_from_transaction_data(
        orders, "customer_id", "ts", observation_period_end="2025-12-31 23:59:59", freq="h"
    )
    # Hours, then weeks: daily periods would merge same-day purchases and bias alpha up.
    weeks = pd.DataFrame(
        {
            "frequency": hourly["frequency"],
            "recency": hourly["recency"] / 168,
            "T": hourly["T"] / 168,
        }
    )
    ours = BetaGeoModel(time_unit="weeks").fit(weeks)
    plain = BetaGeoFitter().fit(weeks["frequency"], weeks["recency"], weeks["T"])
    for name, value in planted.items():
        assert ours.params_[name] == pytest.approx(plain.params_[name], rel=1e-5)
        assert abs(ours.params_[name] - value) < 3 * plain.standard_errors_[name], name
