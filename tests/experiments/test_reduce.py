"""The database's reduction of unit rows to sufficient statistics per arm and segment,
against pandas on the same rows."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from customer_analytics.experiments.reduce import collapse, per_arm, sufficient_stats
from customer_analytics.experiments.stats import CovariateStats, SampleStats


@pytest.fixture
def units() -> pd.DataFrame:
    g = np.random.default_rng(10)
    n = 600
    frame = pd.DataFrame(
        {
            "arm": g.choice(["control", "treatment"], n),
            "segment": g.choice(["new", "returning", "vip"], n),
            "converted": g.integers(0, 2, n).astype("int8"),
            "revenue": np.round(g.gamma(2, 30, n), 2),
            "orders": g.poisson(1.5, n),
            "pre_revenue": np.round(g.gamma(2, 25, n), 2),
        }
    )
    frame.loc[frame.index[::17], "revenue"] = np.nan  # exposed, no outcome row
    return frame


def _pandas_stats(frame: pd.DataFrame, keys: list[str], cap: float | None) -> pd.DataFrame:
    f = frame.fillna({"revenue": 0.0}).astype({"converted": float, "orders": float})
    if cap is not None:
        f["revenue"] = f["revenue"].clip(upper=cap)
    f["revenue_sq"] = f.revenue**2
    f["rev_x_pre"] = f.revenue * f.pre_revenue
    f["rev_x_orders"] = f.revenue * f.orders
    g = f.groupby(keys)
    return pd.DataFrame(
        {
            "n": g.size(),
            "revenue__sum": g.revenue.sum(),
            "revenue__sum_sq": g.revenue_sq.sum(),
            "revenue__x__pre_revenue": g.rev_x_pre.sum(),
            "revenue__x__orders": g.rev_x_orders.sum(),
            "converted__sum": g.converted.sum(),
        }
    ).reset_index()


@pytest.mark.parametrize("winsor", [None, 0.95])
def test_reduce_matches_pandas(units: pd.DataFrame, winsor: float | None) -> None:
    table = ibis.memtable(units)
    frame = sufficient_stats(
        table,
        "arm",
        ["converted", "revenue"],
        segments=["segment"],
        covariate="pre_revenue",
        denominator="orders",
        winsorize={"revenue": winsor} if winsor else None,
    )
    cap = units.revenue.fillna(0.0).quantile(winsor) if winsor else None
    expected = _pandas_stats(units, ["arm", "segment"], cap)
    assert len(frame) == 6
    pd.testing.assert_frame_equal(frame[expected.columns], expected, check_dtype=False, rtol=1e-10)
    if winsor:
        assert frame["revenue__cap"].eq(cap).all()
    per = collapse(frame, ["arm"])
    expected_per = _pandas_stats(units, ["arm"], cap)
    pd.testing.assert_frame_equal(
        per[expected_per.columns],
        expected_per,
        check_dtype=False,
        rtol=1e-10,
    )


def test_reduce_rows_become_the_dataclasses_of_the_raw_data(units: pd.DataFrame) -> None:
    frame = sufficient_stats(
        ibis.memtable(units), "arm", ["revenue"], segments=["segment"], covariate="pre_revenue"
    )
    control = units[units.arm == "control"].fillna({"revenue": 0.0})
    got = per_arm(frame, "arm", "revenue", covariate="pre_revenue")["control"]
    want = CovariateStats.from_values(control.revenue, control.pre_revenue)
    for field in want.__dataclass_fields__:
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-12)
    plain = per_arm(frame, "arm", "revenue")["control"]
    assert plain == SampleStats(want.n, pytest.approx(want.y_sum), pytest.approx(want.y_sum_sq))


def test_reduce_validates_columns(units: pd.DataFrame) -> None:
    table = ibis.memtable(units)
    with pytest.raises(KeyError, match="no column"):
        sufficient_stats(table, "arm", ["nope"])
    with pytest.raises(KeyError, match="winsorize"):
        sufficient_stats(table, "arm", ["revenue"], winsorize={"orders": 0.9})
