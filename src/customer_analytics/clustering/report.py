"""What the 05_clustering notebook shows: findings in plain language, the check against
the planted personas, the features, the criteria per k, the groups in two dimensions,
what sets each group apart and how groups cut across RFM segments."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from customer_analytics.clustering.features import group_of
from customer_analytics.report import plots

#: The criteria panels, in reading order (those a method leaves empty are skipped).
CRITERIA_PANELS = ["silhouette", "calinski_harabasz", "davies_bouldin", "bic", "ari_mean"]


def clustering_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the clustering stage for the run's index page."""
    how = "fixed by the config" if found["k_fixed"] else "chosen by the criteria"
    lines = [
        f"{found['customers']:,} buyers form {found['k']} groups ({how}): {found['k_summary']}.",
        f"The groups are built from {len(found['features'])} features of value, behaviour, "
        "preferences, promotions, returns and demographics.",
    ]
    if found["merged_small_clusters"]:
        lines.append(
            f"{len(found['merged_small_clusters'])} group(s) too small to act on were merged "
            "into their nearest neighbour."
        )
    if "truth" in found:
        truth = found["truth"]
        lines.append(
            f"Against the {truth['planted_personas']} planted personas the groups score an "
            f"adjusted Rand index of {truth['ari']:.2f}; recency, frequency and monetary "
            f"value alone score {truth['ari_rfm_only']:.2f}."
        )
    if found["missing_features"]:
        lines.append("Not available in this source: " + ", ".join(found["missing_features"]) + ".")
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """The buyers, features, k and how it was chosen, stability and merges."""
    how = "fixed by parameter" if found["k_fixed"] else "chosen"
    return "\n".join(
        [
            f"as of {found['as_of']}: {found['customers']:,} buyers, "
            f"{len(found['features'])} features",
            f"k = {found['k']} ({how}), method {found['method']}",
            found["k_summary"],
            found["k_reason"],
            f"bootstrap stability (mean adjusted Rand index): {found['stability_ari']:.3f}",
            f"small groups merged: {len(found['merged_small_clusters'])}",
        ]
    )


def truth_markdown(found: dict[str, Any]) -> str:
    """The adjusted Rand index against the planted personas, beside RFM alone."""
    truth = found.get("truth")
    if not truth:
        return "A real shop: there is no planted truth to compare with."
    return (
        f"- {truth['planted_personas']} personas planted; k taken: {found['k']}.\n"
        f"- Adjusted Rand index against the planted personas: **{truth['ari']:.3f}** "
        f"({truth['customers_matched']:,} customers).\n"
        f"- The same on recency, frequency and monetary value alone: {truth['ari_rfm_only']:.3f}."
    )


def sample_markdown(found: dict[str, Any]) -> str:
    """How many buyers the groups were fitted on, why that many suffice, and the check
    that the engine assigned the fitted buyers as the fit did."""
    sample = found["fit_sample"]
    fitted, buyers = sample["customers_fitted"], found["customers"]
    newer = sample.get("newer_not_fitted")
    pool = buyers - (newer or 0)
    which = f"{pool:,} established buyers" if newer else f"{buyers:,} buyers"
    if fitted == pool:
        how = (
            f"The groups were fitted on all {which}: `clustering.fit_sample` "
            f"({sample['setting']:,}) is more than there are."
        )
    else:
        how = (
            f"The groups were fitted on {fitted:,} of the {which} "
            f"(`clustering.fit_sample`), drawn at random with the clustering seed from the "
            "buyers sorted by id, so every engine fits the same rows in the same order."
        )
    if newer:
        how += (
            f"\n- The established buyers are those whose first order is at least "
            f"{sample['established_days']} days old (`clustering.established_days`); the "
            f"{newer:,} newer buyers were not fitted on. Their recency, tenure and single "
            "order are a newcomer's whatever their persona, and enough of them would form a "
            "group of newcomers in place of a persona; they are assigned to the nearest "
            "persona like everyone else."
        )
    return (
        f"- {how}\n"
        "- Every buyer was then assigned to the nearest group on the engine, which "
        f"gave {sample['assignment_agreement']:.2%} of the fitted buyers the group the fit "
        "gave them.\n"
        "- A sample suffices when the k search on it finds the groups it finds on "
        "everyone: on the default shop's 17,064 established buyers a fit on 10,000 of them agrees "
        "with the fit on all at an adjusted Rand index of at least 0.95, with the same k "
        "(`make test` checks it); on 5,000 the search split them into 9 groups."
    )


def feature_summary(features: pd.DataFrame, used: list[str]) -> pd.DataFrame:
    """Mean, median, minimum and maximum of every feature used, by feature group."""
    columns = pd.Series(used)
    return (
        features[columns]
        .describe(percentiles=[0.5])
        .T[["mean", "50%", "min", "max"]]
        .assign(group=columns.map(group_of).to_numpy())
        .reset_index(names="feature")
        .set_index(["group", "feature"])
        .sort_index()
    )


def missing_markdown(missing: dict[str, str]) -> str:
    """The features this source cannot give, each with the reason."""
    if not missing:
        return "Every feature group is available in this source."
    return "\n".join(f"- **{name}**: {why}" for name, why in missing.items())


def criteria_figure(criteria: pd.DataFrame, k: int) -> plt.Figure:
    """Each criterion against k, the k taken dashed."""
    criteria = criteria.set_index("k")
    panels = [c for c in CRITERIA_PANELS if c in criteria and criteria[c].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, column in zip(axes[0], panels, strict=True):
        ax.plot(criteria.index, criteria[column], marker="o", color=plots.PALETTE[0])
        ax.axvline(k, color=plots.PALETTE[1], linestyle="--")
        ax.set_title(
            "stability (bootstrap ARI)" if column == "ari_mean" else column.replace("_", " ")
        )
        ax.set_xlabel("k")
    fig.suptitle(f"Criteria per k (dashed: the k taken, {k})")
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
    ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
    ax.set_title("Customers on the first two principal components")
    ax.legend(title="group", markerscale=3)
    return fig


def profiles_figure(zscores: pd.DataFrame) -> plt.Figure:
    """Each feature's mean z-score per group: red above the shop, blue below."""
    zscores = zscores.set_index("cluster")
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * zscores.shape[1]), 0.5 * len(zscores) + 2))
    sns.heatmap(
        zscores, cmap="RdBu_r", center=0, vmin=-2, vmax=2, ax=ax, cbar_kws={"label": "z-score"}
    )
    ax.set_ylabel("group")
    ax.set_title("Cluster profiles")
    return fig
