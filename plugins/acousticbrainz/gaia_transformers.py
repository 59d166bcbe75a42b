"""gaia's preprocessing presets (classification template 2.1-beta2) as one scikit-learn
transformer, fitted on training data only.

Every preset first runs gaia's ``cleaner`` (which gaia applies when merging the dataset): a
descriptor is dropped when any training value of it is NaN/Inf, or when every dimension of it
spans less than 1e-7. Then, per preset::

    raw:          (nothing more; string descriptors become integer codes, since estimators need numbers)
    basic:        remove UNUSED; enumerate
    lowlevel:     remove UNUSED; enumerate; select 'lowlevel*'
    nobands:      remove UNUSED; enumerate; remove BANDS
    normalized:   remove UNUSED; enumerate; normalize
    gaussianized: remove UNUSED; enumerate; normalize; gaussianize 'lowlevel.*'
    mfcc:         remove UNUSED; enumerate; select 'lowlevel.mfcc*'

Patterns are gaia's (:mod:`.patterns`) on descriptor names; a column
``lowlevel.mfcc.mean.3`` belongs to the descriptor ``lowlevel.mfcc.mean``.

- ``enumerate``: every string (categorical) column becomes an integer code, fed to the
  classifier as an ordinal number as gaia feeds enums to libsvm. Codes follow the sorted training
  values (gaia numbers them in order of appearance); a value unseen in training gets -1.
- ``normalize`` (gaia's defaults ``type: range, independent: false``): min-max to [0, 1] with
  one minimum and maximum per descriptor (over all its dimensions), on real descriptors only.
- ``gaussianize``: rank-based, per dimension: ``erfinv(2 * rank / n - 1)`` where ``rank`` is the
  number of training values <= x (clamped to [1, n - 1]) among at most 10000 training values
  (gaia's ``distributionSize``; larger sets are subsampled every ceil(n/10000)-th row).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.special import erfinv
from sklearn.base import BaseEstimator, TransformerMixin

from .patterns import descriptor_of, select

UNUSED = ("metadata.*", "*dmean*", "*dvar*", "*.min", "*.max", "*cov",
          "tonal.thpcp",                          # division by zero
          "lowlevel.spectral_energyband_high.*",  # 0 for low sample rates
          "lowlevel.silence_rate*")
BANDS = ("barkbands*", "*energyband*", "melbands*", "erbbands*")
MIN_RANGE = 1e-7
DISTRIBUTION_SIZE = 10000

PRESETS: dict[str, tuple[tuple, ...]] = {
    "raw": (),
    "basic": (("remove", UNUSED), ("enumerate",)),
    "lowlevel": (("remove", UNUSED), ("enumerate",), ("select", ("lowlevel*",))),
    "nobands": (("remove", UNUSED), ("enumerate",), ("remove", BANDS)),
    "normalized": (("remove", UNUSED), ("enumerate",), ("normalize",)),
    "gaussianized": (("remove", UNUSED), ("enumerate",), ("normalize",), ("gaussianize", ("lowlevel.*",))),
    "mfcc": (("remove", UNUSED), ("enumerate",), ("select", ("lowlevel.mfcc*",))),
}


def _columns(X, names: Sequence[str]) -> list[str]:
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    if names and len(names) == X.shape[1]:
        return list(names)
    return [f"x{i}" for i in range(X.shape[1])]


class GaiaPreset(TransformerMixin, BaseEstimator):
    """One of gaia's presets over a table whose columns are named like gaia's descriptors.

    feature_names / categorical: the input columns and which of them hold strings (from the
    search's ``Context``); a DataFrame's own column names take precedence.
    """

    def __init__(self, preset: str = "basic", feature_names: Sequence[str] = (), categorical: Sequence[str] = ()):
        self.preset = preset
        self.feature_names = feature_names
        self.categorical = categorical

    # -- helpers -------------------------------------------------------------------------
    def _split(self, X):
        names = _columns(X, self.feature_names)
        cats = set(self.categorical)
        num_idx = [i for i, n in enumerate(names) if n not in cats]
        cat_idx = [i for i, n in enumerate(names) if n in cats]
        if hasattr(X, "iloc"):
            num = X.iloc[:, num_idx].to_numpy(dtype=np.float64) if num_idx else np.empty((len(X), 0))
            cat = X.iloc[:, cat_idx].astype(object).to_numpy() if cat_idx else np.empty((len(X), 0), dtype=object)
        else:
            arr = np.asarray(X, dtype=object if cat_idx else np.float64)
            num = arr[:, num_idx].astype(np.float64)
            cat = arr[:, cat_idx]
        return names, num_idx, cat_idx, num, cat

    # -- fit / transform -----------------------------------------------------------------
    def fit(self, X, y=None):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown gaia preset {self.preset!r} (known: {', '.join(PRESETS)})")
        names, num_idx, cat_idx, num, cat = self._split(X)
        self.n_features_in_ = len(names)
        num_names = [names[i] for i in num_idx]
        cat_names = [names[i] for i in cat_idx]
        # cleaner, per descriptor
        finite = np.isfinite(num).all(axis=0)
        with np.errstate(invalid="ignore"):
            span = np.nanmax(num, axis=0) - np.nanmin(num, axis=0) if len(num) else np.zeros(num.shape[1])
        by_desc: dict[str, list[int]] = {}
        for j, n in enumerate(num_names):
            by_desc.setdefault(descriptor_of(n), []).append(j)
        dropped = {d for d, cols in by_desc.items() if not finite[cols].all() or (span[cols] < MIN_RANGE).all()}
        descs = [d for d in by_desc if d not in dropped]   # real descriptors, in column order
        strings = list(dict.fromkeys(cat_names))            # string descriptors
        enumerated = self.preset == "raw"
        normalize = gaussianize = False
        gauss_patterns: tuple = ()
        for step in PRESETS[self.preset]:
            op = step[0]
            if op == "remove":
                gone = set(select(descs + strings, step[1]))
                descs = [d for d in descs if d not in gone]
                strings = [s for s in strings if s not in gone]
            elif op == "select":
                keep = set(select(descs + strings, step[1]))
                descs = [d for d in descs if d in keep]
                strings = [s for s in strings if s in keep]
            elif op == "enumerate":
                enumerated = True
            elif op == "normalize":
                normalize = True
            elif op == "gaussianize":
                gaussianize, gauss_patterns = True, step[1]
        if strings and not enumerated:  # pragma: no cover - every preset enumerates
            raise ValueError("string descriptors left un-enumerated")
        if not descs and not strings:
            raise ValueError(f"gaia preset {self.preset!r} kept no descriptor: it expects columns named like gaia's "
                             f"descriptors (lowlevel.mfcc.mean.0, ...), as read from AcousticBrainz low-level JSON")
        self.real_columns_ = [j for d in descs for j in by_desc[d]]
        self.real_names_ = [num_names[j] for j in self.real_columns_]
        self.string_columns_ = [cat_names.index(s) for s in strings]
        self.string_names_ = strings
        self.codes_ = [{v: k for k, v in enumerate(sorted({str(x) for x in cat[:, c]}))} for c in self.string_columns_]
        R = num[:, self.real_columns_]
        self.offset_ = np.zeros(R.shape[1])
        self.scale_ = np.ones(R.shape[1])
        if normalize:
            pos = 0
            for d in descs:
                width = len(by_desc[d])
                block = R[:, pos:pos + width]
                lo, hi = float(block.min()), float(block.max())
                self.offset_[pos:pos + width] = lo
                self.scale_[pos:pos + width] = 1.0 / (hi - lo)
                pos += width
        R = (R - self.offset_) * self.scale_
        self.gauss_columns_: list[int] = []
        self.distributions_: list[np.ndarray] = []
        if gaussianize:
            chosen = set(select(descs, gauss_patterns))
            step = max(1, math.ceil(len(R) / DISTRIBUTION_SIZE))
            pos = 0
            for d in descs:
                width = len(by_desc[d])
                if d in chosen:
                    for k in range(pos, pos + width):
                        self.gauss_columns_.append(k)
                        self.distributions_.append(np.sort(R[::step, k]))
                pos += width
        self.feature_names_out_ = np.asarray(self.real_names_ + self.string_names_, dtype=object)
        return self

    def transform(self, X):
        names, num_idx, cat_idx, num, cat = self._split(X)
        R = (num[:, self.real_columns_] - self.offset_) * self.scale_
        for k, dist in zip(self.gauss_columns_, self.distributions_):
            R[:, k] = gaussian_ranks(dist, R[:, k])
        if not self.string_columns_:
            return R
        codes = np.column_stack([[mapping.get(str(v), -1) for v in cat[:, c]]
                                 for c, mapping in zip(self.string_columns_, self.codes_)]).astype(np.float64)
        return np.hstack([R, codes])

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_out_


def gaussian_ranks(dist: np.ndarray, x: np.ndarray) -> np.ndarray:
    """gaia's ``distribute`` applier: value -> erfinv(2 * rank / n - 1) over a sorted sample."""
    n = len(dist)
    outliers = int(0.00001 * n)
    rank = np.searchsorted(dist, x, side="right")
    rank = np.clip(rank, outliers, n - outliers)
    rank = np.where(rank == 0, 1, rank)
    rank = np.where(rank == n, n - 1, rank)
    return erfinv(2.0 * rank / n - 1.0)
