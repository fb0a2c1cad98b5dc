"""The models' input contract and closed-form expressions, in numpy/scipy only (no lifetimes).

Input checks (``check_summary``, ``check_horizon``) and de-duplication come first. The
lifetimes adapter calls the formulas where lifetimes is missing a formula (the paper's total
log-likelihood, P(at least one purchase)) or where its own version is numerically broken
(Pareto/NBD P(alive) and conditional expectation, NaN for high-frequency customers whose
last purchase is at the end of the calibration period).

Parameters follow the papers: BG/NBD and MBG/NBD ``(r, alpha, a, b)``, Pareto/NBD
``(r, alpha, s, beta)``, Gamma-Gamma ``(p, q, gamma)``; ``x`` is the number of repeat
purchases, ``t_x`` the time of the last one and ``T`` the time since the first purchase,
all measured from the customer's first purchase in one time unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import integrate
from scipy.special import betaln, gammaln, hyp2f1

ArrayLike = float | np.ndarray

DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}
#: Average Gregorian month: 30.4375 days, 4.348 weeks (lifetimes uses 30 and 4.345).
DAYS_PER_MONTH = 365.25 / 12
COUNT_COLUMNS = ("frequency", "recency", "T")


class ClvInputError(ValueError):
    """A customer summary that the models cannot use; the message names column and rule."""


class ClvFitError(RuntimeError):
    """A fit that did not converge or gave unusable parameters; the message says what to try."""


def _where(index: pd.Index, bad: np.ndarray, values: dict[str, np.ndarray]) -> str:
    first = int(np.flatnonzero(bad)[0])
    shown = ", ".join(f"{name}={v[first]:g}" for name, v in values.items())
    return f"{int(bad.sum())} rows, first at index {index[first]!r}: {shown}"


def check_summary(data: pd.DataFrame, columns: tuple[str, ...] = COUNT_COLUMNS) -> dict:
    """Check a customer summary and return its columns as float arrays.

    Parameters
    ----------
    data : DataFrame
        One row per customer with the given columns.
    columns : tuple of str
        Any of frequency (repeat purchases), recency (time of the last purchase after the
        first), T (time from the first purchase to the end of the period), monetary_value.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ClvInputError
        Naming the column and the rule broken: missing column, not numeric, NaN or
        infinite, negative, frequency not whole, recency > T, recency != 0 at frequency 0.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame with columns {columns}, got {type(data)}")
    if len(data) == 0:
        raise ClvInputError("data has no rows")
    out = {}
    for name in columns:
        if name not in data.columns:
            raise ClvInputError(
                f"{name} column is missing from data (columns: {list(data.columns)})"
            )
        column = data[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise ClvInputError(f"{name} column must be numeric, got dtype {column.dtype}")
        values = column.to_numpy(dtype=float, na_value=np.nan)
        if not np.isfinite(values).all():
            raise ClvInputError(
                f"{name} column has missing (NaN) or infinite values "
                f"({_where(data.index, ~np.isfinite(values), {name: values})}); a frame built "
                "from Series with different indexes gets NaN where the indexes do not match"
            )
        if (values < 0).any():
            where = _where(data.index, values < 0, {name: values})
            raise ClvInputError(f"{name} column must not be negative ({where})")
        out[name] = values
    if "frequency" in out and (out["frequency"] != np.round(out["frequency"])).any():
        bad = out["frequency"] != np.round(out["frequency"])
        where = _where(data.index, bad, {"frequency": out["frequency"]})
        raise ClvInputError(
            f"frequency column must hold whole numbers of repeat purchases ({where})"
        )
    if "recency" in out and "T" in out:
        shown = {k: out[k] for k in COUNT_COLUMNS}
        if (out["recency"] > out["T"]).any():
            raise ClvInputError(
                "recency must not exceed T: the last purchase cannot come after the end of the "
                f"period ({_where(data.index, out['recency'] > out['T'], shown)})"
            )
        bad = (out["frequency"] == 0) & (out["recency"] != 0)
        if bad.any():
            raise ClvInputError(
                "recency must be 0 where frequency is 0: without a repeat purchase the last "
                f"purchase is the first ({_where(data.index, bad, shown)})"
            )
    return out


def check_horizon(t, n_rows: int) -> np.ndarray:
    """A forecast length: one number, or one per row; finite and not negative.

    Parameters
    ----------
    t : float or array-like
        Periods ahead, in the model's time unit.
    n_rows : int
        Rows of the data it goes with.

    Returns
    -------
    ndarray
        0-d or shape (n_rows,).
    """
    t = np.asarray(t, dtype=float)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n_rows):
        raise ClvInputError(f"t must be one number or one per row ({n_rows}), got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ClvInputError("t must be finite and not negative")
    return t


def deduplicate(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, the row each input maps to, and their counts.

    Parameters
    ----------
    *columns : ndarray
        Equal-length float arrays.

    Returns
    -------
    unique : list of ndarray
        One array per column, the distinct rows.
    inverse : ndarray
        unique[j][inverse] == columns[j].
    counts : ndarray
        Number of input rows per distinct row (lifetimes' ``weights``).
    """
    # pandas hashes the rows; np.unique(axis=0) sorts them and is 30x slower at 1M rows.
    grouped = pd.DataFrame(dict(enumerate(columns))).groupby(list(range(len(columns))))
    sizes = grouped.size()
    unique = [sizes.index.get_level_values(j).to_numpy(dtype=float) for j in range(len(columns))]
    return unique, grouped.ngroup().to_numpy(), sizes.to_numpy()


def log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0 without cancellation (Maechler 2012); -inf at d = 0.

    Parameters
    ----------
    d : ndarray
        Values at most 0 (rounding above 0 is clipped to 0).

    Returns
    -------
    ndarray
    """
    d = np.minimum(np.asarray(d, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def log_tail_integral(m: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, y: ArrayLike):
    """log of the integral from y to infinity of (a + u)^-m (b + u)^-n du, in log space.

    With c = m + n - 1, h = max(a, b), l = min(a, b) and e the exponent of the factor with
    the smaller constant, the integral is (h + y)^-c / c * 2F1(e, c; c + 1; (h - l)/(h + y))
    (substitute w = 1/(h + u); this is how Fader, Hardie & Lee's 2005 note "A Note on
    Deriving the Pareto/NBD Model and Related Expressions", eqs. 19-20, write A_0). The
    hypergeometric term overflows for large e; Pfaff's transformation turns it into
    (1 - z)^(1 - e) 2F1(1, c + 1 - e; c + 1; z), a series of positive terms that we keep
    in logs. Where scipy's hyp2f1 still fails (c in the hundreds with z close to 1, met by
    Nelder-Mead on nearly degenerate data) the integral is evaluated by adaptive quadrature.

    Parameters
    ----------
    m, n : float or ndarray
        Exponents, m + n > 1.
    a, b : float or ndarray
        Positive constants.
    y : float or ndarray
        Lower limit, y >= 0.

    Returns
    -------
    ndarray
    """
    m, n, a, b, y = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (m, n, a, b, y)))
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    e = np.where(a >= b, n, m)
    c = m + n - 1.0
    log_one_minus_z = np.log(lo + y) - np.log(hi + y)
    z = (hi - lo) / (hi + y)
    with np.errstate(invalid="ignore", divide="ignore"):
        hyp = hyp2f1(1.0, c + 1.0 - e, c + 1.0, z)
        log_hyp = (1.0 - e) * log_one_minus_z + np.log(hyp) - np.log(c)
    failed = ~np.isfinite(log_hyp)
    if failed.any():
        log_hyp = np.array(log_hyp)
        failures = zip(c[failed], e[failed], z[failed], strict=True)
        log_hyp[failed] = [_log_unit_integral(*v) for v in failures]
    return -c * np.log(hi + y) + log_hyp


def _log_unit_integral(c: float, e: float, z: float) -> float:
    """log of the integral over (0, 1) of w^(c-1) (1 - z w)^-e dw, scaled at its peak w = 1."""
    peak = -e * np.log1p(-z)
    value, _ = integrate.quad(
        lambda w: np.exp((c - 1.0) * np.log(w) - e * np.log1p(-z * w) - peak),
        0.0,
        1.0,
        epsabs=0.0,
        epsrel=1e-12,
        limit=200,
    )
    return peak + np.log(value)


# ---------------------------------------------------------------- Pareto/NBD


def pareto_log_integral(params: Sequence[float], x, t_x, T) -> np.ndarray:
    """log of s * integral from t_x to T of (alpha + y)^-(r + x) (beta + y)^-(s + 1) dy.

    This is the "died between t_x and T" part of the Pareto/NBD likelihood
    (Fader, Hardie & Lee 2005 note, eq. 18: s/(r + s + x) * A_0); -inf when t_x == T.

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    upper = log_tail_integral(r + x, s + 1.0, alpha, beta, t_x)
    lower = log_tail_integral(r + x, s + 1.0, alpha, beta, T)
    return np.log(s) + upper + log1mexp(lower - upper)


def _pareto_alive_terms(params, x, T, log_died):
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return log_alive, np.logaddexp(log_alive, log_died)


def pareto_log_likelihood(params: Sequence[float], x, t_x, T) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Fader, Hardie & Lee 2005 note, eq. 18).

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    log_died = pareto_log_integral(params, x, t_x, T)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + _pareto_alive_terms(params, x, T, log_died)[1]


def pareto_probability_alive(params: Sequence[float], x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) for Pareto/NBD (Fader, Hardie & Lee 2005 note, eq. 37).

    Exactly 1 when t_x == T, where lifetimes 0.11.3 returns NaN for large x.

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    log_alive, log_total = _pareto_alive_terms(params, x, T, pareto_log_integral(params, x, t_x, T))
    return np.exp(log_alive - log_total)


def _one_minus_power_over(k: float, log_ratio):
    """(1 - exp(-k * L)) / k, with its limit L at k = 0 (for Pareto/NBD's s close to 1)."""
    log_ratio = np.asarray(log_ratio, dtype=float)
    if k == 0:
        return log_ratio
    return -np.expm1(-k * log_ratio) / k


def pareto_conditional_expected(params: Sequence[float], t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] for Pareto/NBD (Fader, Hardie & Lee 2005 note, eq. 41).

    P(alive) * (r + x)(beta + T) / ((alpha + T)(s - 1)) * [1 - ((beta + T)/(beta + T + t))^(s - 1)].

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    t : float or ndarray
        Length of the forecast period.
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    rate = (r + x) * (beta + T) / (alpha + T)
    horizon = _one_minus_power_over(s - 1.0, np.log1p(t / (beta + T)))
    return pareto_probability_alive(params, x, t_x, T) * rate * horizon


def pareto_expected(params: Sequence[float], t) -> np.ndarray:
    """Unconditional E[X(t)] for Pareto/NBD (Fader, Hardie & Lee 2005 note, eq. 27).

    r beta / (alpha (s - 1)) * [1 - (beta / (beta + t))^(s - 1)].

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    t : float or ndarray
        Time since the first purchase.

    Returns
    -------
    ndarray
    """
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r * beta / alpha * _one_minus_power_over(s - 1.0, np.log1p(t / beta))


def pareto_probability_purchase(params: Sequence[float], t, x, t_x, T) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | x, t_x, T) for Pareto/NBD.

    An alive customer has posterior lambda ~ Gamma(r + x, alpha + T) and
    mu ~ Gamma(s, beta + T) (Schmittlein, Morrison & Colombo 1987, section 3). Their first
    purchase beats death and falls before t with probability
    lambda/(lambda + mu) (1 - exp(-(lambda + mu) t)) = int_0^t lambda e^-(lambda + mu) u du,
    whose expectation is (r+x)(alpha+T)^(r+x)(beta+T)^s int_0^t (alpha+T+u)^-(r+x+1)
    (beta+T+u)^-s du, a difference of two ``log_tail_integral``. Multiplied by P(alive).
    It equals 1 - P(Y(t) = 0 | ...) of Fader & Hardie's note "Deriving the Conditional PMF
    of the Pareto/NBD Model" (brucehardie.com/notes/028, eq. 16; lifetimes'
    ``conditional_probability_of_n_purchases_up_to_time`` with n = 0, which takes only a
    scalar t).

    Parameters
    ----------
    params : sequence of float
        (r, alpha, s, beta).
    t : float or ndarray
        Length of the forecast period.
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    k, A, B = r + x, alpha + np.asarray(T, dtype=float), beta + np.asarray(T, dtype=float)
    start = log_tail_integral(k + 1.0, s, A, B, 0.0)
    end = log_tail_integral(k + 1.0, s, A, B, t)
    log_given_alive = np.log(k) + k * np.log(A) + s * np.log(B) + start + log1mexp(end - start)
    with np.errstate(divide="ignore"):
        given_alive = np.where(np.asarray(t) > 0, np.exp(log_given_alive), 0.0)
    return pareto_probability_alive(params, x, t_x, T) * given_alive


class ParetoNBDObjective:
    """lifetimes' Pareto/NBD objective on de-duplicated rows, without dividing by mean weight.

    The value is -sum_k w_k ll_k + penalizer * sum(params^2), which is exactly what lifetimes
    minimises on the full, non-deduplicated data (its weights are then all 1, their mean 1).
    Terms that depend on x, (x, t_x) or (x, T) only are computed once per distinct value or
    pair rather than per row: far fewer calls of scipy's hyp2f1, the costly part.

    Parameters
    ----------
    x, t_x, T, weights : ndarray
        Distinct customer histories and how many customers share each.
    penalizer : float
        L2 penalty on the parameters, as in lifetimes.
    """

    def __init__(self, x, t_x, T, weights, penalizer: float = 0.0):
        self.weights = np.asarray(weights, dtype=float)
        self.penalizer = penalizer
        x = np.asarray(x, dtype=float)
        (self._x, self._t_x), self._by_t_x, _ = deduplicate(x, np.asarray(t_x, dtype=float))
        (self._xT, self._T), self._by_T, _ = deduplicate(x, np.asarray(T, dtype=float))
        (self._x_only,), by_x, _ = deduplicate(x)
        self._x_weights = np.bincount(by_x, weights=self.weights)

    #: Largest parameter searched (in lifetimes' scaled units). Where the data have no
    #: heterogeneity in dropout, s and beta run off to infinity together (their ratio,
    #: the dropout rate, stays put); past this bound the hypergeometric terms need
    #: quadrature per row and the search would crawl for hours towards no estimate.
    max_param = 1e2

    def __call__(self, params: np.ndarray) -> float:
        if np.any(np.asarray(params) <= 0.0) or np.any(np.asarray(params) > self.max_param):
            return np.inf
        r, alpha, s, beta = params
        upper = log_tail_integral(r + self._x, s + 1.0, alpha, beta, self._t_x)[self._by_t_x]
        lower = log_tail_integral(r + self._xT, s + 1.0, alpha, beta, self._T)[self._by_T]
        alive = (-(r + self._xT) * np.log(alpha + self._T) - s * np.log(beta + self._T))[self._by_T]
        log_died = np.log(s) + upper + log1mexp(lower - upper)
        x = self._x_only
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        # Multiply-and-sum, not ``@``: OpenBLAS's threaded dot costs ms on 2 cores.
        ll = (self._x_weights * head).sum() + (self.weights * np.logaddexp(alive, log_died)).sum()
        value = -ll + self.penalizer * np.sum(np.asarray(params) ** 2)
        return value if np.isfinite(value) else np.inf


# ---------------------------------------------------------------- BG/NBD and MBG/NBD


def bgnbd_log_likelihood(params: Sequence[float], x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, Marketing Science, eq. 6).

    L = B(a, b + x)/B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
        + [x > 0] B(a + 1, b + x - 1)/B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x))

    Parameters
    ----------
    params : sequence of float
        (r, alpha, a, b).
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        died = betaln(a + 1.0, b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x)
    return head + np.logaddexp(alive, np.where(x > 0, died, -np.inf))


