"""``abauto profile``: a first look at a labelled table before searching.

Per feature: missing share, range, mean, skew, excess kurtosis and a normality hint (D'Agostino
and Pearson's test when there are at least 20 values, otherwise a skew/kurtosis rule); class
counts; and the correlations among the most correlated numeric features. :func:`profile_frame`
computes a plain dict, :func:`print_profile` shows it in the terminal and :func:`html_section` /
:func:`html_page` render it with the HTML helpers of :mod:`abauto.html`.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

TOP_CORRELATED = 20
NORMAL_P = 0.05


def _hint(p: float | None, skew: float, kurt: float) -> str:
    if p is not None and p >= NORMAL_P:
        return "≈ normal"
    if abs(skew) >= 1:
        return "right skew" if skew > 0 else "left skew"
    if kurt >= 1:
        return "heavy tails"
    if kurt <= -1:
        return "light tails"
    return "≈ symmetric" if p is None else "non-normal"


def _normal_p(values: np.ndarray) -> np.ndarray:
    """D'Agostino-Pearson p-values of the columns of a complete 2-D array (>= 20 rows)."""
    from scipy.stats import normaltest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.atleast_1d(normaltest(values, axis=0).pvalue)


def normality_hint(values: np.ndarray, skew: float, kurt: float) -> tuple[float | None, str]:
    """(normaltest p-value or None, a short hint) for the non-missing values of one feature."""
    if len(values) == 0 or np.ptp(values) == 0:
        return None, "constant"
    p = float(_normal_p(values[:, None])[0]) if len(values) >= 20 else None
    return p, _hint(p, skew, kurt)


