"""Studies of a scenario: many runs of it, varied in one way, under common random numbers.

- :func:`compare`: its policies, and other files' policies, side by side (paired);
- :func:`sweep`: fields over ranges of values;
- :func:`power`: trial sizes, as the trial would be analysed;
- :func:`calibrate`: free parameters fitted to published targets;
- :func:`psa`: parameter sets drawn from the uncertainty block, every policy on each;
- :func:`dsa`: each uncertain field alone at its 2.5th and 97.5th percentiles (tornado).

Each varies the scenario only through :func:`sim.config.variant`, and runs it through
:func:`sim.api.run` (:func:`psa` and :func:`dsa`, replication by replication, through
:func:`sim.api.replicate`).
"""

from sim.studies.calibrate import CalibrationResult, calibrate, write_calibrated
from sim.studies.compare import ECONOMICS, MAIN_METRICS, Comparison, compare
from sim.studies.dsa import DsaResult, dsa
from sim.studies.power import parse_sizes, power, with_trial_size
from sim.studies.psa import (
    PsaResult,
    decision_table,
    evppi_table,
    psa,
    variance_decomposition,
)
from sim.studies.sweep import DEFAULT_METRICS, parse_set, sweep

__all__ = [
    "CalibrationResult",
    "Comparison",
    "DsaResult",
    "PsaResult",
    "DEFAULT_METRICS",
    "ECONOMICS",
    "MAIN_METRICS",
    "calibrate",
    "compare",
    "decision_table",
    "dsa",
    "evppi_table",
    "parse_set",
    "parse_sizes",
    "power",
    "psa",
    "sweep",
    "variance_decomposition",
    "with_trial_size",
    "write_calibrated",
]
