"""Numbers, money, shares and dates as the reader's locale writes them (Babel, CLDR).

``money(1234.5, "CNY")`` is ``¥1,234.50`` in Chinese and ``CN¥1,234.50`` in English;
``date(2025-12-31)`` is ``2025年12月31日`` and ``December 31, 2025``. The language is the
enclosing :func:`customer_analytics.i18n.language`; :func:`axis` gives matplotlib tick
formatters that use the same rules, so charts read like the text around them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from babel import dates, numbers

from customer_analytics.i18n import current

#: The CLDR locale each report language formats with.
LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
MISSING = "–"


def _locale() -> str:
    return LOCALES[current()]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, digits: int = 0) -> str:
    """``value`` with the locale's grouping and ``digits`` decimals (``1,234.5``)."""
    if _missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=_locale())


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0.123) as the locale writes a percentage (``12.3%``)."""
    if _missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return numbers.format_percent(value, format=pattern, locale=_locale())


def money(value: float | None, currency: str, digits: int | None = None) -> str:
    """An amount in ``currency`` (ISO 4217), with the currency's own decimals unless
    ``digits`` says otherwise (``¥1,234.50``; ``digits=0``: ``¥1,235``)."""
    if _missing(value):
        return MISSING
    if digits is None:
        return numbers.format_currency(value, currency, locale=_locale())
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_currency(
        value, currency, format=pattern, locale=_locale(), currency_digits=False
    )


def date(value: dt.date | dt.datetime | str | None, style: str = "long") -> str:
    """A date as the locale writes it (``long``: ``2025年12月31日``, ``December 31, 2025``;
    ``medium``: ``Dec 31, 2025``)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return dates.format_date(value, format=style, locale=_locale())


def axis(kind: str = "number", *, digits: int = 0, currency: str | None = None) -> Any:
    """A matplotlib tick formatter for ``kind`` (``number``, ``percent`` or ``money``),
    fixed to the language current when it is made (charts are drawn inside one).

    ``digits`` is the fewest decimals shown: an axis whose ticks would read the same at
    that many (0, 0.5, 1 at ``digits=0``) gets up to three more, so no two ticks read alike.
    """
    from matplotlib.ticker import Formatter

    from customer_analytics.i18n import language

    lang = current()

    def tick(value: float, shown: int) -> str:
        with language(lang):
            if kind == "percent":
                return percent(value, shown)
            if kind == "money":
                return money(value, currency or "", shown)
            return number(value, shown)

    class _Ticks(Formatter):
        def __call__(self, value: float, pos: int | None = None) -> str:
            return tick(value, digits)

        def format_ticks(self, values: Any) -> list[str]:
            for shown in range(digits, digits + 4):
                labels = [tick(v, shown) for v in values]
                if len(set(labels)) == len(labels):
                    break
            return labels

    return _Ticks()
