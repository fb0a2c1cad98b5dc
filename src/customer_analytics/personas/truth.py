"""Persona cards checked against the synthetic shop's planted personas and their traits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.personas.cards import PersonaCard
from customer_analytics.synthetic.truth import planted_personas


def truth_traits(
    truth_dir: Path | None, labels: pd.Series, cards: list[PersonaCard]
) -> dict[str, Any]:
    """Does the card of the cluster holding most of a planted persona's customers carry
    that persona's defining traits? A cluster with no card (under the privacy minimum)
    carries none. Nothing for a real shop (``truth_dir`` None).

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder (``Config.truth_dir``).
    labels
        Each customer's cluster, indexed by customer id.
    cards
        The persona cards shown.
    """
    planted = planted_personas(truth_dir)
    if planted is None:
        return {}
    persona, traits = planted
    truth = persona.reindex(labels.index)
    by_cluster = {c.cluster: c for c in cards}
    out = {}
    for name, wanted in traits.items():
        members = labels[truth == name]
        if members.empty:
            continue
        card = by_cluster.get(int(members.value_counts().index[0]))
        tags = {t.trait: t.value for t in card.tags} if card else {}
        wrong = {
            k: f"planted {v}, tagged {tags.get(k)}" for k, v in wanted.items() if tags.get(k) != v
        }
        out[name] = {
            "persona": card.name if card else "(no card: under the privacy minimum)",
            "traits": len(wanted),
            "matched": len(wanted) - len(wrong),
            "mismatches": wrong,
            # The same, as values (the page writes them in the reader's language).
            "mismatched": {
                k: {"planted": v, "tagged": tags.get(k)}
                for k, v in wanted.items()
                if tags.get(k) != v
            },
        }
    return {"truth": out}
