"""Charts of a page's other languages: drawn in a process forked from the kernel, shown
in their placeholders when settled; a chart that process cannot take is drawn in the
kernel, and a chart that fails still fails the stage."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from support import CliRun, on_run

from customer_analytics import i18n
from customer_analytics.pipeline.context import _Chart, _Elsewhere


class _Placeholder:
    """What IPython's ``display(..., display_id=True)`` returns, as far as settling
    uses it: the output it is updated with."""

    def __init__(self) -> None:
        self.shown: list[tuple[Any, dict]] = []

    def update(self, obj: Any, metadata: dict) -> None:
        self.shown.append((obj, metadata))


class _Context:
    """The part of a stage's context settling writes to: the words shown in English."""

    def __init__(self) -> None:
        self.fallbacks: dict[str, set[str]] = {}

    def remember_fallbacks(self, lang: str, english: list[str]) -> None:
        self.fallbacks.setdefault(lang, set()).update(english)


def drawn_where(marks: Path) -> Figure:
    """A chart that notes which process drew it, in which language."""
    (marks / f"{os.getpid()}-{i18n.current()}").touch()
    fig = Figure(figsize=(2, 1))
    fig.subplots().set_title(i18n.current())
    return fig


def fails() -> Figure:
    raise ValueError("no weeks to draw")


def _settle(chart: _Chart) -> tuple[_Placeholder, _Context]:
    elsewhere, placeholder, context = _Elsewhere(), _Placeholder(), _Context()
    elsewhere.submit(chart, placeholder, context)
    elsewhere.settle()
    return placeholder, context


def test_a_chart_of_another_language_is_drawn_in_another_process_and_shown_in_place(
    tmp_path: Path,
) -> None:
    chart = _Chart(drawn_where, (tmp_path,), {}, "zh", tmp_path / "x.zh.png")
    placeholder, _ = _settle(chart)
    (mark,) = [p.name for p in tmp_path.iterdir() if not p.suffix]
    pid, lang = mark.split("-")
    assert int(pid) != os.getpid() and lang == "zh"
    ((image, metadata),) = placeholder.shown
    assert image.data == chart.path.read_bytes() and image.data[:4] == b"\x89PNG"
    assert metadata == {i18n.OUTPUT_KEY: "zh"}


def test_a_chart_the_other_process_cannot_take_is_drawn_in_the_kernel(tmp_path: Path) -> None:
    # a lambda does not pickle: the process never gets it
    chart = _Chart(lambda: drawn_where(tmp_path), (), {}, "zh", tmp_path / "x.zh.png")
    placeholder, _ = _settle(chart)
    assert [p.name for p in tmp_path.iterdir() if not p.suffix] == [f"{os.getpid()}-zh"]
    assert len(placeholder.shown) == 1


def test_a_chart_that_fails_fails_when_settled(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no weeks to draw"):
        _settle(_Chart(fails, (), {}, "en", tmp_path / "x.png"))


@on_run("tiny")
def test_every_page_shows_each_chart_in_its_own_language(
    config_run: Callable[[str], CliRun],
) -> None:
    """Through the command line: each stage's Chinese and English pages show the same
    number of charts, every chart was saved in both languages, and the two differ
    (their words)."""
    run = config_run("tiny")
    figures = run.report / "figures"
    english = sorted(p for p in figures.glob("*.png") if not p.name.endswith(".zh.png"))
    assert english
    for path in english:
        chinese = path.with_name(path.name.removesuffix(".png") + ".zh.png")
        assert chinese.read_bytes() != path.read_bytes(), path.name
    for stage in json.loads((run.report / "manifest.json").read_text())["stages"]:
        en = (run.report / f"{stage['name']}.html").read_text(encoding="utf-8")
        zh = (run.report / f"{stage['name']}.zh.html").read_text(encoding="utf-8")
        assert en.count("<img") == zh.count("<img") > 0, stage["name"]