def mbgnbd_log_likelihood(params: Sequence[float], x, t_x, T) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood (Batislam, Denizel & Filiztekin 2007, IJRM 24(3)).

    As BG/NBD, but a customer may also drop out right after the first purchase, so the
    second term has no x > 0 restriction: B(a, b + x + 1) for the alive and B(a + 1, b + x)
    for the dropped-out branch.

    Parameters
    ----------
    params : sequence of float
        (r, alpha, a, b).
    x, t_x, T : ndarray
        Repeat purchases, time of the last one, age.

    Returns
    -------
    ndarray
    """
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x + 1.0) - (r + x) * np.log(alpha + T)
    died = betaln(a + 1.0, b + x) - (r + x) * np.log(alpha + t_x)
    return head + np.logaddexp(alive, died)


def geometric_probability_purchase(params: Sequence[float], p_alive, t, x, T) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | history) for BG/NBD and MBG/NBD.

    In both models a customer drops out only right after a purchase, so an alive customer
    makes at least one more purchase in t exactly when their next Poisson arrival comes
    within t; given alive, lambda ~ Gamma(r + x, alpha + T) (Fader, Hardie & Lee 2005,
    Marketing Science, section 5). Hence P = P(alive) * (1 - ((alpha + T)/(alpha + T + t))^(r + x)),
    the complement of P(Y(t) = 0 | ...) by the argument behind their eq. (10).

    Parameters
    ----------
    params : sequence of float
        (r, alpha, a, b).
    p_alive : ndarray
        P(alive at T | history) from the model.
    t : float or ndarray
        Length of the forecast period.
    x, T : ndarray
        Repeat purchases and age.

    Returns
    -------
    ndarray
    """
    r, alpha, _, _ = params
    x = np.asarray(x, dtype=float)
    return p_alive * -np.expm1(-(r + x) * np.log1p(t / (alpha + np.asarray(T, dtype=float))))


