"""The translation catalogues: extracting the message ids, merging, loading.

Domains are files, so two people translating two stages never edit one catalogue:

* a package's domain (``rfm``, ``report``...) holds the ids marked in its Python
  (``_``, ``N_``, ``ngettext``) and Jinja templates (``{{ _("...") }}``, ``{% trans %}``);
  the modules beside the packages (``privacy.py``...) make the domain ``customer_analytics``;
* a notebook's domain (``03_rfm``) holds each block of its markdown cells: a heading, a
  paragraph or a whole list, as :func:`markdown_blocks` splits it. The stakeholder page
  of another language shows each block's translation (``report/export.py``).

``python -m customer_analytics.i18n update`` re-extracts every domain and merges the ids
into each language's catalogue (new ids come in untranslated, gone ones are dropped);
``python -m customer_analytics.i18n missing`` lists the ids without a translation.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parents[1]
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The project's notebooks (absent from an installed package: then only code is extracted).
NOTEBOOKS = PACKAGE.parents[1] / "notebooks"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**.j2", "jinja2.ext:babel_extract")]
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
#: Catalogue headers carry no dates, so an update that adds nothing changes nothing.
_FIXED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_BLANK = re.compile(r"\n\s*\n")


def markdown_blocks(text: str) -> list[str]:
    """A markdown cell's translatable blocks: its blank-line-separated parts, each with
    trailing spaces removed (a heading, a paragraph, a list)."""
    blocks = (block.strip("\n") for block in _BLANK.split(text))
    return ["\n".join(line.rstrip() for line in b.splitlines()) for b in blocks if b.strip()]


def translate_markdown(text: str, translate: Any) -> str:
    """``text`` with each of its :func:`markdown_blocks` passed through ``translate``."""
    return "\n\n".join(translate(block) for block in markdown_blocks(text))


def _notebook_blocks(path: Path) -> Iterator[tuple[int, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells, start=1):
        if cell["cell_type"] == "markdown":
            for block in markdown_blocks("".join(cell["source"])):
                yield number, block


def domains() -> dict[str, list[Path]]:
    """Every domain and the files its ids come from."""
    found: dict[str, list[Path]] = {"customer_analytics": sorted(PACKAGE.glob("*.py"))}
    for package in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        found[package.name] = [package]
    for notebook in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        found[notebook.stem] = [notebook]
    return found


def template(domain: str) -> Catalog:
    """The ids of ``domain`` as found in its files today (a ``.pot``'s content)."""
    catalog = Catalog(domain=domain, creation_date=_FIXED, revision_date=_FIXED)
    for source in domains()[domain]:
        if source.suffix == ".ipynb":
            for number, block in _notebook_blocks(source):
                catalog.add(block, locations=[(source.name, number)])
            continue
        if source.is_file():
            for line, message, comments, context in _extract_file(source):
                catalog.add(
                    message,
                    locations=[(source.name, line)],
                    auto_comments=comments,
                    context=context,
                )
            continue
        entries = extract_from_dir(
            source,
            METHODS,
            options_map={"**.j2": JINJA_OPTIONS},
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, line, message, comments, context in entries:
            catalog.add(
                message,
                locations=[(filename, line)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def catalogue_path(lang: str, domain: str) -> Path:
    """Where ``domain``'s catalogue of ``lang`` lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def read(path: Path, lang: str) -> Catalog:
    """One ``.po`` file."""
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=path.stem)


def update(lang: str) -> dict[str, int]:
    """Merge today's ids into every catalogue of ``lang``; returns each domain's number
    of untranslated ids (domains without ids get no file)."""
    untranslated = {}
    for domain in domains():
        ids = template(domain)
        path = catalogue_path(lang, domain)
        if not len(ids):
            path.unlink(missing_ok=True)
            continue
        catalog = read(path, lang) if path.is_file() else Catalog(locale=lang, domain=domain)
        catalog.update(ids, no_fuzzy_matching=True, update_creation_date=False)
        catalog.creation_date = catalog.revision_date = _FIXED
        catalog.project, catalog.version, catalog.fuzzy = "customer-analytics", "", False
        catalog.header_comment = (
            f"# The {domain} words of customer-analytics in {lang}.\n"
            "# Kept by `python -m customer_analytics.i18n update`: fill in each msgstr."
        )
        catalog.msgid_bugs_address = catalog.last_translator = catalog.language_team = ""
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, ignore_obsolete=True, include_lineno=False, width=100)
        if not path.is_file() or path.read_bytes() != buffer.getvalue():
            path.write_bytes(buffer.getvalue())
        untranslated[domain] = sum(1 for m in catalog if m.id and not _translated(m))
    return untranslated


def _translated(message: Any) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(strings)


def merged(lang: str, root: Path = LOCALE_DIR) -> Catalog:
    """Every catalogue of ``lang`` (under ``root``) as one, the first domain's
    translation of an id kept: the fallback for an id a domain does not have."""
    whole = Catalog(locale=lang, domain="messages")
    for path in sorted((root / lang / "LC_MESSAGES").glob("*.po")):
        for message in read(path, lang):
            if (
                message.id
                and _translated(message)
                and whole.get(message.id, message.context) is None
            ):
                whole[message.id] = message
    return whole


def load(lang: str, domain: str | None = None) -> gettext.GNUTranslations:
    """``lang``'s translations of ``domain`` (every catalogue merged when None), as the
    standard library's gettext reads them."""
    path = catalogue_path(lang, domain) if domain else None
    if path is not None and not path.is_file():
        return gettext.GNUTranslations(_mo(Catalog(locale=lang, domain=domain)))
    return gettext.GNUTranslations(_mo(read(path, lang) if path else merged(lang)))


def _mo(catalog: Catalog) -> io.BytesIO:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return buffer


def missing(lang: str) -> dict[str, list[str]]:
    """The ids of each domain that its own catalogue of ``lang`` does not translate."""
    gaps = {}
    for domain in domains():
        path = catalogue_path(lang, domain)
        known = read(path, lang) if path.is_file() else Catalog(locale=lang)
        absent = []
        for m in template(domain):
            have = known.get(m.id, m.context)
            if m.id and not (have and _translated(have)):
                absent.append(m.id if isinstance(m.id, str) else m.id[0])
        if absent:
            gaps[domain] = absent
    return gaps


def _extract_file(path: Path) -> Iterator[tuple[int, Any, list[str], str | None]]:
    method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
    options = JINJA_OPTIONS if path.suffix == ".j2" else {}
    with path.open("rb") as f:
        yield from extract(
            method, f, KEYWORDS, ("Translators:",), options=options, strip_comment_tags=True
        )


def messages(path: Path) -> Iterator[str]:
    """The ids found in one Python or template file (the singular of a plural pair)."""
    for _line, message, _comments, _context in _extract_file(path):
        yield message if isinstance(message, str) else message[0]
