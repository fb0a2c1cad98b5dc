"""Identity resolution: accounts that share a matching key belong to one person.

Accounts are nodes, shared key values are edges; each connected component is one
person, named by its oldest account (earliest sign-up, then smallest id). Components are
found by repeated minimum-label propagation over each key, which converges in as many
rounds as the longest chain of accounts linked through alternating keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_ROUNDS = 20


def resolve(accounts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Map every account to its person's oldest account.

    Parameters
    ----------
    accounts
        ``customer_id``, ``signup_ts_utc`` and the key columns (nulls never match).
    keys
        Columns whose equal non-null values mean "same person".

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``merged_customer_id``, ``matched_on`` (the key that linked
        the account to another, empty for accounts alone).
    """
    frame = accounts.sort_values(
        ["signup_ts_utc", "customer_id"], na_position="last", kind="stable"
    ).reset_index(drop=True)
    label = np.arange(len(frame))
    matched = np.full(len(frame), "", dtype=object)
    for key in reversed(keys):  # the first key in the list names the match
        shared = frame[key].notna() & frame[key].duplicated(keep=False)
        matched = np.where(shared, key, matched)
    # Key values become integer codes once (-1 for null): the rounds below then work on
    # integers, not on the 64-character hashes.
    codes = {key: pd.factorize(frame[key])[0] for key in keys}
    for _ in range(MAX_ROUNDS):
        before = label.copy()
        for key in keys:
            present = codes[key] >= 0
            smallest = np.full(codes[key].max() + 1, len(frame))
            np.minimum.at(smallest, codes[key][present], label[present])
            label[present] = smallest[codes[key][present]]
        if np.array_equal(label, before):
            break
    else:
        raise RuntimeError(f"identity resolution did not converge in {MAX_ROUNDS} rounds")
    ids = frame["customer_id"].to_numpy()
    return pd.DataFrame(
        {"customer_id": ids, "merged_customer_id": ids[label], "matched_on": matched}
    )
