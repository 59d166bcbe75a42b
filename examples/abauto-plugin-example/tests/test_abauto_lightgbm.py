"""The example plugin keeps abauto's plugin contract."""

import abauto_lightgbm
from abauto.registry import load_registry
from abauto.testing import check_plugin


def test_plugin_passes_the_contract_check():
    # Samples 20 configurations with a real Optuna trial and fits each on built-in data;
    # raises abauto.testing.PluginCheckError naming the problem and the configuration.
    summary = check_plugin(abauto_lightgbm.PLUGIN)
    assert summary.startswith("20 configurations fitted")


def test_plugin_registers_through_the_hook():
    registry = load_registry(extra=[abauto_lightgbm], entry_points=False)
    assert not registry.errors
    assert registry["lightgbm"] is abauto_lightgbm.PLUGIN
