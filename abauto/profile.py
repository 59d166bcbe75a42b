"""``abauto profile``: a first look at a labelled table before searching.

Per feature: missing share, range, mean, skew, excess kurtosis and a normality hint (D'Agostino
and Pearson's test when there are at least 20 values, otherwise a skew/kurtosis rule); class
counts; and the correlations among the most correlated numeric features. :func:`profile_frame`
computes a plain dict, :func:`print_profile` shows it in the terminal and :func:`html_section` /
:func:`html_page` render it with the report's inline-SVG helpers.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

TOP_CORRELATED = 20
NORMAL_P = 0.05


def normality_hint(values: np.ndarray, skew: float, kurt: float) -> tuple[float | None, str]:
    """(normaltest p-value or None, a short hint) for the non-missing values of one feature."""
    if len(values) == 0 or np.ptp(values) == 0:
        return None, "constant"
    p = None
    if len(values) >= 20:
        from scipy.stats import normaltest

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = float(normaltest(values).pvalue)
        if p >= NORMAL_P:
            return p, "≈ normal"
    if abs(skew) >= 1:
        return p, "right skew" if skew > 0 else "left skew"
    if kurt >= 1:
        return p, "heavy tails"
    if kurt <= -1:
        return p, "light tails"
    if p is None:
        return None, "≈ symmetric"
    return p, "non-normal"


def _finite(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def feature_rows(X: pd.DataFrame, categorical: Sequence[str] = ()) -> list[dict]:
    rows = []
    cats = set(categorical)
    for name in X.columns:
        col = X[name]
        row = {"name": str(name), "kind": "categorical" if name in cats else "numeric",
               "missing": float(col.isna().mean()) if len(col) else 0.0}
        if name in cats:
            counts = col.dropna().astype(str).value_counts()
            row.update(levels=int(len(counts)), top=str(counts.index[0]) if len(counts) else None, hint="categorical")
        else:
            values = pd.to_numeric(col, errors="coerce").dropna().to_numpy(dtype=float)
            skew = _finite(pd.Series(values).skew()) if len(values) > 2 else None
            kurt = _finite(pd.Series(values).kurt()) if len(values) > 3 else None
            p, hint = normality_hint(values, skew or 0.0, kurt or 0.0)
            row.update(min=_finite(values.min()) if len(values) else None, max=_finite(values.max()) if len(values) else None,
                       mean=_finite(values.mean()) if len(values) else None, std=_finite(values.std()) if len(values) else None,
                       skew=skew, kurtosis=kurt, normal_p=p, hint=hint)
        rows.append(row)
    return rows


def top_correlated(X: pd.DataFrame, categorical: Sequence[str] = (), top: int = TOP_CORRELATED) -> dict:
    """Pearson correlations among the ``top`` numeric features with the largest absolute
    correlation to any other feature; also the strongest pairs."""
    numeric = [c for c in X.columns if c not in set(categorical)]
    frame = X[numeric].apply(pd.to_numeric, errors="coerce")
    frame = frame.loc[:, frame.std() > 0]
    if frame.shape[1] < 2:
        return {"features": [], "matrix": [], "pairs": []}
    corr = frame.corr().fillna(0.0)
    a = corr.abs().to_numpy().copy()
    np.fill_diagonal(a, 0.0)
    order = np.argsort(-a.max(axis=1), kind="stable")[:top]
    names = [str(corr.columns[i]) for i in order]
    pairs = sorted(((float(corr.iat[i, j]), str(corr.columns[i]), str(corr.columns[j]))
                    for i in range(len(corr)) for j in range(i + 1, len(corr))), key=lambda t: -abs(t[0]))[:10]
    return {"features": names, "matrix": corr.iloc[order, order].to_numpy().round(4).tolist(),
            "pairs": [{"a": x, "b": y, "r": r} for r, x, y in pairs]}


def profile_frame(X: pd.DataFrame, y: Sequence, categorical: Sequence[str] = (), name: str = "dataset",
                  target: str = "class") -> dict:
    """Everything ``abauto profile`` shows, as a JSON-friendly dict."""
    classes = pd.Series(np.asarray(y, dtype=object)).astype(str).value_counts().sort_index()
    return {"name": name, "target": target, "rows": int(len(X)), "features": feature_rows(X, categorical),
            "classes": {str(k): int(v) for k, v in classes.items()},
            "missing_fraction": float(X.isna().to_numpy().mean()) if X.size else 0.0,
            "correlation": top_correlated(X, categorical)}


def profile_dataset(dataset) -> dict:
    return profile_frame(dataset.X, dataset.y, dataset.categorical, dataset.name, dataset.target)


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}"


def _short(v) -> str:
    return "–" if v is None else f"{v:.4g}"


def _p(p) -> str:
    return "–" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def _feature_cells(f: dict) -> list[str]:
    if f["kind"] == "categorical":
        return [f["name"], f["kind"], f"{100 * f['missing']:.1f}%", f"{f['levels']} levels", "", "", "", "", f"top: {f['top']}"]
    return [f["name"], f["kind"], f"{100 * f['missing']:.1f}%", f"{_num(f['min'])} … {_num(f['max'])}", _num(f["mean"]),
            _num(f["skew"], 2), _num(f["kurtosis"], 2), _p(f["normal_p"]), f["hint"]]


HEADER = ["feature", "kind", "missing", "range", "mean", "skew", "kurtosis", "normal p", "hint"]


def print_profile(profile: dict, console=None) -> None:
    """The profile as rich tables on the terminal."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{profile['name']}[/bold]: {profile['rows']} rows, {len(profile['features'])} features, "
                  f"{len(profile['classes'])} classes in {profile['target']!r}, "
                  f"{100 * profile['missing_fraction']:.2f}% missing cells", highlight=False)
    t = Table(title="Features", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("feature", overflow="ellipsis", no_wrap=True, min_width=8, max_width=17)
    for h in ("miss", "min", "max", "skew", "kurt", "p norm"):
        t.add_column(h, justify="right", no_wrap=True)
    t.add_column("hint", no_wrap=True, overflow="ellipsis")
    for f in profile["features"]:
        if f["kind"] == "categorical":
            t.add_row(f["name"], f"{100 * f['missing']:.1f}%", "", "", "", "", "", f"categorical, {f['levels']} levels")
        else:
            c = _feature_cells(f)
            t.add_row(f["name"], c[2], _short(f["min"]), _short(f["max"]), c[5], c[6], _p(f["normal_p"]), c[8])
    console.print(t)
    c = Table(title="Classes", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    c.add_column("class")
    c.add_column("rows", justify="right")
    c.add_column("share", justify="right")
    total = sum(profile["classes"].values())
    for k, v in profile["classes"].items():
        c.add_row(k, str(v), f"{100 * v / total:.1f}%")
    console.print(c)
    pairs = profile["correlation"]["pairs"]
    if pairs:
        p = Table(title="Most correlated feature pairs (Pearson r)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        p.add_column("feature")
        p.add_column("feature")
        p.add_column("r", justify="right")
        for pair in pairs:
            p.add_row(pair["a"], pair["b"], f"{pair['r']:+.3f}")
        console.print(p)


def html_section(profile: dict, prefix: str = "profile") -> str:
    """The profile as HTML (tables and a correlation heatmap), for the report or a page."""
    from abauto.report import heatmap, note, table

    miss = sum(1 for f in profile["features"] if f["missing"] > 0)
    parts = [f"<p>{profile['rows']} rows, {len(profile['features'])} features ({miss} with missing values), "
             f"{100 * profile['missing_fraction']:.2f}% of feature cells missing. The normality hint uses "
             f"D'Agostino–Pearson's test (p ≥ {NORMAL_P} ≈ normal) with ≥ 20 values, then skew and excess kurtosis.</p>",
             table(HEADER, [_feature_cells(f) for f in profile["features"]], numeric={2, 3, 4, 5, 6, 7})]
    corr = profile["correlation"]
    if corr["features"]:
        names = corr["features"]
        m = np.asarray(corr["matrix"])
        ann = [[f"{v:.2f}" for v in row] for row in m]
        parts.append(f"<h3>Correlations (top {len(names)} features by absolute correlation)</h3>")
        parts.append(heatmap(m, names, names, f"{prefix}-correlation", cmap="RdBu_r", vmin=-1, vmax=1,
                             annotations=ann if len(names) <= 14 else None, colorbar="Pearson r",
                             caption="Pearson correlation among the numeric features most correlated with another feature."))
        parts.append(table(["feature", "feature", "r"], [[p["a"], p["b"], f"{p['r']:+.3f}"] for p in corr["pairs"]],
                           numeric={2}))
    else:
        parts.append(note("Fewer than two non-constant numeric features: no correlation heatmap."))
    return "".join(parts)


def html_page(profile: dict) -> str:
    """A self-contained HTML page of the profile (``abauto profile --html``)."""
    from abauto.report import esc, page, table

    total = sum(profile["classes"].values())
    classes = table(["class", "rows", "share"], [[k, v, f"{100 * v / total:.1f}%"] for k, v in profile["classes"].items()],
                    numeric={1, 2})
    return page(f"abauto profile: {profile['name']}", f"target column <code>{esc(profile['target'])}</code>",
                [("classes", "Classes", classes), ("features", "Features", html_section(profile))])