# ---------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params: Sequence[float], x, m) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of mean spend m over x transactions.

    Fader, Hardie & Lee (2005), Journal of Marketing Research 42; Fader & Hardie (2013)
    note "The Gamma-Gamma Model of Monetary Value" (brucehardie.com/notes/025), eq. 1a.

    Parameters
    ----------
    params : sequence of float
        (p, q, gamma).
    x : ndarray
        Number of repeat transactions (> 0).
    m : ndarray
        Their mean spend (> 0).

    Returns
    -------
    ndarray
    """
    p, q, g = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1.0) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + g)
    )


def discounted_value(
    cumulative: np.ndarray, spend: np.ndarray, monthly_discount_rate: float
) -> np.ndarray:
    """Sum over months m of (E[X(m)] - E[X(m - 1)]) * spend / (1 + d)^m.

    Parameters
    ----------
    cumulative : ndarray, shape (months + 1, customers)
        Expected purchases from now to the end of each month; row 0 is month 0 (zero).
    spend : ndarray
        Expected spend per purchase, per customer.
    monthly_discount_rate : float
        d, the discount rate per month.

    Returns
    -------
    ndarray
        Discounted value per customer.
    """
    per_month = np.diff(cumulative, axis=0)
    months = np.arange(1, per_month.shape[0] + 1, dtype=float)
    discount = (1.0 + monthly_discount_rate) ** -months
    return spend * (discount[:, None] * per_month).sum(axis=0)
