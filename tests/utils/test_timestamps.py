"""Local times convert to UTC by the zone's offset table exactly as ICU converts them."""

from __future__ import annotations

import datetime

import ibis
import numpy as np
import pandas as pd
import pytest

from customer_analytics.utils.timestamps import (
    STEPS_SPAN,
    by_offset_steps,
    offset_steps,
    timezone,
    timezone_naive,
    to_utc,
)

# Daylight saving of an hour (London, New York), of half an hour (Lord Howe), in the
# southern summer (Santiago, at midnight), suspended for Ramadan (Casablanca), none
# since 1991 (Shanghai), and a quarter-hour offset (Kathmandu).
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Africa/Casablanca",
    "Asia/Shanghai",
    "Asia/Kathmandu",
]


def _local_times(zone: str) -> pd.Series:
    """Every minute and some odd seconds around each offset change, and random times
    from before the table's span to after it."""
    rng = np.random.default_rng(7)
    near = [
        start + datetime.timedelta(minutes=int(m), seconds=int(s))
        for start, _ in offset_steps(zone)[1:]
        for m in range(-150, 151)
        for s in (0, 59)
    ]
    seconds = rng.integers(
        pd.Timestamp("1985-01-01").value // 10**9, pd.Timestamp("2065-01-01").value // 10**9, 5000
    )
    return pd.Series(near + list(pd.to_datetime(seconds, unit="s")), name="local")


@pytest.mark.parametrize("zone", ZONES)
def test_the_offset_table_converts_as_icu_does(zone: str) -> None:
    table = ibis.memtable(_local_times(zone).to_frame())
    inside = table.local.between(offset_steps(zone)[0][0], STEPS_SPAN[1])
    fast = ibis.ifelse(inside, by_offset_steps(table.local, offset_steps(zone)), None)
    icu = timezone_naive("UTC", timezone(zone, table.local))
    got = table.select(inside=inside, fast=fast, icu=icu).execute()
    assert got.inside.sum() >= 4000
    mismatched = got[got.inside & (got.fast != got.icu)]
    assert mismatched.empty, mismatched.head()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kathmandu", "Europe/London"])
def test_to_utc_converts_as_icu_does_in_and_outside_the_table_span(zone: str) -> None:
    table = ibis.memtable(_local_times(zone).to_frame())
    got = table.select(
        fast=to_utc(table.local, zone)[0], icu=timezone_naive("UTC", timezone(zone, table.local))
    ).execute()
    assert (got.fast == got.icu).all()


def test_the_table_has_the_changes_of_daylight_saving() -> None:
    london = dict(offset_steps("Europe/London"))
    assert london[datetime.datetime(2024, 3, 31, 2, 0)] == 3600  # BST from 02:00 local
    assert london[datetime.datetime(2024, 10, 27, 1, 0)] == 0  # GMT again from 01:00 local
    last_change, offset = offset_steps("Asia/Shanghai")[-1]  # no daylight saving since 1991
    assert (last_change.year, offset) == (1991, 8 * 3600)


def test_fractional_seconds_parse_in_every_format_and_count_as_canonical() -> None:
    """An exposure log stamped 2017-01-21 22:11:48.556739 used to be quarantined whole."""
    values = ["2017-01-21 22:11:48.556739", "2017-01-21 22:11:48.5", "2017-01-21 22:11:48",
              "2017/01/21 22:11:48.25", "2017-01-21T22:11:48.556739Z",
              "2017-01-21T23:11:48.556739+01:00"]  # fmt: skip
    column = ibis.memtable({"ts": values}).ts
    parsed, canonical = to_utc(column, "UTC")
    got = column.as_table().select(parsed=parsed, canonical=canonical).execute()
    assert got["parsed"].tolist() == [
        pd.Timestamp("2017-01-21 22:11:48.556739"),
        pd.Timestamp("2017-01-21 22:11:48.5"),
        pd.Timestamp("2017-01-21 22:11:48"),
        pd.Timestamp("2017-01-21 22:11:48.25"),
        pd.Timestamp("2017-01-21 22:11:48.556739"),
        pd.Timestamp("2017-01-21 22:11:48.556739"),
    ]
    assert got["canonical"].tolist() == [True, True, True, False, False, False]
