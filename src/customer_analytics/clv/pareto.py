"""Pareto/NBD in log space (numpy/scipy only): likelihood, P(alive), expectations, objective.

lifetimes 0.11.3's versions return NaN for high-frequency customers whose last purchase
is at the end of the calibration period (scipy's ``logsumexp`` of its hypergeometric
terms); these keep every term in logs. Parameters ``(r, alpha, s, beta)``; ``x`` repeat
purchases, ``t_x`` the time of the last one, ``T`` the time since the first purchase.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import integrate
from scipy.special import gammaln, hyp2f1

from customer_analytics.clv.formulas import ArrayLike, deduplicate


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

    #: Largest parameter searched (in lifetimes' scaled units). Where the data show
    #: little dropout or little variation in it, s and beta run off to infinity together
    #: (the likelihood's maximum is on the boundary); past this bound the hypergeometric
    #: terms need quadrature per row and the search would crawl for hours towards no
    #: estimate. Measured: the synthetic shops and Online Retail reach it, CDNOW does not.
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
