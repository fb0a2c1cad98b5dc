"""The reference tables shipped with the package (``reference/``): cities and their
tiers, country spellings, test e-mail domains, non-product stock codes. The cleaning
rules match against them and the synthetic shop draws its misspellings from them."""

from __future__ import annotations

from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def reference_file(name: str) -> Path:
    """A reference table's CSV file, e.g. ``reference_file("cities_cn.csv")``."""
    return REFERENCE / name
