"""The one place that imports lifetimes 0.11.3: checked inputs, fast fits, aligned predictions.

lifetimes is unmaintained and several of its paths are broken, so this module calls only
what works and routes the rest to :mod:`customer_analytics.clv.formulas`:

* inputs are checked here and handed to lifetimes as plain float arrays (it silently
  aligns pandas Series with different indexes and returns the wrong rows);
* fits run on distinct (frequency, recency, T) rows with lifetimes' ``weights``;
* Pareto/NBD keeps lifetimes' fitter but swaps its optimisation step: lifetimes divides
  that objective by the weights' mean (which changes the penalised optimum on
  de-duplicated data), starts from a random point, ignores non-convergence and returns
  NaN for high-frequency customers whose last purchase is at T;
* Pareto/NBD P(alive) and conditional expectation, P(at least one purchase) for every
  model, the papers' log-likelihoods and CLV (lifetimes' breaks on arrays, issue #423)
  are computed by our own formulas.

Every prediction is a numpy array aligned to the rows of the DataFrame passed in.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Self

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError
from scipy.optimize import OptimizeResult, minimize

from customer_analytics.clv import formulas, pareto
from customer_analytics.clv.formulas import (
    ClvFitError,
    ClvInputError,
    check_horizon,
    check_summary,
    deduplicate,
)
from customer_analytics.utils.dates import DAYS_PER_MONTH, DAYS_PER_UNIT

#: A Pareto/NBD parameter beyond this share of the search bound is "at the edge": no estimate.
EDGE = 0.99


def _advice(time_unit: str) -> str:
    other = "weeks" if time_unit == "days" else "days"
    return f"Try a small penalizer (e.g. penalizer=0.001) or measure time in {other}."


class _CountModel:
    """Shared fit and prediction code of the three purchase-count models.

    Parameters
    ----------
    penalizer : float
        lifetimes' L2 penalty on the parameters (in its internal time scale).
    time_unit : {"weeks", "days"}
        Unit of recency and T; used to turn months into periods for CLV.
    tol : float, optional
        Optimizer tolerance (lifetimes' default 1e-7).
    """

    name = ""
    param_names: tuple[str, ...] = ()
    default_tol = 1e-7

    def __init__(self, penalizer: float = 0.0, time_unit: str = "weeks", tol: float | None = None):
        self.penalizer = penalizer
        self.time_unit = time_unit
        self.tol = tol

    def fit(self, data: pd.DataFrame, sample_weight: np.ndarray | None = None) -> Self:
        """Fit on distinct (frequency, recency, T) rows weighted by their counts.

        Parameters
        ----------
        data : DataFrame
            Columns frequency, recency and T, one row per customer, time in ``time_unit``.
        sample_weight : ndarray, optional
            Customers each row stands for (compact rows from the engine); 1 by default.

        Returns
        -------
        self
            With ``params_`` (dict), ``log_likelihood_`` (the paper's total), ``fitter_``
            (the lifetimes fitter), ``n_customers_`` and ``n_patterns_`` (distinct rows).
        """
        if self.time_unit not in DAYS_PER_UNIT:
            raise ClvInputError(f"time_unit must be one of {list(DAYS_PER_UNIT)}")
        cols = check_summary(data)
        if cols["T"].max() == 0:
            raise ClvInputError("T is 0 for every customer: nobody was observed after a purchase")
        (x, t_x, T), _, counts = deduplicate(
            cols["frequency"], cols["recency"], cols["T"], weights=sample_weight
        )
        tol = self.default_tol if self.tol is None else self.tol
        self.fitter_ = self._fit_lifetimes(x, t_x, T, counts, tol)
        params = self.fitter_.params_.to_numpy(dtype=float)
        # A parameter run off to 0 or infinity is a boundary solution, not an estimate.
        if not (np.isfinite(params).all() and (params > 1e-8).all() and (params < 1e8).all()):
            shown = dict(zip(self.param_names, params.round(10).tolist(), strict=True))
            raise ClvFitError(
                f"{self.name} fit gave degenerate parameters {shown}. {_advice(self.time_unit)}"
            )
        self.params_ = dict(zip(self.param_names, params.tolist(), strict=True))
        self.log_likelihood_ = float((counts * self._log_likelihood(params, x, t_x, T)).sum())
        self.n_customers_, self.n_patterns_ = int(counts.sum()), len(x)
        return self

    @classmethod
    def from_params(cls, params: dict[str, float], time_unit: str = "weeks") -> Self:
        """A model with given parameters (published or saved), ready to predict.

        Parameters
        ----------
        params : dict of str to float
            All of ``param_names``, e.g. {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.
        time_unit : {"weeks", "days"}
            The unit the parameters were estimated in.

        Returns
        -------
        model
        """
        model = cls(time_unit=time_unit)
        model.params_ = {k: float(params[k]) for k in cls.param_names}
        model.fitter_ = cls.lifetimes_class()
        model.fitter_.params_ = pd.Series(model.params_)
        return model

    def _fit_lifetimes(self, x, t_x, T, weights, tol):
        fitter = self.lifetimes_class(penalizer_coef=self.penalizer)
        printed = io.StringIO()
        try:
            # lifetimes prints scipy's result when it gives up, and warns while computing
            # standard errors that we do not use (sqrt of a negative variance).
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return fitter.fit(x, t_x, T, weights=weights, tol=tol)
        except ConvergenceError as error:
            lines = printed.getvalue().splitlines()
            detail = next((ln.split(":", 1)[1].strip() for ln in lines if "message" in ln), "")
            reason, cause = f"the optimizer stopped: {detail or 'see lifetimes'}", error
        except np.linalg.LinAlgError as error:
            reason = "the Hessian at the optimum is singular, the parameters are not identified"
            cause = error
        raise ClvFitError(
            f"{self.name} fit did not converge ({reason}). {_advice(self.time_unit)}"
        ) from cause

    @property
    def params(self) -> np.ndarray:
        """The fitted parameters in the papers' order."""
        if not hasattr(self, "params_"):
            raise ClvFitError(f"{self.name} model is not fitted yet: call fit(data) first")
        return np.array([self.params_[k] for k in self.param_names])

    @property
    def periods_per_month(self) -> float:
        """Model time units per month: 30.4375 days or 4.348 weeks (365.25 / 12 days)."""
        return DAYS_PER_MONTH / DAYS_PER_UNIT[self.time_unit]

    def _columns(self, data):
        self.params  # noqa: B018 - raises ClvFitError before any prediction on an unfitted model
        cols = check_summary(data)
        return cols["frequency"], cols["recency"], cols["T"]

    def probability_alive(self, data: pd.DataFrame) -> np.ndarray:
        """P(alive at T | frequency, recency, T) per row of data.

        Parameters
        ----------
        data : DataFrame
            Columns frequency, recency, T.

        Returns
        -------
        ndarray
        """
        return np.asarray(self._p_alive(*self._columns(data)), dtype=float).reshape(-1)

    def expected_purchases(self, data: pd.DataFrame, t) -> np.ndarray:
        """E[purchases in (T, T + t] | frequency, recency, T] per row of data.

        Parameters
        ----------
        data : DataFrame
            Columns frequency, recency, T.
        t : float or array-like
            Forecast length in the model's time unit, one value or one per row.

        Returns
        -------
        ndarray
        """
        x, t_x, T = self._columns(data)
        return np.asarray(self._expected(check_horizon(t, len(x)), x, t_x, T), dtype=float)

    def probability_of_purchase(self, data: pd.DataFrame, t) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | frequency, recency, T) per row of data.

        Parameters
        ----------
        data : DataFrame
            Columns frequency, recency, T.
        t : float or array-like
            Forecast length in the model's time unit, one value or one per row.

        Returns
        -------
        ndarray
        """
        x, t_x, T = self._columns(data)
        return np.asarray(self._p_purchase(check_horizon(t, len(x)), x, t_x, T), dtype=float)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Unconditional E[X(t)]: repeat purchases in the first t units after a first purchase.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        ndarray
        """
        return np.asarray(self._unconditional(np.asarray(t, dtype=float)), dtype=float)


class _GeometricDropout(_CountModel):
    """BG/NBD and MBG/NBD: drop-out right after a purchase, fitted by lifetimes' own BFGS."""

    def _p_alive(self, x, t_x, T):
        return self.fitter_.conditional_probability_alive(x, t_x, T)

    def _expected(self, t, x, t_x, T):
        return self.fitter_.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)

    def _p_purchase(self, t, x, t_x, T):
        return formulas.geometric_probability_purchase(
            self.params, self._p_alive(x, t_x, T), t, x, T
        )

    def _unconditional(self, t):
        return self.fitter_.expected_number_of_purchases_up_to_time(t)


class BetaGeoModel(_GeometricDropout):
    """BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing
    Science 24(2)). De-duplicated fits equal plain ones: lifetimes divides by sum(weights).

    Parameters as for every count model: penalizer, time_unit ("weeks" or "days"), tol.
    """

    name, param_names, lifetimes_class = "BG/NBD", ("r", "alpha", "a", "b"), BetaGeoFitter
    _log_likelihood = staticmethod(formulas.bgnbd_log_likelihood)


class ModifiedBetaGeoModel(_GeometricDropout):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007, IJRM 24(3); Wagner & Hoppe 2008 erratum).

    Parameters as for every count model: penalizer, time_unit ("weeks" or "days"), tol.
    """

    name, param_names = "MBG/NBD", ("r", "alpha", "a", "b")
    lifetimes_class = ModifiedBetaGeoFitter
    _log_likelihood = staticmethod(formulas.mbgnbd_log_likelihood)


class _ParetoNBDFitter(ParetoNBDFitter):
    """lifetimes' Pareto/NBD fitter with our optimisation step (see ParetoNBDModel)."""

    def _fit(
        self,
        args,
        iterative_fitting,
        initial_params,
        params_size,
        disp,
        tol,
        fit_method,
        maxiter,
        **kwargs,
    ):
        self.optimize_result_ = minimize(
            pareto.ParetoNBDObjective(*args),
            x0=initial_params,
            method=fit_method,
            tol=tol,
            callback=_stop_at_the_edge,
            options={"maxiter": maxiter, "disp": disp, **kwargs},
        )
        return self.optimize_result_.x, self.optimize_result_.fun


