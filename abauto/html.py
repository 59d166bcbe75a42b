"""HTML building blocks shared by ``abauto report`` and ``abauto profile --html``.

A page is one self-contained document: CSS in a ``<style>`` element, every figure an inline SVG
drawn by matplotlib (the ``Figure`` API, never pyplot, so no GUI backend and no global state) and
a Content-Security-Policy that forbids loading anything, so it reads the same offline. Tables sit
in a horizontally scrolling box and wrap long cells, so no table is wider than the page.
"""

from __future__ import annotations

import html
import io
import re
from typing import Callable

import numpy as np

from abauto.leaderboard_view import fmt_number

PALETTE = ["#3b6ea5", "#e07b39", "#4c9a6a", "#b8474d", "#7d62a8", "#8c6d4f", "#c266a7", "#6f6f6f"]
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1e2329;background:#f6f7f9;margin:0}
main{max-width:1040px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:1.7em;margin:.2em 0 .1em}
h2{font-size:1.3em;margin:1.8em 0 .5em;padding-bottom:.2em;border-bottom:2px solid #e3e6ea}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.sub{color:#5b6470;margin:0 0 1em}
.note{color:#6b5900;background:#fff8dc;border-left:4px solid #e0c050;padding:6px 10px;margin:.6em 0}
.error{color:#8a1f1f;background:#fdecec;border-left:4px solid #c44;padding:6px 10px}
nav{font-size:.92em;margin:.8em 0 1.2em;display:flex;flex-wrap:wrap;gap:4px 18px}
nav a{color:#2f5f96;text-decoration:none;white-space:nowrap}
.tw{max-width:100%;overflow-x:auto;margin:.4em 0 1em}
table{border-collapse:collapse;font-size:.92em}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f0f2f5;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.n{white-space:nowrap}
td.nm{white-space:nowrap}
tr.hl td{background:#eef5ff;font-weight:600}
.bar{display:inline-block;height:.8em;background:#3b6ea5;border-radius:2px;vertical-align:middle;margin-left:6px}
.pipe{font-size:.95em;color:#3d4650;overflow-wrap:anywhere}
.lb{width:100%}
.compact{font-size:.86em}
.compact th,.compact td{padding:4px 5px}
.lb td:last-child{overflow-wrap:anywhere;min-width:8em}
.kv td:first-child{color:#5b6470;white-space:nowrap}
.kv td code{overflow-wrap:anywhere}
code,pre{font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
pre{background:#f4f5f7;padding:8px 10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
figure.plot{margin:.6em 0 1.2em;text-align:center}
figure.plot svg{max-width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:.8em 0}
.card{border:1px solid #e3e6ea;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:1.35em}
.card span{color:#5b6470;font-size:.85em}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# ----------------------------------------------------------------------------- HTML and figures

def esc(value) -> str:
    return html.escape(str(value), quote=True)


def num(value, digits: int = 4) -> str:
    """A number for a table cell (:func:`abauto.leaderboard_view.fmt_number`, ``–`` when absent)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        value = None
    return fmt_number(value, digits, missing="–")


def breakable(name: str) -> "Raw":
    """A name (feature, metric) that may break after ``.`` and ``_`` only, never inside a word."""
    return Raw(re.sub(r"([._])", r"\1<wbr>", esc(name)))


def table(header: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "",
          highlight: set[int] = frozenset(), names: set[int] = frozenset()) -> str:
    """An HTML table in a box that scrolls sideways if the table cannot be narrower than the page.
    Cells are escaped unless they are ``Raw``; columns in ``numeric`` align right and do not wrap;
    columns in ``names`` never wrap (family names); headers may break after ``_`` and ``.``."""
    def cell(tag, i, v):
        klass = ' class="n"' if i in numeric else ' class="nm"' if i in names and tag == "td" else ""
        text = v if isinstance(v, Raw) else breakable(v) if tag == "th" else esc(v)
        return f"<{tag}{klass}>{text}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(header)) if header else ""
    hl = ' class="hl"'
    body = "".join(f"<tr{hl if r in highlight else ''}>" + "".join(cell("td", i, v) for i, v in enumerate(row))
                   + "</tr>" for r, row in enumerate(rows))
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f'<div class="tw"><table class="{cls}">{thead}<tbody>{body}</tbody></table></div>'


class Raw(str):
    """Trusted HTML that :func:`table` inserts unescaped."""


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def figure(width: float, height: float):
    """A new matplotlib Figure (inches) with the report's style; no pyplot involved."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def svg(fig, name: str, caption: str = "") -> str:
    """The figure as an inline ``<svg>`` in a ``<figure>``; ids are prefixed by ``name`` so that
    several figures in one page never share an id."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name, "font.size": 9,
                                "font.family": ["DejaVu Sans", "sans-serif"]}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{name}-\1)', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', text)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{esc(caption or name)}" ', 1)
    cap = f"<figcaption class=\"sub\">{esc(caption)}</figcaption>" if caption else ""
    return f'<figure class="plot" data-figure="{esc(name)}">{text}{cap}</figure>'


def heatmap(matrix, rows: list[str], cols: list[str], name: str, *, title: str = "", cmap: str = "Blues",
            vmin: float = 0.0, vmax: float = 1.0, annotations: list[list[str]] | None = None,
            xlabel: str = "", ylabel: str = "", colorbar: str = "", caption: str = "") -> str:
    """A labelled heatmap with optional per-cell text, as inline SVG."""
    m = np.asarray(matrix, dtype=float)
    size = max(3.2, min(9.0, 1.6 + 0.42 * max(m.shape)))
    fig = figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=45 if max(map(len, map(str, cols))) > 4 else 0,
                  ha="right" if max(map(len, map(str, cols))) > 4 else "center", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if annotations is not None and max(m.shape) <= 25:
        mid = (vmin + vmax) / 2
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                dark = abs(m[i, j]) > abs(mid) + (vmax - vmin) * 0.15 if vmin < 0 else m[i, j] > mid
                ax.text(j, i, annotations[i][j], ha="center", va="center", fontsize=8 if max(m.shape) < 12 else 6,
                        color="white" if dark else "#1e2329")
    fig.colorbar(image, ax=ax, shrink=0.8, label=colorbar)
    return svg(fig, name, caption)


def page(title: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """A whole HTML document: ``sections`` are (anchor, heading, body html)."""
    nav = "".join(f'<a href="#{a}">{esc(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{esc(h)}</h2>{b}</section>' for a, h, b in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f"<h1>{esc(title)}</h1><p class=\"sub\">{subtitle}</p><nav>{nav}</nav>{body}"
            "</main></body></html>\n")


def guarded(build: Callable[[], str]) -> str:
    """Run one section builder; an unexpected failure becomes a visible note, not a lost report."""
    try:
        return build()
    except Exception as exc:  # the report must still be written
        return f'<p class="error">This section could not be drawn: {esc(type(exc).__name__)}: {esc(exc)}</p>'
