"""A run's dates: the end of its ``as_of`` day, its snapshot day, and time units.

A run's ``as_of`` is a date, and everything that happened on that day belongs to it:
orders count when placed before :func:`day_end`. Timestamps are naive UTC throughout.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

TimeUnit = Literal["days", "weeks"]
#: Days per time unit. Weeks are 7 days, as the BTYD papers measure them (lifetimes:
#: ``freq="D"`` with ``freq_multiplier=7``), so RFM, the summary and the CLV fit share
#: one clock.
DAYS_PER_UNIT: dict[str, int] = {"days": 1, "weeks": 7}
#: The average Gregorian month, 30.4375 days (lifetimes uses 30).
DAYS_PER_MONTH = 365.25 / 12


def day_end(day: dt.date) -> dt.datetime:
    """The first moment after ``day`` (midnight starting the next day): the exclusive
    upper bound of what happened by the end of ``day``."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def snapshot_day(as_of: dt.date, offset_days: int) -> dt.date:
    """The earlier day movement is measured from: ``as_of - run.snapshot_offset_days``."""
    return as_of - dt.timedelta(days=offset_days)


def days_per_unit(unit: str) -> int:
    """Days in one ``unit`` (``"days"`` or ``"weeks"``); a ValueError names the units."""
    if unit not in DAYS_PER_UNIT:
        raise ValueError(f"time unit must be one of {list(DAYS_PER_UNIT)}, not {unit!r}")
    return DAYS_PER_UNIT[unit]
