"""``abauto profile``: per-feature statistics, normality hints, correlations; terminal and HTML."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from abauto.cli import app
from abauto.profile import html_page, normality_hint, print_profile, profile_frame, top_correlated


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 300
    base = rng.normal(size=n)
    X = pd.DataFrame({
        "normal": np.random.default_rng(2).normal(10, 2, n),  # normaltest p = 0.73
        "lognormal": rng.lognormal(0, 1, n),
        "constant": np.ones(n),
        "twin": base,
        "twin_neg": -base + rng.normal(0, 0.05, n),
        "holes": np.where(np.arange(n) % 4 == 0, np.nan, rng.normal(size=n)),
        "genre": rng.choice(["rock", "jazz"], n).astype(object),
    })
    y = np.where(base > 0, "up", "down")
    return X, y


def test_feature_statistics(frame):
    X, y = frame
    prof = profile_frame(X, y, categorical=["genre"], name="demo")
    feats = {f["name"]: f for f in prof["features"]}
    assert prof["rows"] == 300 and prof["classes"] == {"down": int((y == "down").sum()), "up": int((y == "up").sum())}
    assert feats["holes"]["missing"] == pytest.approx(0.25)
    assert feats["normal"]["hint"] == "≈ normal" and feats["normal"]["normal_p"] > 0.05
    assert feats["lognormal"]["hint"] == "right skew" and feats["lognormal"]["skew"] > 1
    assert feats["constant"]["hint"] == "constant" and feats["constant"]["normal_p"] is None
    assert feats["genre"]["kind"] == "categorical" and feats["genre"]["levels"] == 2
    assert feats["normal"]["min"] < 10 < feats["normal"]["max"]
    assert prof["missing_fraction"] == pytest.approx(75 / (300 * 7))


def test_normality_hint_with_few_values():
    assert normality_hint(np.array([1.0, 2.0, 3.0]), 0.0, 0.0) == (None, "≈ symmetric")
    assert normality_hint(np.array([1.0, 1.0, 9.0]), 1.7, 0.0) == (None, "right skew")


def test_correlation_keeps_the_most_correlated_features(frame):
    X, _ = frame
    corr = top_correlated(X, categorical=["genre"], top=2)
    assert sorted(corr["features"]) == ["twin", "twin_neg"]
    assert corr["pairs"][0]["r"] < -0.99 and {corr["pairs"][0]["a"], corr["pairs"][0]["b"]} == {"twin", "twin_neg"}
    m = np.asarray(corr["matrix"])
    assert m.shape == (2, 2) and np.allclose(np.diag(m), 1.0)
    assert "constant" not in top_correlated(X, ["genre"])["features"]  # zero variance: no correlation


def test_correlation_caps_at_twenty_features():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(50, 30)), columns=[f"f{i}" for i in range(30)])
    corr = top_correlated(X)
    assert len(corr["features"]) == 20 and np.asarray(corr["matrix"]).shape == (20, 20)


def test_terminal_and_html(frame):
    X, y = frame
    prof = profile_frame(X, y, categorical=["genre"], name="demo")
    console = Console(width=80, record=True)
    print_profile(prof, console)
    text = console.export_text()
    assert "lognormal" in text and "right skew" in text and "Classes" in text
    page = html_page(prof)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "src=" not in page
    assert re.findall(r'data-figure="([^"]+)"', page) == ["profile-correlation"]


def test_profile_command(tmp_path):
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "track": range(40),
                         "label": ["x", "y"] * 20})
    data["c"] = data["a"] * 2
    csv = tmp_path / "d.csv"
    data.to_csv(csv, index=False)
    out = tmp_path / "profile.html"
    result = CliRunner().invoke(app, ["profile", str(csv), "--target", "label", "--id", "track", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert "Features" in result.output and "track" not in result.output
    assert "<svg" in out.read_text()


def test_profile_command_bad_target(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,x\n2,y\n3,x\n4,y\n")
    result = CliRunner().invoke(app, ["profile", str(csv), "--target", "nope"])
    assert result.exit_code != 0 and "nope" in str(result.exception)
