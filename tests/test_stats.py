"""abauto.stats against values computed by hand (formulas in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abauto import stats


def test_test_fraction():
    assert stats.test_fraction(5) == pytest.approx(0.25)      # 1/(K-1)
    assert stats.test_fraction(3) == pytest.approx(0.5)
    assert stats.test_fraction(1, "holdout", 0.2) == pytest.approx(0.25)  # f/(1-f)
    with pytest.raises(ValueError, match=r"^K-fold needs K >= 2$"):
        stats.test_fraction(1)


def test_corrected_ttest_by_hand():
    # d = (0.10, 0.05, 0.10): mean 1/12, s² (ddof 1) = 1/1200; 3-fold CV: n_test/n_train = 1/2.
    # se² = (1/3 + 1/2) / 1200 = 1/1440  ->  t = (1/12) * sqrt(1440) = sqrt(10) = 3.16228, df 2.
    # t with 2 df: P(T > t) = (1 - t / sqrt(t² + 2)) / 2, so p = 1 - sqrt(10/12) = 0.0871290.
    r = stats.corrected_ttest([0.80, 0.90, 0.85], [0.90, 0.95, 0.95], 0.5)
    assert r.n == 3 and r.df == 2
    assert r.mean == pytest.approx(1 / 12)
    assert r.se == pytest.approx(math.sqrt(1 / 1440))
    assert r.t == pytest.approx(math.sqrt(10))
    assert r.p == pytest.approx(1 - math.sqrt(10 / 12))
    assert not r.significant(0.05) and r.significant(0.10)
    # the uncorrected paired t-test would give t = mean / sqrt(s²/n) = 5.0: the correction matters
    naive = stats.corrected_ttest([0.80, 0.90, 0.85], [0.90, 0.95, 0.95], 0.0)
    assert naive.t == pytest.approx(5.0)
    # direction: old and new swapped flips the sign only
    back = stats.corrected_ttest([0.90, 0.95, 0.95], [0.80, 0.90, 0.85], 0.5)
    assert back.t == pytest.approx(-math.sqrt(10)) and back.p == pytest.approx(r.p)


def test_corrected_ttest_skips_unpaired_folds_and_degenerate_cases():
    r = stats.corrected_ttest([0.8, None, 0.85, 0.9], [0.9, 0.7, 0.95, None], 1 / 3)
    assert r.n == 2 and r.mean == pytest.approx(0.1)
    one = stats.corrected_ttest([0.8, None], [0.9, 0.9], 1.0)
    assert one.n == 1 and one.p is None and not one.significant(0.05)
    none = stats.corrected_ttest([None, 0.8], [0.9, None], 1.0)
    assert none.n == 0 and none.p is None
    same = stats.corrected_ttest([0.8, 0.9, 0.7], [0.8, 0.9, 0.7], 0.5)
    assert same.p == 1.0 and same.t == 0.0
    shift = stats.corrected_ttest([0.8, 0.9, 0.7], [0.7, 0.8, 0.6], 0.5)  # every fold exactly -0.1
    assert shift.p == 0.0 and shift.t == -math.inf and shift.significant(0.05)
    with pytest.raises(ValueError, match=r"^paired scores differ in length \(2 vs 1 folds\)$"):
        stats.corrected_ttest([0.1, 0.2], [0.1], 0.5)


def test_mean_ranks_with_ties():
    # rows datasets, columns classifiers; rank 1 = highest score, ties share the average rank
    m = [[0.9, 0.8, 0.7],
         [0.6, 0.6, 0.9],   # ranks 2.5, 2.5, 1
         [0.5, 0.7, 0.6]]   # ranks 3, 1, 2
    assert stats.mean_ranks(m) == pytest.approx([(1 + 2.5 + 3) / 3, (2 + 2.5 + 1) / 3, (3 + 1 + 2) / 3])


def test_friedman_by_hand():
    # ranks per dataset (1,2,3) (1,3,2) (1,2,3) (2,1,3): R = (1.25, 2, 2.75), N = 4, k = 3
    # chi² = 12N/(k(k+1)) (ΣR² - k(k+1)²/4) = 4 * (13.125 - 12) = 4.5; p = exp(-4.5/2) (chi², 2 df)
    # Iman–Davenport F = (N-1) chi² / (N(k-1) - chi²) = 13.5 / 3.5
    m = np.array([[0.9, 0.8, 0.7], [0.9, 0.7, 0.8], [0.95, 0.9, 0.6], [0.8, 0.85, 0.7]])
    fr = stats.friedman(m)
    assert stats.mean_ranks(m) == pytest.approx([1.25, 2.0, 2.75])
    assert fr.statistic == pytest.approx(4.5)
    assert fr.p == pytest.approx(math.exp(-2.25))
    assert fr.iman_davenport == pytest.approx(13.5 / 3.5)
    assert (fr.n, fr.k) == (4, 3)


def test_friedman_edge_cases():
    with pytest.raises(ValueError, match=r"needs at least 3 classifiers and 2 datasets \(have 2 and 2\)$"):
        stats.friedman([[0.1, 0.2], [0.3, 0.4]])          # k = 2
    with pytest.raises(ValueError, match=r"needs at least 3 classifiers and 2 datasets \(have 3 and 1\)$"):
        stats.friedman([[0.1, 0.2, 0.3]])                  # one dataset
    tie = stats.friedman([[0.5, 0.5, 0.5], [0.7, 0.7, 0.7]])
    assert tie.statistic == 0.0 and tie.p == 1.0


def test_nemenyi_cd_by_hand():
    # Demšar (2006) section 3.2.4 example: k = 4, N = 14 -> CD = 2.569 sqrt(4*5/(6*14)) ≈ 1.25
    assert stats.nemenyi_cd(4, 14) == pytest.approx(2.569 * math.sqrt(20 / 84))
    assert stats.nemenyi_cd(4, 14) == pytest.approx(1.2536, abs=1e-4)
    assert stats.nemenyi_cd(3, 4) == pytest.approx(2.343 * math.sqrt(0.5))


def test_q_alpha_table_matches_studentized_range():
    from scipy.stats import studentized_range

    for k in (3, 7, 12, 15):
        exact = studentized_range.ppf(0.95, k, np.inf) / math.sqrt(2)
        assert stats.Q_ALPHA_005[k] == pytest.approx(exact, abs=1.5e-3)
    # other alphas are computed: Demšar Table 5(b) q_0.10 for k = 4 is 2.291
    assert stats.q_alpha(4, 0.10) == pytest.approx(2.291, abs=1e-3)


def test_cd_groups_and_letters():
    names, ranks = ["a", "b", "c", "d"], [1.0, 1.5, 3.0, 3.2]
    assert stats.cd_groups(names, ranks, 1.0) == [["a", "b"], ["c", "d"]]
    groups = stats.cd_groups(names, ranks, 1.6)   # |b-c| = 1.5 < 1.6 but |b-d| = 1.7
    assert groups == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert stats.group_letters(names, groups) == {"a": "a", "b": "ab", "c": "bc", "d": "c"}
    assert stats.cd_groups(names, ranks, 10.0) == [["a", "b", "c", "d"]]
    assert stats.cd_groups(names, ranks, 0.1) == [["a"], ["b"], ["c"], ["d"]]
