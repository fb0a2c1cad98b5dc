"""The synthetic shop's marketing touches and what they add to purchases.

The mechanism, planted so that attribution has a truth to meet (``marketing.yaml``):

* The purchases drawn by :mod:`.people` are what customers buy with no marketing at all
  (their underlying intent). Marketing only adds orders.
* Campaigns on e-mail, SMS and push go out on a fixed weekday every few weeks, each to a
  random share of the customers the channel can reach (marketing consent for e-mail and
  SMS, the app for push); in-app messages are triggered by a cart left in the app.
* A customer about to buy anyway (an order within ``intent_days``) opens and clicks
  more (``intent``), and leaves the carts that trigger in-app messages: intent raises both
  the chance of being touched and of buying, so last-touch credits channels with orders
  they did not cause.
* Each message delivered to an alive customer brings an extra order within
  ``window_days`` with probability ``lift`` times the customer's purchase rate over the
  average (clipped): the channel's planted incremental hazard. Such an order was usually
  clicked through. Paid ads bring clicks of their own, some of which buy.
* One channel has a randomised holdout, never messaged from ``start_week``; one
  channel's lift fades in the last weeks.

Times are weeks since the window's start, as in :mod:`.people`. Only this module's own
random streams are drawn, so every earlier draw of the shop is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
DAY = 1.0 / 7.0
HOUR = DAY / 24.0


def load() -> dict:
    """The marketing plan (``marketing.yaml``)."""
    return yaml.safe_load((HERE / "marketing.yaml").read_text())


@dataclass(frozen=True)
class Touches:
    """What the shop's marketing did, up to the truth's horizon.

    ``messages``: customer, t, channel, campaign_id, opened, clicked (times or NaN),
    cost, caused (the message brought an extra order). ``ads``: paid-ad clicks
    (customer, t, campaign_id, caused). ``extra``: the orders marketing brought
    (customer, t, channel, campaign_id, clicked: whose session the touch opened).
    ``holdout``: customer, arm, t (when assigned).
    """

    messages: pd.DataFrame
    ads: pd.DataFrame
    extra: pd.DataFrame
    holdout: pd.DataFrame


def touches(
    rng: np.random.Generator,
    spec: dict,
    lam: np.ndarray,
    signup: np.ndarray,
    death: np.ndarray,
    buys: np.ndarray,
    consent: np.ndarray,
    app_share: np.ndarray,
    purchases: pd.DataFrame,
    carts: pd.DataFrame,
    tests: pd.DataFrame,
    window: float,
    horizon: float,
) -> Touches:
    """Draw every message, ad click and the orders they bring, up to ``horizon`` weeks.

    Parameters
    ----------
    rng
        This module's random stream.
    spec
        :func:`load`'s plan.
    lam, signup, death, buys
        Per customer: purchase rate per week, sign-up and dropout week (``inf`` while
        alive), and whether they ever buy (prospects do not).
    consent, app_share
        Per customer: marketing consent, and the share of their orders placed in the app.
    purchases
        The orders with no marketing (customer, t): who is about to buy when.
    carts
        Carts left in the app (customer, t): what triggers in-app messages.
    tests
        Each customer's experiment windows (customer, start, end): the contact policy
        sends them no other message then, so campaigns do not blur the experiments.
    window, horizon
        The data's end and the truth's horizon, in weeks.
    """
    reach = {"consent": consent, "app": app_share >= spec["app_share"]}
    resp = np.where(buys, np.clip(lam / lam[buys].mean(), *spec["responsiveness"]), 0.0)
    hold = spec["holdout"]
    held = reach[spec["channels"][hold["channel"]]["reach"]] & (
        rng.random(lam.size) < hold["share"]
    )
    eligible = np.flatnonzero(reach[spec["channels"][hold["channel"]]["reach"]])
    holdout = pd.DataFrame(
        {"customer": eligible, "arm": np.where(held[eligible], hold["arms"][1], hold["arms"][0]),
         "t": np.maximum(signup[eligible], hold["start_week"])}
    )  # fmt: skip
    holdout = holdout[holdout["t"] < window]
    parts = []
    for channel, c in spec["channels"].items():
        if c.get("trigger") == "abandoned_cart":
            pick = carts[(rng.random(len(carts)) < c["trigger_share"])]
            pick = pick[reach[c["reach"]][pick["customer"].to_numpy()]]
            t = pick["t"].to_numpy() + rng.uniform(1, 2, len(pick)) * HOUR
            who = pick["customer"].to_numpy()
            campaign = np.full(len(pick), f"{channel}-cart")
        else:
            who, t, campaign = _campaigns(rng, channel, c, reach[c["reach"]], signup, horizon)
        if channel == hold["channel"]:
            keep = ~(held[who] & (t >= np.maximum(signup[who], hold["start_week"])))
            who, t, campaign = who[keep], t[keep], campaign[keep]
        parts.append(pd.DataFrame({"customer": who, "t": t, "channel": channel,
                                   "campaign_id": campaign}))  # fmt: skip
    messages = pd.concat(parts, ignore_index=True)
    messages = messages[~_in_test(messages, tests)].sort_values(["t", "customer"], kind="stable")
    messages = _respond(rng, spec, messages.reset_index(drop=True), resp, death, purchases, window)
    ads = _ads(rng, spec, signup, resp, death, horizon)
    extra = _extra_orders(rng, spec, messages, ads)
    return Touches(messages, ads, extra, holdout.reset_index(drop=True))


def _in_test(messages: pd.DataFrame, tests: pd.DataFrame) -> np.ndarray:
    """Whether each message falls in one of its customer's experiment windows."""
    joined = messages.reset_index(drop=True).reset_index().merge(tests, on="customer")
    hit = joined.loc[(joined["t"] >= joined["start"]) & (joined["t"] < joined["end"]), "index"]
    return np.isin(np.arange(len(messages)), hit.to_numpy())


