"""What the 05_clustering notebook shows: findings in plain language, the check against
the planted personas, the features, the criteria per k, the groups in two dimensions,
what sets each group apart and how groups cut across RFM segments."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from pandas.io.formats.style import Styler

from customer_analytics.clustering.features import group_of
from customer_analytics.i18n import N_, _, formats
from customer_analytics.privacy import fewer_than, suppress_small_cells
from customer_analytics.report import plots
from customer_analytics.rfm.segments import SegmentScheme

#: The criteria panels, in reading order (those a method leaves empty are skipped).
CRITERIA_PANELS = ["silhouette", "calinski_harabasz", "davies_bouldin", "bic", "ari_mean"]
#: The criteria by their column and by their name in ``k_choice["votes"]``.
CRITERIA_NAMES = {
    "silhouette": N_("silhouette"),
    "calinski_harabasz": N_("Calinski–Harabasz"),
    "davies_bouldin": N_("Davies–Bouldin"),
    "bic": N_("BIC"),
    "ari_mean": N_("stability (bootstrap ARI)"),
    "Calinski–Harabasz": N_("Calinski–Harabasz"),
    "Davies–Bouldin": N_("Davies–Bouldin"),
    "BIC": N_("BIC"),
}
GROUP_NAMES = {
    "value": N_("value"),
    "behaviour": N_("behaviour"),
    "preference": N_("preferences"),
    "promotion": N_("promotions"),
    "returns": N_("returns and reviews"),
    "demographics": N_("demographics"),
}


def _ks(ks: list[int]) -> str:
    return _(", ").join(str(k) for k in ks)


def k_summary(found: dict[str, Any]) -> str:
    """How k was taken, in one sentence of the current language (from ``k_choice``)."""
    facts = found.get("k_choice") or {}
    if not facts:  # a run from before k_choice was recorded
        return found["k_summary"]
    k = facts["k"]
    if facts["fixed"]:
        text = _("k={k}, fixed by parameter").format(k=k)
    else:
        voters = _(", ").join(_(CRITERIA_NAMES[n]) for n, v in facts["votes"].items() if v == k)
        scopes = {
            "stable": _("among the stable k ({ks})").format(ks=_ks(facts["stable"])),
            "all": _("among all k (stability not computed)"),
            "none_stable": _("among all k, none of them stable"),
        }
        text = _("k={k}, chosen by {criteria} {scope}").format(
            k=k, criteria=voters, scope=scopes[facts["scope"]]
        )
        if facts["tied"]:
            text += _(", as the criteria split between k={ks}").format(ks=_ks(facts["tied"]))
    if facts.get("ari_mean") is not None:
        text += _("; bootstrap stability (ARI) {ari}").format(
            ari=formats.number(facts["ari_mean"], 2)
        )
    return text


def clustering_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the clustering stage for the run's index page."""
    how = _("fixed by the config") if found["k_fixed"] else _("chosen by the criteria")
    lines = [
        _("{buyers} buyers form {k} groups ({how}): {summary}.").format(
            buyers=formats.number(found["customers"]),
            k=found["k"],
            how=how,
            summary=k_summary(found),
        ),
        _(
            "The groups are built from {n} features of value, behaviour, preferences, "
            "promotions, returns and demographics."
        ).format(n=len(found["features"])),
    ]
    if found["merged_small_clusters"]:
        lines.append(
            _("{n} group(s) too small to act on were merged into their nearest neighbour.").format(
                n=len(found["merged_small_clusters"])
            )
        )
    if "truth" in found:
        truth = found["truth"]
        lines.append(
            _(
                "Against the {planted} planted personas the groups score an adjusted Rand "
                "index of {ari}; recency, frequency and monetary value alone score {rfm}."
            ).format(
                planted=truth["planted_personas"],
                ari=formats.number(truth["ari"], 2),
                rfm=formats.number(truth["ari_rfm_only"], 2),
            )
        )
    if found["missing_features"]:
        lines.append(
            _("Not available in this source: {features}.").format(
                features=_(", ").join(f"`{name}`" for name in found["missing_features"])
            )
        )
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """The buyers, features, k and how it was chosen, stability and merges (markdown)."""
    facts = found.get("k_choice") or {}
    how = _("fixed by parameter") if found["k_fixed"] else _("chosen")
    lines = [
        _("as of {date}: {buyers} buyers, {n} features").format(
            date=formats.date(found["as_of"]),
            buyers=formats.number(found["customers"]),
            n=len(found["features"]),
        ),
        _("k = {k} ({how}), method `{method}`").format(
            k=found["k"], how=how, method=found["method"]
        ),
        k_summary(found),
    ]
    for name, k in (facts.get("votes") or {}).items():
        if k != found["k"]:
            lines.append(
                _("{criterion} preferred k={k}").format(criterion=_(CRITERIA_NAMES[name]), k=k)
            )
    within = facts.get("within")
    if within:
        lines.append(
            _(
                "the silhouette's choice is the smallest k within one standard error of its "
                "best (k={best}: {best_value}; k={k}: {value}; standard error of the "
                "difference {se})"
            ).format(
                **{
                    key: formats.number(v, 4) if isinstance(v, float) else v
                    for key, v in within.items()
                }
            )
        )
    if facts.get("unstable"):
        shown = _(", ").join(
            _("k={k} (ARI {ari})").format(k=k, ari=formats.number(ari, 2))
            for k, ari in facts["unstable"].items()
        )
        lines.append(_("unstable: {ks}").format(ks=shown))
    lines += [
        _("bootstrap stability (mean adjusted Rand index): {ari}").format(
            ari=formats.number(found["stability_ari"], 3)
        ),
        _("small groups merged: {n}").format(n=len(found["merged_small_clusters"])),
    ]
    return "\n".join(f"- {line}" for line in lines)


