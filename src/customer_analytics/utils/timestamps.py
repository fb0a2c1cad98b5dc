"""Timestamps delivered as text in mixed formats and zones, normalised to UTC.

Accepted, in order: epoch seconds; ISO 8601 with ``Z`` (UTC); ISO 8601 with an offset
such as ``+08:00``; and shop-local formats (the first is the export's canonical format,
with or without fractional seconds, so only other formats count as fixed). Every format
with seconds also reads them with a fraction (``22:11:48.556739``, one to six digits:
DuckDB keeps microseconds). Formats never include day/month orders that the data cannot
decide; a source declares its own local format where it has one.

Formats are written as DuckDB's (``strftime``) and parsed by DuckDB or, where the
expression reads a Spark table, by Spark's ``try_to_timestamp`` with the same format
spelled as a Java pattern (:func:`java_pattern`); zones convert with ICU on DuckDB and
``java.time`` on Spark, which read the same time zone database.
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops

from customer_analytics.utils.text import strip

#: The export's canonical shop-local format, and the same with fractional seconds (DuckDB's
#: ``%f`` reads one to six digits): values in either are not counted as fixed.
CANONICAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")
#: Shop-local formats, the canonical ones first (only the others count as fixed).
LOCAL_FORMATS = (
    *CANONICAL_FORMATS,
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
)
UTC_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
OFFSET_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S.%f%z",
)


@ibis.udf.scalar.builtin(signature=((dt.string, dt.string), dt.Timestamp()))
def try_strptime(text, fmt):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``try_strptime``: null where the text does not match."""


@ibis.udf.scalar.builtin(signature=((dt.string, dt.Timestamp()), dt.Timestamp(timezone="UTC")))
def timezone(zone, ts):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``timezone``: a naive local timestamp in ``zone`` as an instant."""


@ibis.udf.scalar.builtin(
    name="timezone", signature=((dt.string, dt.Timestamp(timezone="UTC")), dt.Timestamp())
)
def timezone_naive(zone, ts):  # noqa: ANN001, ANN201 (DuckDB's timezone, the other way round)
    """DuckDB's ``timezone``: an instant as the naive wall-clock time in ``zone``."""


@ibis.udf.scalar.builtin(
    name="try_strptime", signature=((dt.string, dt.string), dt.Timestamp(timezone="UTC"))
)
def try_strptime_zoned(text, fmt):  # noqa: ANN001, ANN201 (DuckDB's function, for formats with %z)
    """DuckDB's ``try_strptime`` for formats with an offset: an instant."""


@ibis.udf.scalar.builtin(
    name="to_timestamp", signature=((dt.float64,), dt.Timestamp(timezone="UTC"))
)
def epoch_seconds(seconds):  # noqa: ANN001, ANN201 (DuckDB's function)
    """DuckDB's ``to_timestamp``: seconds since 1970 as an instant."""


@ibis.udf.scalar.builtin(
    name="try_to_timestamp", signature=((dt.string, dt.string), dt.Timestamp())
)
def _spark_try_to_timestamp(text, pattern):  # noqa: ANN001, ANN201 (Spark's function)
    """Spark's ``try_to_timestamp``: null where the text does not match."""


@ibis.udf.scalar.builtin(
    name="try_to_timestamp", signature=((dt.string, dt.string), dt.Timestamp(timezone="UTC"))
)
def _spark_try_to_timestamp_zoned(text, pattern):  # noqa: ANN001, ANN201 (Spark's function)
    """Spark's ``try_to_timestamp`` for patterns with an offset: an instant."""


@ibis.udf.scalar.builtin(
    name="to_utc_timestamp", signature=((dt.Timestamp(), dt.string), dt.Timestamp(timezone="UTC"))
)
def _spark_to_utc(ts, zone):  # noqa: ANN001, ANN201 (Spark's function)
    """Spark's ``to_utc_timestamp``: a naive local timestamp in ``zone`` as an instant."""


@ibis.udf.scalar.builtin(
    name="from_utc_timestamp", signature=((dt.Timestamp(timezone="UTC"), dt.string), dt.Timestamp())
)
def _spark_from_utc(ts, zone):  # noqa: ANN001, ANN201 (Spark's function)
    """Spark's ``from_utc_timestamp``: an instant as the naive wall-clock time in ``zone``."""


@ibis.udf.scalar.builtin(
    name="timestamp_seconds", signature=((dt.float64,), dt.Timestamp(timezone="UTC"))
)
def _spark_epoch_seconds(seconds):  # noqa: ANN001, ANN201 (Spark's function)
    """Spark's ``timestamp_seconds``: seconds since 1970 as an instant."""


