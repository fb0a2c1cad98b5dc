"""A run's dates: the end of its as_of day, its snapshot day and the days of a time unit."""

from __future__ import annotations

import datetime as dt

import pytest

from customer_analytics.utils.dates import (
    DAYS_PER_MONTH,
    DAYS_PER_UNIT,
    day_end,
    days_per_unit,
    snapshot_day,
)


def test_day_end_is_the_midnight_that_starts_the_next_day() -> None:
    assert day_end(dt.date(2025, 12, 31)) == dt.datetime(2026, 1, 1, 0, 0)
    assert day_end(dt.date(2024, 2, 28)) == dt.datetime(2024, 2, 29)  # a leap year
    end = day_end(dt.date(2025, 6, 30))
    assert end.tzinfo is None  # naive UTC, as every timestamp of the pipeline
    # Everything that happened on the day is before it, the next day's first moment not.
    assert dt.datetime(2025, 6, 30, 23, 59, 59, 999_999) < end
    assert not dt.datetime(2025, 7, 1) < end


def test_snapshot_day_is_as_of_less_the_offset() -> None:
    assert snapshot_day(dt.date(2025, 12, 31), 90) == dt.date(2025, 10, 2)
    assert snapshot_day(dt.date(2024, 3, 1), 1) == dt.date(2024, 2, 29)
    assert snapshot_day(dt.date(2025, 12, 31), 0) == dt.date(2025, 12, 31)


def test_days_per_unit_and_weeks_of_seven_days() -> None:
    assert days_per_unit("days") == 1 and days_per_unit("weeks") == 7
    assert DAYS_PER_UNIT == {"days": 1, "weeks": 7}
    assert DAYS_PER_MONTH == pytest.approx(30.4375)


@pytest.mark.parametrize("unit", ["D", "W", "months", "", "Weeks"])
def test_an_unknown_time_unit_is_named_with_the_known_ones(unit: str) -> None:
    with pytest.raises(ValueError, match=r"one of \['days', 'weeks'\], not " + repr(unit)):
        days_per_unit(unit)