def _stop_at_the_edge(intermediate_result: OptimizeResult) -> None:
    """Stop the search once its best point reaches the parameter bound.

    Such a fit is refused anyway (no estimate at the edge), and Nelder-Mead crawls along
    the bound long after reaching it: on the default synthetic shop it got there in 300
    of 1,136 evaluations (12 of 45 seconds).
    """
    if np.any(intermediate_result.x > EDGE * pareto.ParetoNBDObjective.max_param):
        raise StopIteration


class ParetoNBDModel(_CountModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader, Hardie & Lee 2005 note
    "A Note on Deriving the Pareto/NBD Model and Related Expressions").

    Fitted through lifetimes' ``ParetoNBDFitter`` (its input checks, time scaling and
    Nelder-Mead) with three changes to the optimisation step:

    * the objective is -sum_k w_k ll_k + penalizer * sum(params^2), i.e. lifetimes'
      objective on the full data. lifetimes divides the weighted sum by mean(weights),
      which on de-duplicated rows scales the likelihood against the penalizer (and
      Nelder-Mead's absolute ``fatol``) by distinct/customers, so a penalised fit
      would differ from the plain one; ours does not, with or without a penalizer;
    * it starts from ``INITIAL_PARAMS``, the centre of lifetimes' random N(1, 0.05) start
      (in lifetimes' scaled units, time / max(T)), so two fits are identical;
    * the likelihood's hypergeometric term is computed in log space (no NaN at
      recency == T, high frequency) and once per distinct (frequency, recency) and
      (frequency, T) pair, and a fit that stops without converging raises ClvFitError.

    Parameters
    ----------
    penalizer : float
        lifetimes' L2 penalty on the parameters (in its internal time scale). As in
        lifetimes it is added to the summed, not the per-customer, negative
        log-likelihood, so a value is n_customers times weaker than for BG/NBD.
    time_unit : {"weeks", "days"}
        Unit of recency and T; used to turn months into periods for CLV.
    tol : float, optional
        Nelder-Mead tolerance, default 1e-8 (lifetimes' 1e-4 leaves beta off by 0.001 on
        CDNOW).
    max_iter : int
        Nelder-Mead iterations before giving up.
    """

    name, param_names = "Pareto/NBD", ("r", "alpha", "s", "beta")
    lifetimes_class = _ParetoNBDFitter
    default_tol = 1e-8
    INITIAL_PARAMS = (1.0, 1.0, 1.0, 1.0)
    _log_likelihood = staticmethod(pareto.pareto_log_likelihood)

    def __init__(
        self,
        penalizer: float = 0.0,
        time_unit: str = "weeks",
        tol: float | None = None,
        max_iter: int = 10_000,
    ):
        super().__init__(penalizer, time_unit, tol)
        self.max_iter = max_iter

    def _fit_lifetimes(self, x, t_x, T, weights, tol):
        fitter = self.lifetimes_class(penalizer_coef=self.penalizer)
        start = np.array(self.INITIAL_PARAMS)
        fitter.fit(x, t_x, T, weights=weights, initial_params=start, tol=tol, maxiter=self.max_iter)
        result = fitter.optimize_result_
        if np.any(result.x > EDGE * pareto.ParetoNBDObjective.max_param):
            raise ClvFitError(
                "Pareto/NBD fit ran to the edge of the parameter space (s and beta growing "
                "without bound: the data show too little dropout, or too little variation "
                "in it, to estimate its distribution), so it gives no estimate; use BG/NBD "
                "or MBG/NBD for this data"
            )
        if not result.success or not np.isfinite(result.fun):
            raise ClvFitError(
                f"Pareto/NBD fit did not converge ({result.message}). {_advice(self.time_unit)}"
            )
        return fitter

    def _p_alive(self, x, t_x, T):
        return pareto.pareto_probability_alive(self.params, x, t_x, T)

    def _expected(self, t, x, t_x, T):
        return pareto.pareto_conditional_expected(self.params, t, x, t_x, T)

    def _p_purchase(self, t, x, t_x, T):
        return pareto.pareto_probability_purchase(self.params, t, x, t_x, T)

    def _unconditional(self, t):
        return pareto.pareto_expected(self.params, t)


class GammaGammaModel:
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value
    Curves for Customer Base Analysis", JMR 42; Fader & Hardie 2013 note "The Gamma-Gamma
    Model of Monetary Value"), fitted by lifetimes.

    Fitted on the customers with frequency > 0 and monetary_value > 0, where
    monetary_value is the mean spend of their repeat purchases (first purchase excluded).
    lifetimes calls gamma ``v``.

    Parameters
    ----------
    penalizer : float
        lifetimes' L2 penalty on the parameters.
    """

    param_names = ("p", "q", "gamma")

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = penalizer

    def fit(self, data: pd.DataFrame, sample_weight: np.ndarray | None = None) -> Self:
        """Fit on the rows with repeat purchases and positive mean repeat spend.

        Parameters
        ----------
        data : DataFrame
            Columns frequency and monetary_value.
        sample_weight : ndarray, optional
            Customers each row stands for; 1 by default. lifetimes divides the weighted
            log-likelihood by the weights' sum, so weighted rows fit as repeated ones.

        Returns
        -------
        self
            With ``params_``, ``log_likelihood_``, ``fitter_`` and ``n_customers_``.
        """
        cols = check_summary(data, ("frequency", "monetary_value"))
        used = (cols["frequency"] > 0) & (cols["monetary_value"] > 0)
        if not used.any():
            raise ClvInputError("no customer has frequency > 0 and monetary_value > 0")
        x, m = cols["frequency"][used], cols["monetary_value"][used]
        w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight)[used]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.fitter_ = GammaGammaFitter(penalizer_coef=self.penalizer).fit(x, m, w)
        except (ConvergenceError, np.linalg.LinAlgError) as error:
            raise ClvFitError(
                "Gamma-Gamma fit did not converge; try a small penalizer (e.g. penalizer=0.001) "
                "or spend in larger units"
            ) from error
        params = self.fitter_.params_.to_numpy(dtype=float)
        if not np.isfinite(params).all():
            raise ClvFitError(f"Gamma-Gamma fit gave unusable parameters {params}")
        self.params_ = dict(zip(self.param_names, params.tolist(), strict=True))
        self.log_likelihood_ = float((w * formulas.gamma_gamma_log_likelihood(params, x, m)).sum())
        self.n_customers_ = int(w.sum())
        return self

    @property
    def params(self) -> np.ndarray:
        """The fitted (p, q, gamma)."""
        if not hasattr(self, "params_"):
            raise ClvFitError("Gamma-Gamma model is not fitted yet: call fit(data) first")
        return np.array([self.params_[k] for k in self.param_names])

    def expected_average_spend(self, data: pd.DataFrame) -> np.ndarray:
        """E[mean spend per purchase | frequency, monetary_value] per row (note 025, eq. 5).

        A weighted average of the customer's own mean and the population mean
        gamma * p / (q - 1); customers without repeat purchases get the population mean.

        Parameters
        ----------
        data : DataFrame
            Columns frequency and monetary_value.

        Returns
        -------
        ndarray
        """
        if self.params[1] <= 1:
            raise ClvFitError(
                f"Gamma-Gamma q = {self.params[1]:.3g} <= 1: the population mean spend is "
                "infinite; fit with a penalizer or check monetary_value for outliers"
            )
        cols = check_summary(data, ("frequency", "monetary_value"))
        profit = self.fitter_.conditional_expected_average_profit(
            cols["frequency"], cols["monetary_value"]
        )
        return np.asarray(profit, dtype=float)


