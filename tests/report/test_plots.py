"""The house plotting helpers."""

from __future__ import annotations

from customer_analytics.report import plots


def test_group_colours_are_distinct_for_every_k() -> None:
    for n in range(1, 16):
        colours = [str(c) for c in plots.colours(n)]
        assert len(colours) == len(set(colours)) == n
