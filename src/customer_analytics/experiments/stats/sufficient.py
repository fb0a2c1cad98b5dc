"""Sufficient statistics of one arm (or one arm in one stratum) of an experiment.

An A/B analysis never needs the unit-level rows: counts, sums, sums of squares and
cross-products are enough for means, variances and covariances, and the database
computes them in one pass. Each class here is a small frozen dataclass that adds up over
strata (``a + b`` is the statistic of the union of the two disjoint sets of units), so a
table of statistics per arm and segment collapses to per-arm statistics by summing.

The fields may be numpy arrays of one shape instead of numbers; every property (and every
test in :mod:`customer_analytics.experiments.stats.compare`) then works elementwise, which is
how the calibration simulations run thousands of experiments in one call.

The design (statistics reduced in SQL, tests that take only statistics) follows
GrowthBook's stats engine, ``gbstats`` (https://docs.growthbook.io/statistics/overview).

References
----------
Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric analytics: a
practical guide with novel ideas. KDD '18, 233-242.
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data (CUPED). WSDM '13, 123-132.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike

FloatLike: TypeAlias = float | np.ndarray


def _centred(n: FloatLike, sum_a: FloatLike, sum_b: FloatLike, cross: FloatLike) -> FloatLike:
    """Sample covariance (ddof=1) from n, two sums and the sum of their products."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (cross - sum_a * sum_b / n) / (n - 1)


def _variance(n: FloatLike, total: FloatLike, total_sq: FloatLike) -> FloatLike:
    # Cancellation can leave the variance of (near) constant data a hair below zero.
    return np.maximum(_centred(n, total, total, total_sq), 0.0)


def _sums(values: ArrayLike, axis: int) -> tuple[FloatLike, FloatLike, FloatLike]:
    v = np.asarray(values, dtype=float)
    return v.shape[axis], v.sum(axis=axis), np.square(v).sum(axis=axis)


@dataclass(frozen=True)
class SampleStats:
    """Count, sum and sum of squares of a metric over the units of one arm.

    A proportion metric (0/1 per unit, e.g. conversion) is the special case
    ``sum_sq == sum``.

    Parameters
    ----------
    n : int
        Number of units (customers).
    sum : float
        Sum of the metric over the units.
    sum_sq : float
        Sum of the squared metric.
    """

    n: FloatLike
    sum: FloatLike
    sum_sq: FloatLike

    def __add__(self, other: SampleStats) -> SampleStats:
        return SampleStats(self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq)

    @property
    def mean(self) -> FloatLike:
        """Sample mean."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sum / self.n

    @property
    def variance(self) -> FloatLike:
        """Unit-level sample variance (ddof=1); the variance of the mean is this over ``n``."""
        return _variance(self.n, self.sum, self.sum_sq)

    @property
    def mean_variance(self) -> FloatLike:
        """Variance of the sample mean, ``variance / n``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.variance / self.n

    @classmethod
    def from_values(cls, values: ArrayLike, axis: int = -1) -> SampleStats:
        """Statistics of raw values (tests and simulations; production data is reduced in SQL).

        Parameters
        ----------
        values : array_like
            Metric values, one per unit along ``axis``.
        axis : int, default -1
            Axis of the units; the other axes index independent samples.
        """
        return cls(*_sums(values, axis))