def customer_lifetime_value(
    model: _CountModel,
    data: pd.DataFrame,
    spend: GammaGammaModel | float | np.ndarray,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over the next ``months``.

    sum over m = 1..months of (E[Y(m P)] - E[Y((m - 1) P)]) * spend / (1 + d)^m, with
    E[Y(t)] the model's conditional expectation and P the model time units per month
    (365.25 / 12 days: 30.4375 days or 4.348 weeks); Fader, Hardie & Lee (2005, JMR)
    discount continuously, this is the monthly discrete version lifetimes uses.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted count model; its ``time_unit`` must be that of recency and T.
    data : DataFrame
        Columns frequency, recency, T (and monetary_value when spend is a model).
    spend : GammaGammaModel, float or array-like
        Fitted Gamma-Gamma model, or expected spend per purchase (one value or one per row).
    months : int
        Horizon in months.
    monthly_discount_rate : float
        Discount rate per month.

    Returns
    -------
    ndarray
        CLV per row of data.
    """
    x, t_x, T = model._columns(data)
    if isinstance(spend, GammaGammaModel):
        spend = spend.expected_average_spend(data)
    spend = np.asarray(spend, dtype=float)
    if spend.ndim > 1 or (spend.ndim == 1 and spend.shape[0] != len(x)):
        raise ClvInputError(
            f"spend must be one number or one per row ({len(x)}), got {spend.shape}"
        )
    if months < 1 or monthly_discount_rate <= -1:
        raise ClvInputError("months must be at least 1 and monthly_discount_rate above -1")
    ends = np.arange(1, months + 1) * model.periods_per_month
    cumulative = [np.zeros(len(x))] + [model._expected(t, x, t_x, T) for t in ends]
    return formulas.discounted_value(np.vstack(cumulative), spend, monthly_discount_rate)
