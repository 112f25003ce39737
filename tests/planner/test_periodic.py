"""The periodic engine's settings: defaults and TOML loading."""

from __future__ import annotations

import pytest

from planner.periodic import EngineParams


def test_engine_params_from_an_empty_toml_are_the_defaults() -> None:
    assert EngineParams.from_toml("") == EngineParams()
    assert EngineParams.from_toml("ruin_size = 5").ruin_size == 5
    with pytest.raises(ValueError, match="unknown"):
        EngineParams.from_toml("ruin = 5")
