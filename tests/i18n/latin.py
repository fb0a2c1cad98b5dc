"""Find the English a Chinese page still shows: strings never marked for translation.

The visible text of a page (no styles, scripts, code, or elements marked
``translate="no"``, HTML's own mark for names, ids and codes) may hold Latin words only
from the allow-list ``allowed_latin.yaml`` (abbreviations, units, brand names). Words
with a digit in them are codes or ids (``P0001``, ``k=6``) and pass. Usable on any run::

    .venv/bin/python tests/i18n/latin.py reports/latest-tiny
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import yaml
from bs4 import BeautifulSoup

ALLOWED = {
    word
    for group in yaml.safe_load((Path(__file__).with_name("allowed_latin.yaml")).read_text())[
        "allowed"
    ].values()
    for word in group
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’_./+-]*")
_SKIP = ["style", "script", "code", "pre", "kbd", "samp", "var"]


def visible_text(html: str) -> str:
    """What a reader sees of a page: text outside code and ``translate="no"`` elements."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_SKIP):
        tag.decompose()
    for tag in soup.select('[translate="no"]'):
        tag.decompose()
    for anchor in soup.select("a.anchor-link"):  # nbconvert's pilcrow links
        anchor.decompose()
    title = soup.title.get_text(" ") if soup.title else ""
    return title + " " + soup.get_text(" ")


def latin_words(html: str) -> Counter[str]:
    """The Latin words of a page's visible text outside the allow-list, with counts."""
    found: Counter[str] = Counter()
    for token in visible_text(html).split():
        if any(ch.isdigit() for ch in token):  # an id, a code, a run's name
            continue
        for word in _WORD.findall(token):
            word = word.strip("'’_./+-")
            if len(word) > 1 and word not in ALLOWED:
                found[word] += 1
    return found


def chinese_pages(run_dir: Path) -> list[Path]:
    """Every Chinese page of a run's report."""
    return sorted(Path(run_dir).glob("*.zh.html"))


def main(argv: list[str]) -> int:
    problems = 0
    for page in chinese_pages(Path(argv[0])):
        words = latin_words(page.read_text(encoding="utf-8"))
        if words:
            problems += 1
            shown = ", ".join(f"{w} ({n})" if n > 1 else w for w, n in words.most_common(40))
            print(f"{page.name}: {shown}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
