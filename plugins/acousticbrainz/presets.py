"""gaia's preprocessing presets as opt-in ``preset`` plugins: ``raw``, ``basic``, ``lowlevel``,
``nobands``, ``normalized``, ``gaussianized``, ``mfcc`` (see :mod:`.gaia_transformers`).

They apply to tables read from AcousticBrainz/Essentia low-level documents (columns named like
``lowlevel.mfcc.mean.3``); the search offers them only when ``--plugins`` names them or a config
fixes the ``preset`` slot (``configs/gaia-svm.yaml``)."""

from __future__ import annotations

from abauto import Context, Kind, Params, Plugin

from .gaia_transformers import PRESETS, GaiaPreset

DESCRIPTIONS = {
    "raw": "gaia preset raw: cleaner only (strings as integer codes)",
    "basic": "gaia preset basic: cleaner, drop dmean/dvar/min/max/cov/thpcp/..., enumerate keys",
    "lowlevel": "gaia preset lowlevel: basic, then only lowlevel.* descriptors",
    "nobands": "gaia preset nobands: basic without bark/mel/erb/energy bands",
    "normalized": "gaia preset normalized: basic, min-max per descriptor",
    "gaussianized": "gaia preset gaussianized: normalized, rank-gaussianised lowlevel.*",
    "mfcc": "gaia preset mfcc: basic, then only lowlevel.mfcc*",
}


def _builder(name: str):
    def build(params: Params, ctx: Context) -> GaiaPreset:
        return GaiaPreset(name, feature_names=tuple(ctx.feature_names), categorical=tuple(ctx.categorical))
    return build


def register_presets(register) -> None:
    """Register one preset plugin per gaia preset (the package's ``register_preprocessors``)."""
    for name in PRESETS:
        # No preset promises non-negative output: gaia's min-max normalisation is not clipped,
        # so held-out values below the training minimum stay negative, as in gaia.
        register(Plugin(name, Kind.PRESET, _builder(name), description=DESCRIPTIONS[name]))