def truth_markdown(found: dict[str, Any]) -> str:
    """The adjusted Rand index against the planted personas, beside RFM alone."""
    truth = found.get("truth")
    if not truth:
        return _("A real shop: there is no planted truth to compare with.")
    return "\n".join(
        [
            _("- {planted} personas planted; k taken: {k}.").format(
                planted=truth["planted_personas"], k=found["k"]
            ),
            _(
                "- Adjusted Rand index against the planted personas: **{ari}** "
                "({customers} customers)."
            ).format(
                ari=formats.number(truth["ari"], 3),
                customers=formats.number(truth["customers_matched"]),
            ),
            _("- The same on recency, frequency and monetary value alone: {ari}.").format(
                ari=formats.number(truth["ari_rfm_only"], 3)
            ),
        ]
    )


def sample_markdown(found: dict[str, Any]) -> str:
    """How many buyers the groups were fitted on, why that many suffice, and the check
    that the engine assigned the fitted buyers as the fit did."""
    sample = found["fit_sample"]
    fitted, buyers = sample["customers_fitted"], found["customers"]
    newer = sample.get("newer_not_fitted")
    pool = buyers - (newer or 0)
    n = formats.number
    if fitted == pool:
        how = _(
            "The groups were fitted on all {pool} {which}: `clustering.fit_sample` "
            "({setting}) is more than there are."
        )
    else:
        how = _(
            "The groups were fitted on {fitted} of the {pool} {which} "
            "(`clustering.fit_sample`), drawn at random with the clustering seed from the "
            "buyers sorted by id, so every engine fits the same rows in the same order."
        )
    which = _("established buyers") if newer else _("buyers")
    lines = [how.format(pool=n(pool), which=which, setting=n(sample["setting"]), fitted=n(fitted))]
    if newer:
        lines.append(
            _(
                "The established buyers are those whose first order is at least {days} days "
                "old (`clustering.established_days`); the {newer} newer buyers were not "
                "fitted on. Their recency, tenure and single order are a newcomer's whatever "
                "their persona, and enough of them would form a group of newcomers in place "
                "of a persona; they are assigned to the nearest persona like everyone else."
            ).format(days=sample["established_days"], newer=n(newer))
        )
    lines += [
        _(
            "Every buyer was then assigned to the nearest group on the engine, which gave "
            "{agreement} of the fitted buyers the group the fit gave them."
        ).format(agreement=formats.percent(sample["assignment_agreement"], 2)),
        _(
            "A sample suffices when the k search on it finds the groups it finds on "
            "everyone: on the default shop's 17,064 established buyers a fit on 10,000 of "
            "them agrees with the fit on all at an adjusted Rand index of at least 0.95, with "
            "the same k (`make test` checks it)."
        ),
    ]
    return "\n".join(f"- {line}" for line in lines)


