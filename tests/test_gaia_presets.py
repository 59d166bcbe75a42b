"""gaia's presets as transformers, checked against expectations computed by hand (plain string
rules and NumPy, not the pattern module) on the real AcousticBrainz documents."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import erfinv

from abauto_plugins.acousticbrainz.gaia_transformers import PRESETS, GaiaPreset
from abauto_plugins.acousticbrainz.loader import read_documents
from conftest import shared_file


def desc(col: str) -> str:
    return re.sub(r"(\.\d+)+$", "", col)


def unused(d: str) -> bool:
    return (d.startswith("metadata.") or "dmean" in d or "dvar" in d or d.endswith(".min") or d.endswith(".max")
            or d.endswith("cov") or d == "tonal.thpcp" or d.startswith("lowlevel.spectral_energyband_high.")
            or d.startswith("lowlevel.silence_rate"))


def band(d: str) -> bool:
    parts = d.split(".")
    return "energyband" in d or any(p.startswith(("barkbands", "melbands", "erbbands")) for p in parts[1:])


RULES = {
    "raw": lambda d: True,
    "basic": lambda d: not unused(d),
    "lowlevel": lambda d: not unused(d) and d.startswith("lowlevel."),
    "nobands": lambda d: not unused(d) and not band(d),
    "normalized": lambda d: not unused(d),
    "gaussianized": lambda d: not unused(d),
    "mfcc": lambda d: not unused(d) and d.startswith("lowlevel.mfcc"),
}
# Feature counts on the 40 shared AcousticBrainz documents (real dims + enumerated key strings),
# trained on all 40: gaia's cleaner drops the descriptors constant over them.
COUNTS = {"raw": (2532, 4), "basic": (666, 4), "lowlevel": (484, 0), "nobands": (291, 4),
          "normalized": (666, 4), "gaussianized": (666, 4), "mfcc": (13, 0)}


@pytest.fixture(scope="module")
def ab():
    folder = shared_file("acousticbrainz", "lowlevel")
    docs = read_documents(folder, exclude=[])  # metadata included: the presets must drop it
    return docs.frame().reset_index(drop=True), tuple(docs.layout.categorical)


_CLEANED: dict[int, set[str]] = {}


def _cleaned(frame: pd.DataFrame, cats) -> set[str]:
    """Descriptors gaia's cleaner keeps: all values finite and some dimension spanning >= 1e-7."""
    if id(frame) not in _CLEANED:
        num = frame.drop(columns=list(cats)).astype(np.float64)
        stats = pd.DataFrame({"desc": [desc(c) for c in num.columns],
                              "finite": np.isfinite(num.to_numpy()).all(axis=0),
                              "spans": (num.max() - num.min()).to_numpy() >= 1e-7})
        grouped = stats.groupby("desc").agg({"finite": "all", "spans": "any"})
        _CLEANED[id(frame)] = set(grouped.index[grouped["finite"] & grouped["spans"]])
    return _CLEANED[id(frame)]


def test_gaia_counts_before_the_cleaner_match_gaia_md(ab):
    frame, cats = ab
    numeric = [c for c in frame.columns if c not in cats and not unused(desc(c))]
    assert len(numeric) == 675 and len(cats) == 4          # GAIA.md: "basic keeps 675 numeric dims plus 4 enums"
    assert sum(1 for c in numeric if desc(c).startswith("lowlevel.")) == 487
    assert sum(1 for c in numeric if not band(desc(c))) == 300
    assert sum(1 for c in numeric if desc(c).startswith("lowlevel.mfcc")) == 13


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_selects_what_gaia_rules_select(ab, preset):
    frame, cats = ab
    t = GaiaPreset(preset, tuple(frame.columns), cats).fit(frame)
    out = t.transform(frame)
    kept = _cleaned(frame, cats)
    expected = [c for c in frame.columns if c not in cats and desc(c) in kept and RULES[preset](desc(c))]
    expected_str = [c for c in cats if RULES[preset](c) and preset not in ("lowlevel", "mfcc")]
    assert t.real_names_ == expected
    assert sorted(t.string_names_) == sorted(expected_str)
    assert out.shape == (len(frame), sum(COUNTS[preset]))
    assert (len(t.real_names_), len(t.string_names_)) == COUNTS[preset]
    assert np.isfinite(out).all()


def test_basic_is_unscaled_and_enumerates_keys(ab):
    frame, cats = ab
    train, test = frame.iloc[:30], frame.iloc[30:]
    t = GaiaPreset("basic", tuple(frame.columns), cats).fit(train)
    out = t.transform(test)
    col = t.real_names_.index("lowlevel.mfcc.mean.3")
    assert np.allclose(out[:, col], test["lowlevel.mfcc.mean.3"].to_numpy(np.float64))
    k = len(t.real_names_) + t.string_names_.index("tonal.key_key")
    codes = {v: i for i, v in enumerate(sorted(set(train["tonal.key_key"])))}
    assert out[:, k].tolist() == [codes.get(v, -1) for v in test["tonal.key_key"]]


def test_normalized_is_minmax_per_descriptor_on_training_rows(ab):
    frame, cats = ab
    train, test = frame.iloc[:30], frame.iloc[30:]
    t = GaiaPreset("normalized", tuple(frame.columns), cats).fit(train)
    out = t.transform(test)
    mfcc = [f"lowlevel.mfcc.mean.{i}" for i in range(13)]
    block = train[mfcc].to_numpy(np.float64)
    lo, hi = block.min(), block.max()  # one min and max for the whole descriptor (gaia independent: false)
    expected = (test["lowlevel.mfcc.mean.3"].to_numpy(np.float64) - lo) / (hi - lo)
    assert np.allclose(out[:, t.real_names_.index("lowlevel.mfcc.mean.3")], expected)
    train_out = t.transform(train)
    idx = [t.real_names_.index(c) for c in mfcc]
    assert np.isclose(train_out[:, idx].min(), 0) and np.isclose(train_out[:, idx].max(), 1)


def test_gaussianized_ranks_lowlevel_only(ab):
    frame, cats = ab
    train, test = frame.iloc[:30], frame.iloc[30:]
    t = GaiaPreset("gaussianized", tuple(frame.columns), cats).fit(train)
    out = t.transform(test)
    name = "lowlevel.average_loudness"
    tr = train[name].to_numpy(np.float64)
    lo, hi = tr.min(), tr.max()
    dist = np.sort((tr - lo) / (hi - lo))
    x = (test[name].to_numpy(np.float64) - lo) / (hi - lo)
    n = len(dist)
    expected = []
    for v in x:
        rank = int(np.sum(dist <= v))   # training values <= x
        rank = min(max(rank, 1), n - 1)
        expected.append(erfinv(2 * rank / n - 1))
    assert np.allclose(out[:, t.real_names_.index(name)], expected)
    # rhythm.* is normalised but not gaussianised
    r = "rhythm.bpm"
    rt = train[r].to_numpy(np.float64)
    assert np.allclose(out[:, t.real_names_.index(r)], (test[r].to_numpy(np.float64) - rt.min()) / (rt.max() - rt.min()))


def test_presets_take_numpy_input_by_feature_names(ab):
    frame, cats = ab
    numeric = frame.drop(columns=list(cats))
    t = GaiaPreset("mfcc", tuple(numeric.columns), ()).fit(numeric.to_numpy())
    assert t.transform(numeric.to_numpy()).shape == (40, 13)