#: strftime's directives (DuckDB's) as Java's pattern letters (Spark's). One letter reads
#: one or two digits, as DuckDB does; ``%f`` one to six digits; ``%z`` ``+08:00``,
#: ``+0800`` or ``+08``.
_JAVA = {"Y": "yyyy", "m": "M", "d": "d", "H": "H", "M": "m", "S": "s", "f": "SSSSSS", "z": "[xxx][xx][x]"}  # fmt: skip


def java_pattern(fmt: str) -> str:
    """A DuckDB ``strftime`` format as a Spark (Java) datetime pattern.

    Raises
    ------
    ValueError
        A directive outside :data:`_JAVA`, naming it and the format.
    """
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            directive = fmt[i + 1 : i + 2]
            if directive not in _JAVA:
                raise ValueError(f"timestamp format {fmt!r}: %{directive} has no Spark pattern")
            out.append(_JAVA[directive])
            i += 2
        elif fmt[i].isalpha():
            out.append(f"'{fmt[i]}'")  # a literal letter (the T of ISO 8601)
            i += 1
        else:
            out.append("''" if fmt[i] == "'" else fmt[i])
            i += 1
    return "".join(out)


def on_spark(expr: ibis.Expr) -> bool:
    """Whether ``expr`` reads a table of a Spark connection (else DuckDB computes it)."""
    return any(t.source.name == "pyspark" for t in expr.op().find(ops.DatabaseTable))


def _parse(text: ibis.StringValue, fmt: str, spark: bool) -> ibis.TimestampValue:
    if spark:
        return _spark_try_to_timestamp(text, java_pattern(fmt))
    return try_strptime(text, fmt)


def _parse_zoned(text: ibis.StringValue, fmt: str, spark: bool) -> ibis.TimestampValue:
    if spark:
        return _spark_try_to_timestamp_zoned(text, java_pattern(fmt))
    return try_strptime_zoned(text, fmt)


def _as_instant(local: ibis.TimestampValue, zone: str, spark: bool) -> ibis.TimestampValue:
    return _spark_to_utc(local, zone) if spark else timezone(zone, local)


def _as_local(instant: ibis.TimestampValue, zone: str, spark: bool) -> ibis.TimestampValue:
    return _spark_from_utc(instant, zone) if spark else timezone_naive(zone, instant)


def utc_to_local(utc: ibis.TimestampValue, zone: str) -> ibis.TimestampValue:
    """Naive UTC times as the naive wall-clock times in ``zone``."""
    spark = on_spark(utc)
    return _as_local(_as_instant(utc, "UTC", spark), zone, spark)


#: Local times in this span convert through a table of the zone's offsets read once from
#: ICU (:func:`offset_steps`); others call ICU row by row.
STEPS_SPAN = ("1990-01-01", "2060-01-01")


@functools.lru_cache(maxsize=8)
def offset_steps(zone: str) -> tuple[tuple[datetime.datetime, int], ...]:
    """Where ``zone``'s UTC offset changes, in local wall-clock time, as DuckDB's ICU sees it.

    Returns (local time from which it applies, offset in seconds) pairs, the first at the
    start of :data:`STEPS_SPAN`. ICU is asked at midnight of every day of the span, and
    every minute of the days in which the offset changed: every change of the time zone
    database since 1990 falls on a whole minute, and none is undone by the next
    midnight. A local time in a daylight-saving gap or overlap gets ICU's offset.
    """
    import duckdb

    con = duckdb.connect()
    offset = "epoch(t) - epoch(timezone($zone, t))"
    daily = con.execute(
        f"""SELECT t, {offset} AS o FROM generate_series($lo::TIMESTAMP, $hi::TIMESTAMP,
              INTERVAL 1 DAY) s(t) ORDER BY t""",
        {"zone": zone, "lo": STEPS_SPAN[0], "hi": STEPS_SPAN[1]},
    ).fetchall()
    days = [day for (day, o), (_, after) in zip(daily, daily[1:], strict=False) if o != after]
    changes = con.execute(
        f"""SELECT t, o FROM (
              SELECT d, t, {offset} AS o FROM unnest($days::TIMESTAMP[]) u(d),
                generate_series(d, d + INTERVAL 1 DAY, INTERVAL 1 MINUTE) s(t))
            QUALIFY o != lag(o) OVER (PARTITION BY d ORDER BY t) ORDER BY t""",
        {"zone": zone, "days": days},
    ).fetchall()
    return ((daily[0][0], int(daily[0][1])), *((t, int(o)) for t, o in changes))


