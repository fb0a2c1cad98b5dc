"""Customer segments from a per-customer feature table: a scikit-learn style estimator.

:class:`CustomerClusters` takes one row per customer (index = customer id) of numeric
features, prepares them for Euclidean distance, chooses the number of clusters from
several criteria and bootstrap stability, merges clusters too small to act on and
describes the rest in the units of the original features::

    model = CustomerClusters(random_state=0).fit(features)
    model.k_reason_        # why this k
    model.criteria_        # every criterion for every k tried
    model.profile_         # per cluster: size, share and mean of every original feature
    model.predict(older)   # an earlier snapshot, assigned to the same clusters

The modules, in the order a fit runs them:

- :mod:`.prepare`: imputation with missing-value indicators, the transformation of
  skewed features, scaling, group weights and optional PCA (``pipeline_``), and why
  categorical traits must arrive as shares;
- :mod:`.estimator`: k-means (mini-batch at scale) or Gaussian mixtures, merging small
  clusters, profiles, the 2-D view (:class:`CustomerClusters`);
- :mod:`.selection`: the criteria of every k and the rule that chooses k from them and
  from bootstrap stability.

References
----------
Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation
of cluster analysis. Journal of Computational and Applied Mathematics 20, 53-65.
Caliński, T. & Harabasz, J. (1974). A dendrite method for cluster analysis.
Communications in Statistics 3(1), 1-27.
Davies, D. L. & Bouldin, D. W. (1979). A cluster separation measure. IEEE Transactions
on Pattern Analysis and Machine Intelligence 1(2), 224-227.
Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics 6(2),
461-464.
Lange, T., Roth, V., Braun, M. L. & Buhmann, J. M. (2004). Stability-based validation of
clustering solutions. Neural Computation 16(6), 1299-1323.
Hennig, C. (2007). Cluster-wise assessment of cluster stability. Computational
Statistics & Data Analysis 52(1), 258-271.
Hubert, L. & Arabie, P. (1985). Comparing partitions. Journal of Classification 2,
193-218.
Sculley, D. (2010). Web-scale k-means clustering. Proceedings of WWW 2010, 1177-1178.
Bradley, P. S. & Fayyad, U. M. (1998). Refining initial points for k-means clustering.
Proceedings of ICML 1998, 91-99.
"""

from customer_analytics.clustering.estimator import (
    BATCH_SIZE,
    N_INIT,
    PARALLEL_FROM,
    REG_COVAR,
    CustomerClusters,
)
from customer_analytics.clustering.prepare import MISSING_INDICATOR_SHARE, SKEWNESS
from customer_analytics.clustering.selection import CRITERIA, STABLE_ARI, KChoice, choose_k

__all__ = [
    "BATCH_SIZE",
    "CRITERIA",
    "MISSING_INDICATOR_SHARE",
    "N_INIT",
    "PARALLEL_FROM",
    "REG_COVAR",
    "SKEWNESS",
    "STABLE_ARI",
    "CustomerClusters",
    "KChoice",
    "choose_k",
]
