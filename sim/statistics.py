"""The statistics' vocabulary: what a simulated trial's analysis is summarised by.

It imports nothing, and sits below both the scenario schema (whose published figures
and calibration targets name these statistics) and the analysis (which computes them,
:mod:`sim.analysis.trial`), as :mod:`sim.events` does for the events.

Each statistic is a column of ``trial.parquet`` (one value per simulated trial, arm
and horizon), with the endpoint that must be switched on for it, except the attendance
shares, which are metrics (``metrics.parquet``). Definitions: docs/outputs.md.
"""

FIRST_READMISSION_STATISTICS = (
    "p_readmitted",
    "odds_ratio",
    "hazard_ratio",
    "rmst_days",
    "mean_days_readmitted",
    "median_days_readmitted",
)
COUNT_STATISTICS = ("readmissions_mean", "readmissions_sd", "readmissions_mcf", "rate_ratio")
BED_DAYS_STATISTICS = ("bed_days_mean", "bed_days_sd", "bed_days_difference")
ATTENDANCE_STATISTICS = ("p_attended_3plus", "p_attended_all")
STATISTICS = (
    FIRST_READMISSION_STATISTICS + COUNT_STATISTICS + BED_DAYS_STATISTICS + ATTENDANCE_STATISTICS
)
RATIO_STATISTICS = ("odds_ratio", "hazard_ratio", "rate_ratio")  # compared arm vs reference
COMPARED_STATISTICS = (*RATIO_STATISTICS, "bed_days_difference")