def feature_summary(features: pd.DataFrame, used: list[str]) -> Styler:
    """Mean, median, minimum and maximum of every feature used, by feature group."""
    columns = pd.Series(used)
    table = (
        features[columns]
        .describe(percentiles=[0.5])
        .T[["mean", "50%", "min", "max"]]
        .assign(
            group=columns.map(lambda c: _(GROUP_NAMES.get(group_of(c)) or N_("other"))).to_numpy()
        )
        .reset_index(names="feature")
        .set_index(["group", "feature"])
        .sort_index()
    )
    names = {"mean": _("mean"), "50%": _("median"), "min": _("lowest"), "max": _("highest")}
    table = table.rename(columns=names).rename_axis(index=[_("feature group"), _("feature")])
    return (
        table.style.format(lambda v: formats.number(v, 3))
        .set_table_attributes('translate="no"')
        .set_caption(_("Feature names are the columns of the features table."))
    )


def criteria_table(criteria: pd.DataFrame) -> Styler:
    """Every criterion of every k tried."""
    names = {
        "smallest_share": _("smallest group's share"),
        "inertia": _("inertia"),
        "ari_min": _("lowest bootstrap ARI"),
    }
    names |= {column: _(CRITERIA_NAMES[column]) for column in CRITERIA_PANELS}
    table = criteria.set_index("k").rename(columns=names)
    return table.style.format(lambda v: formats.number(v, 3), na_rep=formats.MISSING)


def missing_markdown(missing: dict[str, str]) -> str:
    """The features this source cannot give, each with the reason (a real source's
    reasons stay as the feature code wrote them)."""
    if not missing:
        return _("Every feature group is available in this source.")
    return "\n".join(f"- **`{name}`**: {why}" for name, why in missing.items())


def crosstab_table(crosstab: pd.DataFrame, min_group: int, scheme: SegmentScheme) -> Styler:
    """Customers per group and RFM segment, cells under the privacy minimum masked."""
    shown = suppress_small_cells(crosstab, min_group).rename(columns=scheme.label)
    shown = shown.rename_axis(index=_("group"), columns=_("RFM segment"))
    return shown.style.format(formats.number, na_rep=fewer_than(min_group))


def criteria_figure(criteria: pd.DataFrame, k: int) -> plt.Figure:
    """Each criterion against k, the k taken dashed."""
    criteria = criteria.set_index("k")
    panels = [c for c in CRITERIA_PANELS if c in criteria and criteria[c].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, column in zip(axes[0], panels, strict=True):
        ax.plot(criteria.index, criteria[column], marker="o", color=plots.PALETTE[0])
        ax.axvline(k, color=plots.PALETTE[1], linestyle="--")
        ax.set_title(_(CRITERIA_NAMES[column]))
        ax.set_xlabel("k")
    fig.suptitle(_("Criteria per k (dashed: the k taken, {k})").format(k=k))
    fig.tight_layout()
    return fig


def embedding_figure(embedding: pd.DataFrame, explained: list[float]) -> plt.Figure:
    """Customers on the first two principal components, coloured by group."""
    fig, ax = plt.subplots(figsize=(7, 5.5))
    sns.scatterplot(
        data=embedding,
        x="pc1",
        y="pc2",
        hue="cluster",
        palette=plots.colours(embedding["cluster"].nunique()),
        s=6,
        alpha=0.5,
        linewidth=0,
        ax=ax,
    )
    share = _("PC{n} ({share} of variance)")
    ax.set_xlabel(share.format(n=1, share=formats.percent(explained[0], 0)))
    ax.set_ylabel(share.format(n=2, share=formats.percent(explained[1], 0)))
    ax.set_title(_("Customers on the first two principal components"))
    ax.legend(title=_("group"), markerscale=3)
    return fig


def profiles_figure(zscores: pd.DataFrame) -> plt.Figure:
    """Each feature's mean z-score per group: red above the shop, blue below."""
    zscores = zscores.set_index("cluster")
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * zscores.shape[1]), 0.5 * len(zscores) + 2))
    sns.heatmap(
        zscores, cmap="RdBu_r", center=0, vmin=-2, vmax=2, ax=ax,
        cbar_kws={"label": _("z-score")},
    )  # fmt: skip
    ax.set_ylabel(_("group"))
    ax.set_title(_("Cluster profiles"))
    return fig
