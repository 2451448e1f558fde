"""Scenarios: the schema, reading files, making variants.

The schema is in :mod:`.schema`, reading files in :mod:`.loader` and making variants
in :mod:`.variants`.

This package is the door the rest of crisis-sim, and a notebook, goes through::

    from sim.config import load_scenario, variant
    scenario = variant(load_scenario("scenarios/core-trial.yaml"), {"seed": 7}, "--seed")
"""

from sim.config.loader import (
    field_notes,
    load_scenario,
    load_scenarios,
    read_yaml,
    resolved_yaml,
    scenario_from_dict,
    source_of,
)
from sim.config.schema import *  # noqa: F403 - the schema's classes are the package's
from sim.config.schema import Scenario, json_schema
from sim.config.variants import field_keys, get_field, number_keys, set_field, variant
from sim.errors import ConfigError

__all__ = [
    "ConfigError",
    "Scenario",
    "field_notes",
    "field_keys",
    "get_field",
    "json_schema",
    "load_scenario",
    "load_scenarios",
    "number_keys",
    "read_yaml",
    "resolved_yaml",
    "scenario_from_dict",
    "set_field",
    "source_of",
    "variant",
]
