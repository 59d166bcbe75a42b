"""AcousticBrainz / Essentia low-level documents in abauto: a built-in plugin on the public hooks.

- ``register_loaders``: ``abauto search lowlevel/ --groundtruth gt.yaml`` reads a folder, tar
  archive or bulk JSON of low-level documents (:mod:`.loader`; options ``groundtruth``,
  ``select``, ``exclude_descriptors``, ``join``);
- ``register_preprocessors``: gaia's presets ``raw``, ``basic``, ... (:mod:`.presets`);
- ``register_predict_formats``: ``abauto predict RUN_DIR... DATA --format acousticbrainz`` (:mod:`.predict`);
- ``register_commands``: ``abauto convert``, ``extract`` and ``gaia-results`` (:mod:`.commands`).

Inside: :mod:`.documents` (sources and parsing), :mod:`.flatten` (layout, gaia's names),
:mod:`.patterns` (gaia's descriptor patterns), :mod:`.groundtruth` (gaia YAML and CSV),
:mod:`.gaia_transformers` (the presets as one transformer), :mod:`.gaia_html`, :mod:`.extract`.

Only light imports here: abauto imports this module at every start.
"""

from __future__ import annotations

from pathlib import Path

import abauto
from abauto.extensions import Loader, PredictFormat

OPTIONS = ("groundtruth", "select", "exclude_descriptors", "join")


def is_source(path) -> bool:
    """Whether ``path`` is low-level JSON input (folder, tar, document or bulk JSON)."""
    from .documents import is_source as _is_source

    return _is_source(Path(path))


def load(path, **options):
    """The loader: documents + ground truth (+ a join file) -> one table, the label column last."""
    from .loader import load_input

    return load_input(path, **options)


def predict_highlevel(models: list[Path], data: Path, output: Path | None, n_jobs: int = 1) -> None:
    """``abauto predict RUN_DIR... lowlevel/ --format acousticbrainz -o highlevel/``."""
    from .commands import predict_highlevel as _predict

    _predict(models, data, output, n_jobs)


@abauto.hookimpl
def register_loaders(register) -> None:
    register(Loader("acousticbrainz", is_source, load, OPTIONS, description="low-level JSON"))


@abauto.hookimpl
def register_predict_formats(register) -> None:
    register(PredictFormat("acousticbrainz", predict_highlevel,
                           "MODEL... = one model per task; DATA = low-level JSON; -o FOLDER, .tar or .jsonl "
                           "gets one high-level document per recording"))


@abauto.hookimpl
def register_preprocessors(register) -> None:
    from .presets import register_presets

    register_presets(register)


@abauto.hookimpl
def register_commands(cli) -> None:
    from .commands import convert, extract, gaia_results

    cli.command("convert")(convert)
    cli.command("gaia-results")(gaia_results)
    cli.command("extract")(extract)
