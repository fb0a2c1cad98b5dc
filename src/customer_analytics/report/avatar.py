"""A persona's avatar drawn on the page itself: initials in a coloured circle (SVG).

Nothing is fetched: the page stays one offline file, and no picture of a person stands
for a group of customers.
"""

from __future__ import annotations

import html
from typing import Any

from customer_analytics import i18n


def avatar_svg(avatar: dict[str, Any], size: int = 48) -> str:
    """The avatar as inline SVG, with the current language's initials.

    Parameters
    ----------
    avatar
        A card's ``avatar``: ``colour`` and ``initials`` per language
        (:meth:`customer_analytics.personas.lines.GivenNames.avatar`).
    size
        Width and height in pixels.
    """
    initials = avatar.get("initials", {})
    text = initials.get(i18n.current()) or initials.get(i18n.SOURCE) or "?"
    colour = html.escape(str(avatar.get("colour", "#5b6774")))
    half = size / 2
    return (
        f'<svg class="ca-avatar" xmlns="http://www.w3.org/2000/svg" width="{size}" '
        f'height="{size}" viewBox="0 0 {size} {size}" aria-hidden="true">'
        f'<circle cx="{half}" cy="{half}" r="{half}" fill="{colour}"/>'
        f'<text x="50%" y="50%" dy="0.35em" text-anchor="middle" fill="#fff" '
        f'font-size="{size * 0.45:.0f}" font-weight="600">{html.escape(text)}</text></svg>'
    )
