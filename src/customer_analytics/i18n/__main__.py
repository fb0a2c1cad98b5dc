"""``python -m customer_analytics.i18n update|missing [LANG...]``: keep the catalogues."""

from __future__ import annotations

import argparse
import sys

from customer_analytics.i18n import LANGUAGES, SOURCE
from customer_analytics.i18n.catalogues import missing, update


def main(argv: list[str] | None = None) -> int:
    """Update the catalogues from the sources, or list what they do not translate."""
    parser = argparse.ArgumentParser(prog="python -m customer_analytics.i18n")
    parser.add_argument("command", choices=["update", "missing"])
    parser.add_argument("languages", nargs="*", default=[x for x in LANGUAGES if x != SOURCE])
    args = parser.parse_args(argv)
    gaps = 0
    for lang in args.languages:
        if args.command == "update":
            for domain, count in update(lang).items():
                if count:
                    print(f"{lang}/{domain}.po: {count} to translate")
                gaps += count
        else:
            for domain, ids in missing(lang).items():
                for message in ids:
                    print(f"{lang}/{domain}: {message!r}")
                gaps += len(ids)
    return 1 if args.command == "missing" and gaps else 0


if __name__ == "__main__":
    sys.exit(main())
