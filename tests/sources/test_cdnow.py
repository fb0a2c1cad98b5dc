"""CDNOW exports, as lifetimes ships them: the sample and the master file."""

from __future__ import annotations

from support import lifetimes_file


def test_cdnow_sample_and_master_counts(order_items) -> None:
    for name, transactions, customers in (
        ("CDNOW_sample.txt", 6_919, 2_357),
        ("CDNOW_master.txt", 69_659, 23_570),
    ):
        t = order_items("cdnow", lifetimes_file(name))
        assert (t.count().execute(), t.customer_id.nunique().execute()) == (transactions, customers)
