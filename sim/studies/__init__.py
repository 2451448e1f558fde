"""Studies of a scenario: each kind one module, each a study (:class:`sim.study.Study`).

- :mod:`~sim.studies.run`: its replications, every arm on the same patients
  (:func:`run_to_directory` writes the run directory, resumably);
- :func:`compare`: its policies, and other files' policies, side by side (paired);
- :func:`sweep`: fields over ranges of values;
- :func:`power`: trial sizes, as the trial would be analysed;
- :func:`calibrate`: free parameters fitted to published targets;
- :func:`psa`: parameter sets drawn from the uncertainty block, every policy on each;
- :func:`dsa`: each uncertain field alone at its 2.5th and 97.5th percentiles (tornado).

Each varies the scenario only through :func:`sim.config.variant`, and runs it through
:func:`sim.api.run` or :func:`sim.api.run_many` (:func:`psa` and :func:`dsa`, run by run,
through :func:`sim.api.replicate_many`). Each result is a study: its tables, figures,
printout and report section are its own, and :class:`sim.workspace.Workspace` writes
any of them to a directory. Importing this package registers every kind
(:func:`sim.study.kinds`).
"""

from sim.studies.calibrate import Calibration, CalibrationResult, calibrate, write_calibrated
from sim.studies.compare import ECONOMICS, MAIN_METRICS, Comparison, compare
from sim.studies.dsa import DsaResult, OneWay, dsa, dsa_to_directory
from sim.studies.power import Power, parse_sizes, power, power_table, with_trial_size
from sim.studies.psa import (
    PsaResult,
    decision_table,
    evppi_table,
    psa,
    psa_to_directory,
    variance_decomposition,
)
from sim.studies.run import OUTPUT_FILES, Run, run_to_directory
from sim.studies.sweep import DEFAULT_METRICS, Sweep, parse_set, sweep

__all__ = [
    "Calibration",
    "CalibrationResult",
    "Comparison",
    "DsaResult",
    "OneWay",
    "OUTPUT_FILES",
    "Power",
    "PsaResult",
    "Run",
    "Sweep",
    "DEFAULT_METRICS",
    "ECONOMICS",
    "MAIN_METRICS",
    "calibrate",
    "compare",
    "decision_table",
    "dsa",
    "dsa_to_directory",
    "evppi_table",
    "parse_set",
    "parse_sizes",
    "power",
    "power_table",
    "psa",
    "psa_to_directory",
    "run_to_directory",
    "sweep",
    "variance_decomposition",
    "with_trial_size",
    "write_calibrated",
]
