"""The old home of gaia's preset transformer, now in the AcousticBrainz plugin
(:mod:`abauto_plugins.acousticbrainz.gaia_transformers`). Models saved before the move name the
type ``abauto_plugins.gaia_transformers.GaiaPreset``; they load through this module."""

from __future__ import annotations

from abauto_plugins.acousticbrainz.gaia_transformers import PRESETS, GaiaPreset

__all__ = ["PRESETS", "GaiaPreset"]