@dataclass(frozen=True)
class RatioStats:
    """Sufficient statistics of a ratio metric such as revenue per order.

    Each unit has a numerator and a denominator value; the metric of an arm is the ratio
    of means ``mean(num) / mean(den)`` (not the mean of per-unit ratios). Its variance is
    the delta-method variance of Deng, Knoblich & Lu (2018), section 3, which needs the
    covariance of numerator and denominator, hence ``cross_sum``.

    Parameters
    ----------
    n : int
        Number of units (the randomisation unit, e.g. customers, not orders).
    num_sum, num_sum_sq : float
        Sum and sum of squares of the numerator.
    den_sum, den_sum_sq : float
        Sum and sum of squares of the denominator.
    cross_sum : float
        Sum of numerator times denominator.
    """

    n: FloatLike
    num_sum: FloatLike
    num_sum_sq: FloatLike
    den_sum: FloatLike
    den_sum_sq: FloatLike
    cross_sum: FloatLike

    def __add__(self, other: RatioStats) -> RatioStats:
        return RatioStats(
            self.n + other.n,
            self.num_sum + other.num_sum,
            self.num_sum_sq + other.num_sum_sq,
            self.den_sum + other.den_sum,
            self.den_sum_sq + other.den_sum_sq,
            self.cross_sum + other.cross_sum,
        )

    @property
    def numerator(self) -> SampleStats:
        return SampleStats(self.n, self.num_sum, self.num_sum_sq)

    @property
    def denominator(self) -> SampleStats:
        return SampleStats(self.n, self.den_sum, self.den_sum_sq)

    @property
    def covariance(self) -> FloatLike:
        """Unit-level sample covariance of numerator and denominator (ddof=1)."""
        return _centred(self.n, self.num_sum, self.den_sum, self.cross_sum)

    @property
    def mean(self) -> FloatLike:
        """The ratio of means, ``num_sum / den_sum``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.num_sum / self.den_sum

    @property
    def variance(self) -> FloatLike:
        """Delta-method variance on the unit scale: ``n`` times the variance of :attr:`mean`.

        With numerator mean ``a``, denominator mean ``b`` and unit-level variances and
        covariance ``s_aa, s_bb, s_ab``: ``s_aa/b**2 - 2*a*s_ab/b**3 + a**2*s_bb/b**4``
        (Deng, Knoblich & Lu 2018, eq. 3). Kept on the unit scale so that it combines with
        ``n`` exactly as :attr:`SampleStats.variance` does.
        """
        a, b = self.numerator.mean, self.denominator.mean
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (
                self.numerator.variance / b**2
                - 2 * a * self.covariance / b**3
                + a**2 * self.denominator.variance / b**4
            )
        return np.maximum(v, 0.0)

    @property
    def mean_variance(self) -> FloatLike:
        """Delta-method variance of the ratio of means, ``variance / n``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.variance / self.n

    @classmethod
    def from_values(
        cls, numerator: ArrayLike, denominator: ArrayLike, axis: int = -1
    ) -> RatioStats:
        """Statistics of raw per-unit numerators and denominators (tests and simulations)."""
        num = np.asarray(numerator, dtype=float)
        den = np.asarray(denominator, dtype=float)
        n, s_num, q_num = _sums(num, axis)
        _, s_den, q_den = _sums(den, axis)
        return cls(n, s_num, q_num, s_den, q_den, (num * den).sum(axis=axis))


@dataclass(frozen=True)
class CovariateStats:
    """Sufficient statistics of a metric ``y`` and its pre-period covariate ``x`` (CUPED).

    Parameters
    ----------
    n : int
        Number of units.
    y_sum, y_sum_sq : float
        Sum and sum of squares of the metric during the experiment.
    x_sum, x_sum_sq : float
        Sum and sum of squares of the covariate (the same metric before assignment, which
        the treatment cannot have affected).
    xy_sum : float
        Sum of ``x * y``.

    Notes
    -----
    Deng, Xu, Kohavi & Walker (2013): the adjusted metric ``y - theta * (x - mean(x))``
    has variance ``var(y) * (1 - corr(x, y)**2)`` at the optimal ``theta``.
    """

    n: FloatLike
    y_sum: FloatLike
    y_sum_sq: FloatLike
    x_sum: FloatLike
    x_sum_sq: FloatLike
    xy_sum: FloatLike

    def __add__(self, other: CovariateStats) -> CovariateStats:
        return CovariateStats(
            self.n + other.n,
            self.y_sum + other.y_sum,
            self.y_sum_sq + other.y_sum_sq,
            self.x_sum + other.x_sum,
            self.x_sum_sq + other.x_sum_sq,
            self.xy_sum + other.xy_sum,
        )

    @property
    def y(self) -> SampleStats:
        """The metric alone."""
        return SampleStats(self.n, self.y_sum, self.y_sum_sq)

    @property
    def x(self) -> SampleStats:
        """The covariate alone."""
        return SampleStats(self.n, self.x_sum, self.x_sum_sq)

    @property
    def covariance(self) -> FloatLike:
        """Unit-level sample covariance of ``x`` and ``y`` (ddof=1)."""
        return _centred(self.n, self.x_sum, self.y_sum, self.xy_sum)

    @property
    def correlation(self) -> FloatLike:
        """Pearson correlation of ``x`` and ``y``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.covariance / np.sqrt(self.x.variance * self.y.variance)

    @classmethod
    def from_values(cls, y: ArrayLike, x: ArrayLike, axis: int = -1) -> CovariateStats:
        """Statistics of raw per-unit metric and covariate values (tests and simulations)."""
        yv = np.asarray(y, dtype=float)
        xv = np.asarray(x, dtype=float)
        n, s_y, q_y = _sums(yv, axis)
        _, s_x, q_x = _sums(xv, axis)
        return cls(n, s_y, q_y, s_x, q_x, (xv * yv).sum(axis=axis))
