"""Rich tables for the terminal: plugins, leaderboards, leaderboard diffs and comparisons.

Tables fit the console: :class:`Fitted` rebuilds a table at render time with the most detail
whose columns fit the width without cutting a word, dropping the least useful columns first
(the pipeline, then timings, ...). Name columns (families, features) never wrap or get cut; the
cells come from :mod:`abauto.leaderboard_view`, shared with the Markdown, CSV and HTML forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.cells import cell_len
from rich.text import Text

from abauto import leaderboard_view as view

from abauto.plugin import Kind
from abauto.registry import Registry


def describe_distribution(dist) -> str:
    """``0.001..1000 (log)``, ``int 2..4``, ``{rbf, linear, poly}``: an Optuna distribution for a reader."""
    import optuna

    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return "{" + ", ".join(view.fmt_value(c) for c in dist.choices) + "}"
    kind = "int " if isinstance(dist, optuna.distributions.IntDistribution) else ""
    step = f" step {view.fmt_value(dist.step)}" if dist.step not in (None, 1) else ""
    return f"{kind}{view.fmt_value(dist.low)}..{view.fmt_value(dist.high)}{' (log)' if dist.log else ''}{step}"


def plugin_rows(registry: Registry) -> list[dict]:
    """One dict per plugin; ``hyperparameters`` names every parameter its space can sample (all
    branches, see :func:`abauto.space.plugin_distributions`), ``ranges`` gives each one's range."""
    from abauto.plugin import Context
    from abauto.space import plugin_distributions

    order = {k: i for i, k in enumerate(Kind)}
    members = {n: e.plugin for n, e in registry.entries.items()
               if e.plugin.kind == Kind.CLASSIFIER and not e.plugin.ensemble}
    rows = []
    for name, e in sorted(registry.entries.items(), key=lambda kv: (order[kv[1].plugin.kind], kv[0])):
        p = e.plugin
        ctx = Context(1000, 20, 3, classifiers=members if p.ensemble else {})
        ranges = {k: describe_distribution(d) for k, d in plugin_distributions(p, ctx).items()}
        rows.append({
            "name": name, "kind": p.kind.value, "package": e.package, "version": e.version,
            "description": p.description, "hyperparameters": list(ranges), "ranges": ranges,
            "capabilities": {k: getattr(p, k) for k in ("handles_missing", "needs_nonnegative", "nonnegative_output",
                                                        "has_predict_proba", "needs_scaling", "costly_rows", "ensemble")},
        })
    return rows


def plugins_table(rows: list[dict]) -> Table:
    table = Table(title="abauto plugins")
    for col in ("name", "kind", "package", "hyperparameters", "description"):
        table.add_column(col)
    for r in rows:
        ranges = r.get("ranges") or {h: "" for h in r["hyperparameters"]}
        table.add_row(r["name"], r["kind"], f"{r['package']} {r['version']}".strip(),
                      "\n".join(f"{k}: {v}" if v else k for k, v in ranges.items()), r["description"])
    return table


def extension_rows(registry: Registry) -> dict[str, list[dict]]:
    """Loaders, predict formats and commands by name, with the package that provided them."""
    def row(p, **more) -> dict:
        return {"name": p.name, "package": p.package, "version": p.version, **more}

    return {
        "loaders": [row(p, description=p.item.description, options=list(p.item.options)) for p in registry.loaders.values()],
        "predict_formats": [row(p, description=p.item.description) for p in registry.predict_formats.values()],
        "commands": [row(p) for p in registry.commands.values()],
    }


def extensions_table(rows: dict[str, list[dict]]) -> Table:
    table = Table(title="abauto loaders, predict formats and commands")
    for col in ("name", "what", "package", "options / description"):
        table.add_column(col)
    for what, key in (("loader", "loaders"), ("predict format", "predict_formats"), ("command", "commands")):
        for r in rows[key]:
            detail = " ".join(["--" + o.replace("_", "-") for o in r.get("options", [])]
                              + ([f"({r['description']})"] if r.get("description") else []))
            table.add_row(r["name"], what, f"{r['package']} {r['version']}".strip(), detail)
    return table


