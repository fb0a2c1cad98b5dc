"""Words in the reader's language: gettext catalogues kept with Babel, and locale formats.

Every word a stakeholder reads is an English message id: ``_("...")`` in our Python,
``{{ _("...") }}`` in the report's Jinja templates, and each paragraph of a stage
notebook's markdown. Its translations are gettext catalogues,
``locale/<lang>/LC_MESSAGES/<domain>.po`` beside this module, one domain per package
(``rfm``, ``report``...) so that work on two stages never edits one file. ``python -m
customer_analytics.i18n update`` extracts the ids (Babel) and merges them into the
catalogues; tests/i18n checks that every id has its Chinese.

The language is a context, not an argument: a report function asks for ``_("...")`` and
formats with :mod:`customer_analytics.i18n.formats`, and the caller renders it once per
language inside :func:`language`. Module-level constants are marked with :func:`N_` and
translated where they are used.

Words that live in our YAML data (tags, segments, actions, KPIs) are English under
their keys, with a block per other language beside them (``zh: {name: 冠军客户}``);
:func:`word` chooses, and remembers when it fell back to English so a page can say so
once.
"""

from __future__ import annotations

import contextvars
import functools
import gettext as _gettext
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: Languages a report can be written in; English is the language of the message ids.
LANGUAGES = ("en", "zh")
SOURCE = "en"
#: What each language is called in its own words, for the pages' language links.
NAMES = {"en": "English", "zh": "中文"}
#: Each language's tag in a page's ``<html lang>`` (which CJK glyph shapes a browser uses).
HTML_LANG = {"en": "en", "zh": "zh-CN"}
#: The key of a notebook output's metadata naming the language it was rendered in.
OUTPUT_KEY = "lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=SOURCE)
_fell_back: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "fell_back", default=None
)


def check(lang: str) -> str:
    """``lang`` if we have it, else a ValueError naming the languages we have."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Within the block, :func:`gettext`, :func:`word` and the formats speak ``lang``."""
    token = _current.set(check(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def current() -> str:
    """The language of the enclosing :func:`language` block (English outside any)."""
    return _current.get()


@functools.cache
def translations(lang: str, domain: str | None = None) -> _gettext.NullTranslations:
    """``lang``'s translations of ``domain`` (a package or notebook), falling back to
    every other catalogue of ``lang``; English is the ids themselves."""
    if check(lang) == SOURCE:
        return _gettext.NullTranslations()
    from customer_analytics.i18n.catalogues import load

    everything = load(lang)
    if domain is None:
        return everything
    own = load(lang, domain)
    own.add_fallback(everything)
    return own


def domain_of(module: str) -> str | None:
    """The catalogue domain of a module of ours: its package (``customer_analytics.rfm.
    report`` -> ``rfm``), ``customer_analytics`` for the modules beside the packages."""
    parts = module.split(".")
    if parts[0] != "customer_analytics":
        return None
    return parts[1] if len(parts) > 2 else parts[0]


def dgettext(domain: str | None, message: str) -> str:
    """``message`` as ``domain`` translates it in the current language."""
    return translations(current(), domain).gettext(message)


def gettext(message: str) -> str:
    """``message`` in the current language, as the calling module's domain translates
    it (itself where no catalogue does). A short word may read differently in two
    packages ("orders": a count in one, a table in another), so each has its own."""
    return dgettext(domain_of(sys._getframe(1).f_globals.get("__name__", "")), message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language."""
    domain = domain_of(sys._getframe(1).f_globals.get("__name__", ""))
    return translations(current(), domain).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it)
    """Mark ``message`` for extraction without translating it (translate where used)."""
    return message


def word(entry: Mapping[str, Any], key: str, *, what: str = "") -> str:
    """A word of our YAML data (or findings) in the current language.

    An entry holds its English words under their keys and may hold a block per other
    language with the same keys (``{name: Champions, zh: {name: 冠军客户}}``). Where the
    current language's block lacks the key, the English word stands in and is remembered
    (:func:`fallbacks`) under ``what``, so the page can say so once.

    Parameters
    ----------
    entry
        One entry of the data: a segment, a tag, an action, a KPI...
    key
        The word wanted (``name``, ``label``, ``description``...).
    what
        Where the word comes from (``"segments.yaml: Champions"``).
    """
    lang = current()
    english = entry.get(key)
    block = entry.get(lang) if lang != SOURCE else None
    if isinstance(block, Mapping) and block.get(key):
        return str(block[key])
    if lang != SOURCE and english:
        seen = _fell_back.get()
        if seen is not None:
            seen.add(what or str(english))
    return "" if english is None else str(english)


@contextmanager
def fallbacks() -> Iterator[set[str]]:
    """Collect, within the block, the YAML words :func:`word` left in English."""
    seen: set[str] = set()
    token = _fell_back.set(seen)
    try:
        yield seen
    finally:
        _fell_back.reset(token)


def page_name(stem: str, lang: str, suffix: str = ".html") -> str:
    """A page's file name in ``lang``: ``index.html`` in English, ``index.zh.html``."""
    return f"{stem}{suffix}" if check(lang) == SOURCE else f"{stem}.{lang}{suffix}"
