"""Studies of a scenario: many runs of it, varied in one way, under common random numbers.

- :func:`compare`: its policies, and other files' policies, side by side (paired);
- :func:`sweep`: fields over ranges of values;
- :func:`power`: trial sizes, as the trial would be analysed;
- :func:`calibrate`: free parameters fitted to published targets.

Each varies the scenario only through :func:`sim.config.variant`, and runs it through
:func:`sim.api.run`.
"""

from sim.studies.calibrate import CalibrationResult, calibrate, write_calibrated
from sim.studies.compare import ECONOMICS, MAIN_METRICS, Comparison, compare
from sim.studies.power import parse_sizes, power, with_trial_size
from sim.studies.sweep import DEFAULT_METRICS, parse_set, sweep

__all__ = [
    "CalibrationResult",
    "Comparison",
    "DEFAULT_METRICS",
    "ECONOMICS",
    "MAIN_METRICS",
    "calibrate",
    "compare",
    "parse_set",
    "parse_sizes",
    "power",
    "sweep",
    "with_trial_size",
    "write_calibrated",
]