class Fitted:
    """A table built at render time by ``build(level, width)``: level 0 is the most detailed,
    higher levels drop or shorten columns. The first level whose narrowest layout (unbreakable
    cells whole, wrapping cells at their ``min_width`` or longest word) fits the console width is
    printed; the last level is printed in any case (then long cells fold onto more lines, they are
    never cut)."""

    def __init__(self, build: Callable[[int, int], RenderableType], levels: int):
        self.build, self.levels = build, levels

    def renderable(self, console: Console, width: int) -> RenderableType:
        for level in range(self.levels):
            table = self.build(level, width)
            if fits(console, table, width):
                return table
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.renderable(console, options.max_width)


def fits(console: Console, renderable: RenderableType, width: int) -> bool:
    """Whether the narrowest layout of ``renderable`` is at most ``width`` cells wide (a table made
    by :func:`make_table` is measured by its empty twin with the same column widths: fast for
    thousands of rows)."""
    unbounded = console.options.update_width(1_000_000)  # rich caps a measurement at the width given
    return console.measure(getattr(renderable, "probe", renderable), options=unbounded).minimum <= width


@dataclass
class Col:
    """A column of :func:`make_table`. A column that does not ``wrap`` (names, numbers) is as wide
    as its widest cell, so it is never cut; a wrapping one (pipelines) wraps at words and is at
    least ``min_width`` wide."""

    header: str
    justify: str = "left"
    wrap: bool = False
    min_width: int | None = None
    style: str | None = None


def _width(text: str) -> int:
    text = str(text)
    if "[" in text:
        text = Text.from_markup(text).plain
    return max(cell_len(line) for line in text.split("\n"))


def _longest_word(text: str) -> int:
    return max((cell_len(w) for w in str(text).split()), default=0)


def make_table(title: str, columns: list[Col], rows: list[list[str]], styles: list[str | None] | None = None,
               sections: set[int] = frozenset()) -> Table:
    """A compact table; rows in ``sections`` are followed by a rule."""
    def new() -> Table:
        return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                     collapse_padding=True)

    table, probe = new(), new()
    for i, c in enumerate(columns):
        if c.wrap:
            table.add_column(c.header, justify=c.justify, min_width=c.min_width, overflow="fold", style=c.style)
            width = max([c.min_width or 0, _longest_word(c.header), *(_longest_word(r[i]) for r in rows)])
        else:
            width = max([_width(c.header), *(_width(r[i]) for r in rows)])
            table.add_column(c.header, justify=c.justify, no_wrap=True, overflow="fold", min_width=width, style=c.style)
        probe.add_column("", min_width=width, no_wrap=True)
    for k, r in enumerate(rows):
        table.add_row(*r, style=(styles or [None] * len(rows))[k], end_section=k in sections)
    table.probe = probe
    return table


LEADERBOARD_LEVELS = 7  # see leaderboard_table


def leaderboard_table(board: dict) -> Fitted:
    """The leaderboard as a table that fits the console. Narrower consoles get, in turn: no
    pipeline column, no fit seconds, no inner mean, the other metrics as means only, no other
    metrics, the chosen metric as its mean only. Rank, family and folds are always shown whole."""
    rows = view.leaderboard_rows(board)

    def build(level: int, width: int) -> Table:
        std_others, others = level < 4, rows.others if level < 5 else ()
        cols = [Col("rank", "right"), Col("family"), Col(rows.metric, style="bold"), Col("folds", "right")]
        cols += [Col(m) for m in others]
        cols += [Col("inner")] if level < 3 else []
        cols += [Col("fit s", "right")] if level < 2 else []
        if level < 1:
            longest = max((len(r.pipeline_text) for r in rows), default=0)
            cols.append(Col("pipeline (folds chosen)", wrap=True, min_width=min(28, longest)))
        cells = []
        for r in rows:
            row = ["" if r.selected else str(r.rank), r.family, str(r.score) if level < 6 else r.score.mean_text,
                   r.coverage]
            row += [str(r.other(m)) if std_others else r.other(m).mean_text for m in others]
            row += [view.fmt_number(r.inner_mean, missing="")] if level < 3 else []
            row += [view.fmt_number(r.fit_seconds, 2, missing="")] if level < 2 else []
            row += [r.pipeline_text] if level < 1 else []
            cells.append(row)
        title = (f"{board['dataset']['name']}: best pipeline per classifier family, outer-fold mean"
                 f"{' ± std' if level < 6 else ''} (ranked by {rows.metric})")
        return make_table(title, cols, cells, ["bold"] + [None] * len(rows.families), sections={0})

    return Fitted(build, LEADERBOARD_LEVELS)


