"""The lifetimes adapter on small data: exact weighted fits, clear errors, stable formulas.

lifetimes is imported here only as the reference the adapter is checked against.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import calibration_and_holdout_data
from scipy import integrate
from scipy.special import hyp2f1

from customer_analytics.clv import (
    BetaGeoModel,
    ClvFitError,
    ClvInputError,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_and_holdout,
    customer_lifetime_value,
    evaluate_holdout,
    pareto,
    repeat_transactions_tracking,
)
from customer_analytics.clv import models as formulas

CDNOW_PARETO = (0.553, 10.578, 0.606, 11.669)
CDNOW_BGNBD = (0.243, 4.414, 0.793, 2.426)
PARETO_PARAMS = dict(zip(ParetoNBDModel.param_names, CDNOW_PARETO, strict=True))


def simulate(n: int, seed: int = 7) -> pd.DataFrame:
    """Pareto/NBD customers with CDNOW's parameters in whole weeks (many share a history)."""
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = CDNOW_PARETO
    T = rng.integers(40, 79, n).astype(float)
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    active = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * active).astype(float)
    last = np.where(x > 0, active * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    spend = np.where(x > 0, rng.gamma(6.0, 5.0, n), 0.0)
    return pd.DataFrame(
        {"frequency": x, "recency": np.floor(last), "T": T, "monetary_value": spend},
        index=[f"c{i}" for i in range(n)],
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate(2000)


@pytest.fixture(scope="module")
def fitted(data) -> dict:
    return {
        "bgnbd": BetaGeoModel().fit(data),
        "mbgnbd": ModifiedBetaGeoModel().fit(data),
        "pareto": ParetoNBDModel().fit(data),
        "gg": GammaGammaModel().fit(data),
    }


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


# ------------------------------------------------------------ Pareto/NBD stability


def reference_log_integral(params, x, t_x, T) -> float:
    """log(s * integral_{t_x}^{T} (alpha+y)^-(r+x) (beta+y)^-(s+1) dy) by adaptive quadrature."""
    r, alpha, s, beta = params
    log_f = lambda y: -(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y)  # noqa: E731
    scale = log_f(t_x)  # factor out the largest value of the decreasing integrand
    value, _ = integrate.quad(lambda y: np.exp(log_f(y) - scale), t_x, T, epsabs=0, epsrel=1e-13)
    return np.log(s) + scale + np.log(value)


@pytest.mark.parametrize("x", [150.0, 300.0, 1000.0])
def test_pareto_high_frequency_at_recency_equal_T_is_finite_and_exact(x):
    r, alpha, s, beta = CDNOW_PARETO
    T, t = 38.86, 39.0
    lifetimes_fitter = ParetoNBDFitter()
    lifetimes_fitter.params_ = pd.Series(CDNOW_PARETO, index=["r", "alpha", "s", "beta"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        broken = lifetimes_fitter.conditional_probability_alive(np.array([x]), np.array([T]), T)
    if x >= 300:
        assert np.isnan(broken).all()  # the lifetimes bug this module works around
    # A purchase at T proves the customer alive at T: P(alive) = 1 and E[Y(t)] is closed form.
    assert pareto.pareto_probability_alive(CDNOW_PARETO, x, T, T) == 1.0
    exact = (
        (r + x)
        * (beta + T)
        / ((alpha + T) * (s - 1))
        * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
    )
    ours = pareto.pareto_conditional_expected(CDNOW_PARETO, t, x, T, T)
    assert ours == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("x", [150.0, 300.0, 1000.0])
@pytest.mark.parametrize("gap", [1e-6, 1e-3, 0.5, 5.0])
def test_pareto_high_frequency_near_T_matches_quadrature(x, gap):
    T = 38.86
    ours = pareto.pareto_log_integral(CDNOW_PARETO, x, T - gap, T)
    assert ours == pytest.approx(reference_log_integral(CDNOW_PARETO, x, T - gap, T), rel=1e-10)
    p_alive = pareto.pareto_probability_alive(CDNOW_PARETO, x, T - gap, T)
    assert np.isfinite(p_alive) and 0 < p_alive <= 1


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


# ------------------------------------------------------------ calibration/holdout and tracking


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 60, n),
            # many same-day purchases on purpose: lifetimes merges them per day
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D"),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )


@pytest.mark.parametrize("time_unit", ["weeks", "days"])
@pytest.mark.parametrize("monetary_col", ["amount", None])
def test_calibration_and_holdout_matches_lifetimes(transactions, time_unit, monetary_col):
    ours = calibration_and_holdout(
        transactions, "2020-04-30", "2020-07-15", monetary_col=monetary_col, time_unit=time_unit
    )
    reference = calibration_and_holdout_data(
        transactions,
        "customer_id",
        "date",
        "2020-04-30",
        "2020-07-15",
        freq="D",
        freq_multiplier=7 if time_unit == "weeks" else 1,
        monetary_value_col=monetary_col,
    ).sort_index()
    reference = reference.drop(columns="monetary_value_holdout", errors="ignore")
    pd.testing.assert_frame_equal(ours, reference, check_exact=True, check_names=False)


def test_calibration_end_day_is_inclusive_at_any_time_of_day():
    """lifetimes compares timestamps with midnight of calibration_end; we compare days."""
    transactions = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "date": pd.to_datetime(["2020-01-01 09:00", "2020-01-31 15:00", "2020-02-10 10:00"]),
        }
    )
    summary = calibration_and_holdout(transactions, "2020-01-31", "2020-02-29", time_unit="days")
    assert summary.loc[1].to_dict() == {
        "frequency_cal": 1.0,
        "recency_cal": 30.0,
        "T_cal": 30.0,
        "frequency_holdout": 1.0,
        "duration_holdout": 29.0,
    }


def test_holdout_evaluation_and_naive_baseline(transactions, fitted):
    summary = calibration_and_holdout(transactions, "2020-04-30", "2020-07-15")
    scores = evaluate_holdout({"BG/NBD": fitted["bgnbd"]}, summary)
    naive = summary["frequency_cal"] / summary["T_cal"] * summary["duration_holdout"]
    assert scores.loc["naive", "predicted"] == pytest.approx(naive.sum())
    assert scores.loc["naive", "mae"] == pytest.approx(
        (naive - summary["frequency_holdout"]).abs().mean()
    )
    assert scores.loc["BG/NBD", "actual"] == summary["frequency_holdout"].sum()


def test_tracking_sums_unconditional_expectations(transactions, fitted):
    model = fitted["pareto"]
    tracking = repeat_transactions_tracking(model, transactions, "2020-01-01", 30)
    daily = transactions.assign(day=transactions["date"].dt.normalize())[["customer_id", "day"]]
    daily = daily.drop_duplicates()
    first = daily.groupby("customer_id")["day"].transform("min")
    end = tracking.loc[30, "period_end"]
    assert (
        tracking.loc[30, "actual_cumulative"]
        == ((daily["day"] > first) & (daily["day"] <= end)).sum()
    )
    ages = (end - daily.groupby("customer_id")["day"].min()).dt.days / 7
    expected = model.expected_purchases_new_customer(ages.to_numpy()).sum()
    assert tracking.loc[30, "expected_cumulative"] == pytest.approx(expected, rel=1e-12)
    assert tracking["expected"].sum() == pytest.approx(expected, rel=1e-12)