def _campaigns(
    rng: np.random.Generator,
    channel: str,
    c: dict,
    reach: np.ndarray,
    signup: np.ndarray,
    horizon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A campaign every ``every_weeks`` on its weekday, each to a random share of the
    reachable customers signed up by then; sent over an hour from ``hour``."""
    starts = np.arange(c["weekday"] * DAY + c["hour"] * HOUR, horizon, c["every_weeks"])
    reachable = np.flatnonzero(reach)
    chosen = (rng.random((starts.size, reachable.size)) < c["audience"]) & (
        signup[reachable][None, :] < starts[:, None]
    )
    k, i = np.nonzero(chosen)
    t = starts[k] + rng.uniform(0, 1, k.size) * HOUR
    return reachable[i], t, np.array([f"{channel}-{int(w)}" for w in starts])[k]


def _respond(
    rng: np.random.Generator,
    spec: dict,
    m: pd.DataFrame,
    resp: np.ndarray,
    death: np.ndarray,
    purchases: pd.DataFrame,
    window: float,
) -> pd.DataFrame:
    """Whether each message brings an order, and its opens and clicks."""
    who, t = m["customer"].to_numpy(), m["t"].to_numpy()
    channels = spec["channels"]
    lift = m["channel"].map({k: v["lift"] for k, v in channels.items()}).to_numpy()
    fade = spec["fade"]
    fading = (m["channel"].to_numpy() == fade["channel"]) & (t >= window - fade["weeks_before_end"])
    lift = np.where(fading, lift * fade["factor"], lift)
    alive = death[who] > t
    caused = rng.random(len(m)) < lift * resp[who] * alive
    intent = np.where(_about_to_buy(purchases, who, t, spec["intent_days"] * DAY),
                      m["channel"].map({k: v["intent"] for k, v in channels.items()}), 1.0)  # fmt: skip
    tracked = m["channel"].map({k: "open" in v for k, v in channels.items()}).to_numpy()
    p_open = np.where(
        tracked, m["channel"].map({k: v.get("open", 1.0) for k, v in channels.items()}), 1.0
    )
    p_click = m["channel"].map({k: v["click"] for k, v in channels.items()}).to_numpy()
    opened = rng.random(len(m)) < np.minimum(p_open * intent, 0.95)
    clicked = opened & (rng.random(len(m)) < np.minimum(p_click * intent, 0.95))
    clicked = np.where(caused, rng.random(len(m)) < spec["clicked_when_caused"], clicked)
    opened = (opened | clicked) & tracked
    open_t = t + rng.exponential(2.0, len(m)) * HOUR
    click_t = np.where(tracked, open_t, t) + rng.exponential(0.1, len(m)) * HOUR
    cost = m["channel"].map({k: v["cost"] for k, v in channels.items()}).to_numpy()
    return m.assign(opened=np.where(opened, open_t, np.nan), clicked=np.where(clicked, click_t, np.nan),
                    cost=cost, caused=caused)  # fmt: skip


def _about_to_buy(
    purchases: pd.DataFrame, who: np.ndarray, t: np.ndarray, within: float
) -> np.ndarray:
    """Whether each (customer, time) has a purchase in the next ``within`` weeks."""
    return next_purchase(purchases, who, t, within) >= 0


def next_purchase(
    purchases: pd.DataFrame, who: np.ndarray, t: np.ndarray, within: float
) -> np.ndarray:
    """The row of ``purchases`` (customer, t) that is each (customer, time)'s next purchase
    within ``within`` weeks, or -1 (also where the time is NaN)."""
    order = np.lexsort((purchases["t"].to_numpy(), purchases["customer"].to_numpy()))
    pc = purchases["customer"].to_numpy()[order]
    pt = purchases["t"].to_numpy()[order]
    # One sort key: customer first, then time (times stay below 1e4 weeks).
    key = pc * 1e4 + pt
    at = np.searchsorted(key, who * 1e4 + np.nan_to_num(t, nan=1e9), side="right")
    inside = at < key.size
    nxt = np.where(inside, at, 0)
    hit = inside & (pc[nxt] == who) & (pt[nxt] - t < within)
    return np.where(hit, order[nxt], -1)


def _ads(
    rng: np.random.Generator,
    spec: dict,
    signup: np.ndarray,
    resp: np.ndarray,
    death: np.ndarray,
    horizon: float,
) -> pd.DataFrame:
    """Paid-ad clicks, a Poisson stream per customer from sign-up, and which buy."""
    ads = spec["paid_ads"]
    weeks = np.maximum(horizon - signup, 0.0)
    k = rng.poisson(ads["clicks_per_week"] * weeks)
    who = np.repeat(np.arange(signup.size), k)
    t = signup[who] + rng.uniform(0, 1, who.size) * weeks[who]
    caused = rng.random(who.size) < ads["lift"] * resp[who] * (death[who] > t)
    month = (t // 4).astype(int)
    frame = pd.DataFrame({"customer": who, "t": t, "campaign_id": np.char.add("ads-", month.astype(str)),
                          "caused": caused})  # fmt: skip
    return frame.sort_values(["t", "customer"], kind="stable", ignore_index=True)


def _extra_orders(
    rng: np.random.Generator, spec: dict, messages: pd.DataFrame, ads: pd.DataFrame
) -> pd.DataFrame:
    """The orders marketing brought: soon after a click, or within the window of a send."""
    m = messages[messages["caused"]]
    clicked = m["clicked"].notna().to_numpy()
    touched = np.where(clicked, m["clicked"].to_numpy(), m["t"].to_numpy())
    # Bought in the click's session, or some time in the window after the message.
    delay = np.where(clicked & (rng.random(len(m)) < 0.6), rng.uniform(0.05, 0.5, len(m)) * HOUR,
                     rng.uniform(0, spec["window_days"], len(m)) * DAY)  # fmt: skip
    a = ads[ads["caused"]]
    frame = pd.concat(
        [
            pd.DataFrame({"customer": m["customer"].to_numpy(), "t": touched + delay,
                          "channel": m["channel"].to_numpy(), "campaign_id": m["campaign_id"].to_numpy(),
                          "clicked": clicked & (delay < HOUR)}),
            pd.DataFrame({"customer": a["customer"].to_numpy(), "t": a["t"].to_numpy() + rng.uniform(0.05, 0.5, len(a)) * HOUR,
                          "channel": "paid_ads", "campaign_id": a["campaign_id"].to_numpy(), "clicked": True}),
        ],
        ignore_index=True,
    )  # fmt: skip
    return frame.sort_values(["t", "customer"], kind="stable", ignore_index=True)


def sources(rng: np.random.Generator, spec: dict, n: int) -> np.ndarray:
    """The traffic source of ``n`` sessions no message brought."""
    names = list(spec["sources"])
    weights = np.array([spec["sources"][k] for k in names], dtype=float)
    return np.array(names)[rng.choice(len(names), n, p=weights / weights.sum())]