def _finite(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _numeric(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    cats = set(categorical)
    N = X[[c for c in X.columns if c not in cats]]
    text = [c for c in N.columns if not pd.api.types.is_numeric_dtype(N[c])]
    if text:
        N = N.copy()
        N[text] = N[text].apply(pd.to_numeric, errors="coerce")
    return N.astype(float)


def feature_rows(X: pd.DataFrame, categorical: Sequence[str] = ()) -> list[dict]:
    """Per feature: missing share; numeric range, mean, std, skew, kurtosis, normality; categorical levels.
    Vectorised over columns so wide tables (thousands of descriptors) take seconds."""
    N = _numeric(X, categorical)
    count, spread = N.count(), N.max() - N.min()
    stats = {"min": N.min(), "max": N.max(), "mean": N.mean(), "std": N.std(ddof=0), "skew": N.skew(), "kurtosis": N.kurt()}
    p = pd.Series(np.nan, index=N.columns)
    testable = [c for c in N.columns if count[c] >= 20 and spread[c] > 0]
    complete = [c for c in testable if count[c] == len(N)]
    if complete:
        p[complete] = _normal_p(N[complete].to_numpy())
    for c in testable:
        if count[c] < len(N):
            p[c] = _normal_p(N[c].dropna().to_numpy()[:, None])[0]
    missing = X.isna().mean() if len(X) else pd.Series(0.0, index=X.columns)
    rows = []
    for name in X.columns:
        row = {"name": str(name), "kind": "numeric" if name in N.columns else "categorical", "missing": float(missing[name])}
        if name not in N.columns:
            counts = X[name].dropna().astype(str).value_counts()
            row.update(levels=int(len(counts)), top=str(counts.index[0]) if len(counts) else None, hint="categorical")
        else:
            row.update({k: _finite(v[name]) for k, v in stats.items()})
            row["normal_p"] = _finite(p[name])
            if count[name] == 0 or spread[name] == 0:
                row["hint"] = "constant"
            else:
                row["hint"] = _hint(row["normal_p"], row["skew"] or 0.0, row["kurtosis"] or 0.0)
        rows.append(row)
    return rows


def top_correlated(X: pd.DataFrame, categorical: Sequence[str] = (), top: int = TOP_CORRELATED) -> dict:
    """Pearson correlations among the ``top`` numeric features with the largest absolute
    correlation to any other feature; also the strongest pairs. Missing values are replaced by
    the column mean (which shrinks correlations of gappy columns a little)."""
    frame = _numeric(X, categorical)
    frame = frame.loc[:, frame.std() > 0]
    if frame.shape[1] < 2:
        return {"features": [], "matrix": [], "pairs": []}
    V = frame.to_numpy()
    mean = np.nanmean(V, axis=0)
    V = np.where(np.isnan(V), mean, V) - mean
    scale = np.sqrt((V ** 2).sum(axis=0))
    scale[scale == 0] = 1.0
    values = np.clip((V / scale).T @ (V / scale), -1.0, 1.0)
    a = np.abs(values)
    np.fill_diagonal(a, 0.0)
    order = np.argsort(-a.max(axis=1), kind="stable")[:top]
    cols = [str(c) for c in frame.columns]
    upper = np.triu_indices(len(cols), k=1)
    strongest = np.argsort(-a[upper], kind="stable")[:10]
    pairs = [(float(values[i, j]), cols[i], cols[j]) for i, j in zip(upper[0][strongest], upper[1][strongest])]
    return {"features": [cols[i] for i in order], "matrix": values[np.ix_(order, order)].round(4).tolist(),
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


def _feature_table(profile: dict, level: int):
    """The features as a rich table; higher levels leave out columns for narrow consoles: first
    kurtosis and the normality p-value (the hint sums them up), then skew, then min and max."""
    from abauto.cli_render import Col, make_table

    cols = [("miss", 0), ("min", 3), ("max", 3), ("skew", 2), ("kurt", 1), ("p norm", 1)]
    shown = [h for h, drop_at in cols if not drop_at or level < drop_at]
    rows = []
    for f in profile["features"]:
        if f["kind"] == "categorical":
            cells = {"miss": f"{100 * f['missing']:.1f}%"}
            hint = f"categorical, {f['levels']} levels"
        else:
            c = _feature_cells(f)
            cells = {"miss": c[2], "min": _short(f["min"]), "max": _short(f["max"]), "skew": c[5], "kurt": c[6],
                     "p norm": _p(f["normal_p"])}
            hint = c[8]
        rows.append([f["name"], *[cells.get(h, "") for h in shown], hint])
    return make_table("Features", [Col("feature"), *(Col(h, "right") for h in shown), Col("hint")], rows)


def _pairs_table(pairs: list[dict], level: int):
    """The most correlated pairs; on narrow consoles the two names share one column, one per line."""
    from abauto.cli_render import Col, make_table

    title = "Most correlated feature pairs (Pearson r)"
    if level == 0:
        return make_table(title, [Col("feature"), Col("feature"), Col("r", "right")],
                          [[p["a"], p["b"], f"{p['r']:+.3f}"] for p in pairs])
    return make_table(title, [Col("features"), Col("r", "right")],
                      [[f"{p['a']}\n{p['b']}", f"{p['r']:+.3f}"] for p in pairs], sections=set(range(len(pairs))))


def print_profile(profile: dict, console=None) -> None:
    """The profile as rich tables on the terminal, fitted to its width; feature names are never cut."""
    from rich.console import Console

    from abauto.cli_render import Col, Fitted, make_table

    console = console or Console()
    console.print(f"[bold]{profile['name']}[/bold]: {profile['rows']} rows, {len(profile['features'])} features, "
                  f"{len(profile['classes'])} classes in {profile['target']!r}, "
                  f"{100 * profile['missing_fraction']:.2f}% missing cells", highlight=False)
    console.print(Fitted(lambda level, width: _feature_table(profile, level), 4))
    total = sum(profile["classes"].values())
    console.print(make_table("Classes", [Col("class"), Col("rows", "right"), Col("share", "right")],
                             [[k, str(v), f"{100 * v / total:.1f}%"] for k, v in profile["classes"].items()]))
    pairs = profile["correlation"]["pairs"]
    if pairs:
        console.print(Fitted(lambda level, width: _pairs_table(pairs, level), 2))


def html_section(profile: dict, prefix: str = "profile", max_rows: int = 300) -> str:
    """The profile as HTML (tables and a correlation heatmap), for the report or a page."""
    from abauto.html import breakable, heatmap, note, table

    miss = sum(1 for f in profile["features"] if f["missing"] > 0)
    shown = profile["features"][:max_rows]
    parts = [f"<p>{profile['rows']} rows, {len(profile['features'])} features ({miss} with missing values), "
             f"{100 * profile['missing_fraction']:.2f}% of feature cells missing. The normality hint uses "
             f"D'Agostino–Pearson's test (p ≥ {NORMAL_P} ≈ normal) with ≥ 20 values, then skew and excess kurtosis.</p>",
             table(HEADER, [[breakable(f["name"]), *_feature_cells(f)[1:]] for f in shown], numeric={2, 3, 4, 5, 6, 7},
                   cls="compact")]
    if len(shown) < len(profile["features"]):
        parts.append(note(f"Showing the first {len(shown)} of {len(profile['features'])} features; "
                          "'abauto profile DATA' prints them all."))
    corr = profile["correlation"]
    if corr["features"]:
        names = corr["features"]
        m = np.asarray(corr["matrix"])
        ann = [[f"{v:.2f}" for v in row] for row in m]
        parts.append(f"<h3>Correlations (top {len(names)} features by absolute correlation)</h3>")
        parts.append(heatmap(m, names, names, f"{prefix}-correlation", cmap="RdBu_r", vmin=-1, vmax=1,
                             annotations=ann if len(names) <= 14 else None, colorbar="Pearson r",
                             caption="Pearson correlation among the numeric features most correlated with another feature."))
        parts.append(table(["feature", "feature", "r"], [[breakable(p["a"]), breakable(p["b"]), f"{p['r']:+.3f}"]
                                                         for p in corr["pairs"]],
                           numeric={2}))
    else:
        parts.append(note("Fewer than two non-constant numeric features: no correlation heatmap."))
    return "".join(parts)


def html_page(profile: dict) -> str:
    """A self-contained HTML page of the profile (``abauto profile --html``)."""
    from abauto.html import esc, page, table

    total = sum(profile["classes"].values())
    classes = table(["class", "rows", "share"], [[k, v, f"{100 * v / total:.1f}%"] for k, v in profile["classes"].items()],
                    numeric={1, 2})
    return page(f"abauto profile: {profile['name']}", f"target column <code>{esc(profile['target'])}</code>",
                [("classes", "Classes", classes), ("features", "Features", html_section(profile))])