def local_to_utc(local: ibis.TimestampValue, zone: str) -> ibis.TimestampValue:
    """Naive local times in ``zone`` as naive UTC, as ICU converts them.

    In a zone without daylight saving (the synthetic shop's Asia/Shanghai), the offset
    is found by comparing against the few times it changed (:func:`by_offset_steps`);
    ICU row by row cost most of the parse (4.3 million order times: 1.4 of 2.3 CPU
    seconds). Zones with daylight saving change a hundred times or more in
    :data:`STEPS_SPAN`, and the comparisons would make each query's SQL long and slow
    to compile, so they are left to ICU.
    """
    spark = on_spark(local)
    icu = _as_local(_as_instant(local, zone, spark), "UTC", spark)
    if spark or _has_daylight_saving(zone):
        return icu
    steps = offset_steps(zone)
    inside = local.between(ibis.timestamp(steps[0][0]), ibis.timestamp(STEPS_SPAN[1]))
    return ibis.ifelse(inside, by_offset_steps(local, steps), icu)


def by_offset_steps(
    local: ibis.TimestampValue, steps: tuple[tuple[datetime.datetime, int], ...]
) -> ibis.TimestampValue:
    """``local`` less the offset of the last step at or before it (:func:`offset_steps`),
    found by a binary search of comparisons."""

    def branch(lo: int, hi: int) -> ibis.Value:  # steps[lo:hi]
        if hi - lo == 1:
            return local - ibis.interval(seconds=steps[lo][1])
        mid = (lo + hi) // 2
        return ibis.ifelse(local < ibis.timestamp(steps[mid][0]), branch(lo, mid), branch(mid, hi))

    return branch(0, len(steps))


def _has_daylight_saving(zone: str) -> bool:
    """Whether ``zone``'s offset differs between months of this year or the next."""
    tz = zoneinfo.ZoneInfo(zone)
    year = datetime.date.today().year
    offsets = {
        tz.utcoffset(datetime.datetime(y, m, 1)) for y in (year, year + 1) for m in range(1, 13)
    }
    return len(offsets) > 1


def _first(parses: list[ibis.Value]) -> ibis.Value:
    return ibis.coalesce(*parses) if len(parses) > 1 else parses[0]


def to_utc(column: ibis.Value, zone: str) -> tuple[ibis.Value, ibis.Value]:
    """Parse ``column`` into a naive UTC timestamp.

    Returns the parsed timestamp (null where nothing matched) and a boolean that is
    true where the text was in the canonical format (:data:`CANONICAL_FORMATS`).
    """
    canonical, spark = len(CANONICAL_FORMATS), on_spark(column)
    if column.type().is_timestamp():
        return local_to_utc(column.cast(dt.timestamp), zone), ibis.literal(True)
    text = strip(column.cast(dt.string))
    # Every other branch is an instant (TIMESTAMPTZ), turned into naive UTC once through
    # an explicit zone: DuckDB casts instants with the session's time zone (the
    # machine's), and COALESCE of naive and zoned values promotes to instants.
    digits = ibis.ifelse(text.re_search(r"^\d{9,11}$"), text, ibis.null().cast(dt.string))
    seconds = digits.try_cast(dt.float64)
    epoch = _spark_epoch_seconds(seconds) if spark else epoch_seconds(seconds)
    utc = _as_instant(_first([_parse(text, f, spark) for f in UTC_FORMATS]), "UTC", spark)
    offset = _first([_parse_zoned(text, f, spark) for f in OFFSET_FORMATS])
    local = _first([_parse(text, f, spark) for f in LOCAL_FORMATS[:canonical]])
    other = _first([_parse(text, f, spark) for f in LOCAL_FORMATS[canonical:]])
    branches = [epoch, utc, offset, _as_instant(other, zone, spark)]
    # The canonical format first: most rows stop there (COALESCE evaluates a branch only
    # for rows still null). The formats cannot match the same text, so order is free.
    parsed = ibis.coalesce(local_to_utc(local, zone), _as_local(_first(branches), "UTC", spark))
    # The flag needs no zone conversion, the costly part of the parse.
    return parsed, local.notnull()


def with_utc(table: ibis.Table, column: str, zone: str) -> tuple[ibis.Table, ibis.Value]:
    """``table`` with ``<column>_utc`` (:func:`to_utc`), and which rows were fixed.

    A row is fixed where its value was present and parsed, but not from the canonical
    format. The parse and the canonical flag (``_canonical_<column>``) come from one
    projection, so the database parses the canonical format once: a flag derived in a
    later expression parsed and converted every row again (10 million order lines:
    the order rules took 23.4 CPU seconds against 16.6).
    """
    parsed, canonical = to_utc(table[column], zone)
    utc, flag = f"{column}_utc", f"_canonical_{column}"
    table = table.mutate(**{utc: parsed, flag: canonical})
    return table, ~table[flag] & table[column].notnull() & table[utc].notnull()
