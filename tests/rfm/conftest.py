"""Orders the RFM tests share: the CDNOW sample shipped with lifetimes, and a few orders
shaped as the synthetic shop's."""

from __future__ import annotations

import pandas as pd
import pytest
from support import cdnow_sample


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """CDNOW's transactions: customer ``cid`` (text), ``date`` and ``dollars``."""
    frame = cdnow_sample()
    return frame.assign(cid=frame["customer_id"].astype(str))[["cid", "date", "dollars"]]


@pytest.fixture(scope="session")
def cdnow_columns() -> dict[str, str]:
    """The column arguments naming :func:`cdnow`'s columns."""
    return {"customer_col": "cid", "ts_col": "date", "value_col": "dollars"}


@pytest.fixture
def shop_orders() -> pd.DataFrame:
    """Synthetic-shop shape: returns kept as rows, one with a positive, one a negative value."""
    rows = [
        ("o1", "a", "2024-01-01 09:00", 100.0, False),
        ("o2", "a", "2024-01-01 18:00", 50.0, False),
        ("r1", "a", "2024-01-05 10:00", 30.0, True),
        ("o3", "a", "2024-01-20 23:59", 70.0, False),
        ("o4", "b", "2024-01-10 12:00", 40.0, False),
        ("r2", "b", "2024-01-12 12:00", -40.0, True),
        ("r3", "c", "2024-01-15 12:00", -20.0, True),  # a return only: not a buyer
        ("o5", "d", "2024-01-31 08:00", 10.0, False),  # placed on the as_of day
        ("o6", "d", "2024-02-01 08:00", 99.0, False),  # after as_of
    ]
    frame = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "order_ts_utc", "revenue", "is_return"]
    )
    frame["order_ts_utc"] = pd.to_datetime(frame.order_ts_utc)
    return frame
