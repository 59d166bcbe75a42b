"""Statistics for comparing leaderboards.

* :func:`corrected_ttest` — the Nadeau & Bengio (2003) corrected resampled t-test for paired
  scores over cross-validation folds. The folds' training parts overlap, so the naive paired
  t-test underestimates the variance of the mean difference; the correction replaces ``1/k`` by
  ``1/k + n_test/n_train`` (for K-fold CV ``n_test/n_train = 1/(K-1)``).
* :func:`friedman`, :func:`mean_ranks`, :func:`nemenyi_cd`, :func:`cd_groups` — the Friedman
  test over several datasets with the Nemenyi post-hoc critical difference (Demšar 2006,
  "Statistical comparisons of classifiers over multiple data sets", JMLR 7).

Every score here is "greater is better" (scikit-learn scorers are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _st

# q_alpha for the Nemenyi test at alpha = 0.05: studentized range quantile (infinite degrees of
# freedom) divided by sqrt(2), for k = 2..15 classifiers. k = 2..10 agree with Demšar (2006),
# Table 5(a); the rest were computed with scipy.stats.studentized_range.ppf(0.95, k, inf) / sqrt(2).
Q_ALPHA_005 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164,
               11: 3.219, 12: 3.268, 13: 3.313, 14: 3.354, 15: 3.391}


def test_fraction(k: int, outer: str = "kfold", holdout_fraction: float | None = None) -> float:
    """``n_test / n_train`` of one outer fold: ``1/(K-1)`` for K-fold, ``f/(1-f)`` for a holdout."""
    if outer == "holdout":
        f = holdout_fraction or 0.2
        return f / (1.0 - f)
    if k < 2:
        raise ValueError("K-fold needs K >= 2")
    return 1.0 / (k - 1)


@dataclass
class TTest:
    """Result of a corrected resampled t-test on ``new - old`` differences."""

    n: int                  # paired folds used
    mean: float             # mean difference (new - old)
    se: float | None        # corrected standard error of the mean difference
    t: float | None
    df: int | None
    p: float | None         # two-sided; None when fewer than 2 paired folds

    def significant(self, alpha: float) -> bool:
        return self.p is not None and self.p < alpha


def corrected_ttest(old: Sequence[float | None], new: Sequence[float | None], test_train_ratio: float) -> TTest:
    """Nadeau–Bengio corrected resampled paired t-test of ``new`` against ``old``.

    ``old[i]`` and ``new[i]`` are scores on the same fold ``i``; folds where either is ``None``
    are left out. With ``d_i = new_i - old_i``, ``n`` paired folds and sample variance ``s²``
    (ddof 1): ``t = mean(d) / sqrt((1/n + test_train_ratio) * s²)`` with ``n - 1`` degrees of
    freedom, two-sided p. When every difference is equal (``s² = 0``) the test is degenerate:
    ``p = 1`` if they are all zero, else ``t = ±inf`` and ``p = 0``.
    """
    if len(old) != len(new):
        raise ValueError(f"paired scores differ in length ({len(old)} vs {len(new)} folds)")
    d = np.array([b - a for a, b in zip(old, new) if a is not None and b is not None], dtype=float)
    n = len(d)
    if n == 0:
        return TTest(0, math.nan, None, None, None, None)
    mean = float(d.mean())
    if n < 2:
        return TTest(n, mean, None, None, None, None)
    var = float(d.var(ddof=1))
    se = math.sqrt((1.0 / n + test_train_ratio) * var)
    df = n - 1
    if se == 0.0 or var <= 1e-24:
        if abs(mean) <= 1e-12:
            return TTest(n, mean, 0.0, 0.0, df, 1.0)
        return TTest(n, mean, 0.0, math.copysign(math.inf, mean), df, 0.0)
    t = mean / se
    p = float(2.0 * _st.t.sf(abs(t), df))
    return TTest(n, mean, se, float(t), df, p)


def mean_ranks(matrix: np.ndarray) -> np.ndarray:
    """Average rank of each column (classifier) over the rows (datasets); rank 1 = best score,
    ties share the average of their ranks."""
    matrix = np.asarray(matrix, dtype=float)
    ranks = np.vstack([_st.rankdata(-row, method="average") for row in matrix])
    return ranks.mean(axis=0)


@dataclass
class Friedman:
    statistic: float        # Friedman chi-square
    p: float
    iman_davenport: float   # F_F = (N-1) chi2 / (N(k-1) - chi2), less conservative (Demšar 2006)
    p_iman_davenport: float
    n: int                  # datasets
    k: int                  # classifiers


def friedman(matrix: np.ndarray) -> Friedman:
    """Friedman test on an ``N datasets x k classifiers`` score matrix (needs k >= 3, N >= 2)."""
    matrix = np.asarray(matrix, dtype=float)
    n, k = matrix.shape
    if k < 3 or n < 2:
        raise ValueError(f"the Friedman test needs at least 3 classifiers and 2 datasets (have {k} and {n})")
    if np.all(matrix == matrix[:, :1]):  # every dataset a complete tie: nothing differs
        return Friedman(0.0, 1.0, 0.0, 1.0, n, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2, p = _st.friedmanchisquare(*matrix.T)
    chi2, p = float(chi2), float(p)
    if not math.isfinite(chi2):
        chi2, p = 0.0, 1.0
    denom = n * (k - 1) - chi2
    if denom <= 0:
        ff, pf = math.inf, 0.0
    else:
        ff = (n - 1) * chi2 / denom
        pf = float(_st.f.sf(ff, k - 1, (k - 1) * (n - 1)))
    return Friedman(chi2, p, float(ff), pf, n, k)


def q_alpha(k: int, alpha: float = 0.05) -> float:
    """Nemenyi critical value: studentized range quantile (df = inf) / sqrt(2)."""
    if k < 2:
        raise ValueError("the Nemenyi test needs at least 2 classifiers")
    if alpha == 0.05 and k in Q_ALPHA_005:
        return Q_ALPHA_005[k]
    return float(_st.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical difference of mean ranks: ``CD = q_alpha * sqrt(k (k + 1) / (6 N))``."""
    return q_alpha(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


def cd_groups(names: Sequence[str], ranks: Sequence[float], cd: float) -> list[list[str]]:
    """Maximal groups of classifiers whose mean ranks lie within ``cd`` of each other (the bars of a
    critical-difference diagram), best group first. Two classifiers are not significantly
    different when ``|rank_a - rank_b| < cd``; a classifier may belong to several groups."""
    order = sorted(range(len(names)), key=lambda i: (ranks[i], names[i]))
    groups: list[tuple[int, int]] = []
    for a in range(len(order)):
        b = a
        while b + 1 < len(order) and ranks[order[b + 1]] - ranks[order[a]] < cd:
            b += 1
        if not groups or b > groups[-1][1]:
            groups.append((a, b))
    return [[names[order[i]] for i in range(a, b + 1)] for a, b in groups]


def group_letters(names: Sequence[str], groups: list[list[str]]) -> dict[str, str]:
    """Compact letter display: families sharing a letter are not significantly different."""
    letters = {n: "" for n in names}
    for i, g in enumerate(groups):
        letter = chr(ord("a") + i) if i < 26 else f"[{i}]"
        for n in g:
            letters[n] += letter
    return letters
