"""The embedded synthetic shop: a seeded Chinese online retailer with planted truth.

``generate(out_dir, size="tiny"|"default", seed=42)`` writes

``raw/`` (the export, messy like a real one)
    ``customers.csv`` (with PII: name, e-mail, phone; marketing consent),
    ``products.csv`` (with unit cost), ``orders.csv``, ``order_items.csv``,
    ``events.parquet`` (web/app events, UTC), ``feedback.csv`` (reviews and returns),
    ``exposures.csv`` (experiment assignment log). CSV timestamps are shop-local
    (Asia/Shanghai) ``YYYY-MM-DD HH:MM:SS`` unless a defect says otherwise.

``truth/`` (never shown to the pipeline, only to tests)
    ``customers.parquet``: persona, BG/NBD parameters (lambda per week, p), spend scale,
    alive at the data's end, purchases and value in the 12 months after it (simulated
    and held back), duplicate-account and test-account marks, and ``planted_growth``
    for the newcomers of the planted persona growth (``marketing.yaml``);
    ``defects.parquet``: every injected defect row (table, key, defect, detail);
    ``experiments.parquet``: true mean and lift per experiment, metric, arm and persona,
    from potential outcomes; ``personas.yaml`` (defining traits in the tag vocabulary),
    ``experiments.yaml`` (the design), ``params.json``.

Personas, experiments and defect rates are data: ``personas.yaml``,
``experiments.yaml``, ``defects.yaml`` beside this file.
"""

from customer_analytics.synthetic.generate import SIZES, GeneratedShop, generate

__all__ = ["SIZES", "GeneratedShop", "generate"]
