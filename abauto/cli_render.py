"""Rich tables for the terminal: plugins and leaderboards."""

from __future__ import annotations

from rich.table import Table

from abauto.plugin import Kind
from abauto.registry import Registry


def _hyperparameters(plugin) -> list[str]:
    """Parameter names the plugin samples, found by sampling it once."""
    import optuna

    from abauto.plugin import Context

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    ctx = Context(100, 10, 3, classifiers={})
    try:
        plugin.sample(trial, ctx)
    except Exception:
        pass
    return [name.split(".", 1)[1] for name in trial.params]


def plugin_rows(registry: Registry) -> list[dict]:
    order = {k: i for i, k in enumerate(Kind)}
    rows = []
    for name, e in sorted(registry.entries.items(), key=lambda kv: (order[kv[1].plugin.kind], kv[0])):
        p = e.plugin
        rows.append({
            "name": name, "kind": p.kind.value, "package": e.package, "version": e.version,
            "description": p.description, "hyperparameters": _hyperparameters(p),
            "capabilities": {k: getattr(p, k) for k in ("handles_missing", "needs_nonnegative", "nonnegative_output",
                                                        "has_predict_proba", "needs_scaling", "costly_rows", "ensemble")},
        })
    return rows


def plugins_table(rows: list[dict]) -> Table:
    table = Table(title="abauto plugins")
    for col in ("name", "kind", "package", "hyperparameters", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], f"{r['package']} {r['version']}".strip(),
                      ", ".join(r["hyperparameters"]), r["description"])
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


def _fmt(mean, std) -> str:
    return "-" if mean is None else f"{mean:.4f} ± {std:.4f}"


def leaderboard_table(board: dict) -> Table:
    metric = board["protocol"]["metric"]
    table = Table(title=f"{board['dataset']['name']}: best pipeline per classifier family (outer folds)")
    for col in ("rank", "family", f"outer {metric}", "accuracy", "f1_macro", "inner", "pipeline (fold 0)"):
        table.add_column(col, justify="right" if col in ("rank",) else "left")
    best = board["best"]
    table.add_row("", "[bold]selected per fold[/bold]", f"[bold]{_fmt(best['outer_mean'], best['outer_std'])}[/bold]",
                  _fmt(best["metrics"].get("accuracy", {}).get("mean"), best["metrics"].get("accuracy", {}).get("std")),
                  _fmt(best["metrics"].get("f1_macro", {}).get("mean"), best["metrics"].get("f1_macro", {}).get("std")),
                  "", ", ".join(f or "-" for f in best["families"]))
    for e in board["entries"]:
        first = next((f for f in e["folds"] if f), None)
        acc, f1 = e["metrics"].get("accuracy", {}), e["metrics"].get("f1_macro", {})
        table.add_row(str(e["rank"]), e["family"], _fmt(e["outer_mean"], e["outer_std"]),
                      _fmt(acc.get("mean"), acc.get("std")), _fmt(f1.get("mean"), f1.get("std")),
                      "-" if e["inner_mean"] is None else f"{e['inner_mean']:.4f}",
                      " > ".join(s["plugin"] for s in first["pipeline"]) if first else "")
    return table