def leaderboard_summary(board: dict) -> list[str]:
    """Lines under the leaderboard table: headline, protocol, trial counts, final model, notes."""
    best, p, t = board["best"], board["protocol"], board["trials"]
    lines = [f"outer {p['metric']}: {view.fmt_score(best['outer_mean'], best['outer_std'])} ({view.protocol_line(board)}); "
             f"trials {t['complete']} complete, {t['pruned']} pruned, {t['failed']} failed"]
    if board["final"]:
        lines.append(f"final model: {view.describe_pipeline(board['final']['pipeline'], params=True)}")
    lines += [f"note: {n}" for n in board["notes"]]
    return lines


def diff_table(result: dict, title: str) -> Fitted:
    """A diff of two leaderboards (see :func:`abauto.leaderboard_compare.diff_boards`); narrow
    consoles lose the all-folds means, then the t column (p tells the same), then get two-line
    headers."""
    verdict_style = {"regression": "red", "improvement": "green"}
    cells = []
    for r in result["rows"]:
        row = view.diff_cells(r)
        if r["name"] == view.BEST:
            row[0] = "best (selected per fold)"
        style = verdict_style.get(r["verdict"])
        if style:
            row[-1] = f"[{style}]{row[-1]}[/{style}]"
        cells.append(row)
    styles = ["bold" if r["name"] == view.BEST else None for r in result["rows"]]

    def build(level: int, width: int) -> Table:
        keep = [i for i, h in enumerate(view.DIFF_HEADER)
                if not (level >= 1 and h in view.DIFF_ALL_FOLDS) and not (level >= 2 and h == "t")]
        cols = [Col(view.DIFF_HEADER[i] if level < 3 or i == 0 else view.DIFF_HEADER[i].replace(" ", "\n"),
                    "right" if view.DIFF_ALIGN[i] == "r" else "left") for i in keep]
        return make_table(title, cols, [[row[i] for i in keep] for row in cells], styles)

    return Fitted(build, 4)


def compare_table(result: dict) -> Fitted:
    """Families by datasets (see :func:`abauto.leaderboard_compare.compare_boards`); narrow consoles
    get means without the standard deviations, then the datasets split over several tables, each
    with the family column."""
    n = len(result["datasets"])

    def one(std: bool, datasets: list[int], ranks: bool) -> Table:
        header, best_row, rows = view.compare_table(result, std=std)
        keep = [0, *(1 + d for d in datasets), *([n + 1, n + 2] if ranks else [])]
        cols = [Col(header[i], "left" if i in (0, n + 2) else "right") for i in keep]
        return make_table(view.compare_title(result, std) if datasets and datasets[0] == 0 else "", cols,
                          [[r[i] for i in keep] for r in [best_row, *rows]], ["bold"] + [None] * len(rows),
                          sections={0})

    def build(level: int, width: int) -> RenderableType:
        if level < 2:
            return one(level == 0, list(range(n)), True)
        console = Console(width=width)
        chunks: list[list[int]] = [[]]
        for d in range(n):
            if chunks[-1] and not fits(console, one(False, chunks[-1] + [d], d == n - 1), width):
                chunks.append([])
            chunks[-1].append(d)
        tables = [one(False, c, i == len(chunks) - 1) for i, c in enumerate(chunks)]
        if not fits(console, tables[-1], width):
            tables[-1:] = [one(False, chunks[-1], False), one(False, [], True)]
        return Group(*(part for t in tables for part in (t, Text(""))))

    return Fitted(build, 3)
