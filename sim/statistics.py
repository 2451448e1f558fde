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
BED_DAYS_STATISTICS = ("bed_days_mean", "bed_days_sd", "bed_days_difference", "bed_days_ratio")
ATTENDANCE_STATISTICS = ("p_attended_3plus", "p_attended_all")
STATISTICS = (
    FIRST_READMISSION_STATISTICS + COUNT_STATISTICS + BED_DAYS_STATISTICS + ATTENDANCE_STATISTICS
)
RATIO_STATISTICS = (  # compared arm vs reference
    "odds_ratio",
    "hazard_ratio",
    "rate_ratio",
    "bed_days_ratio",
)
COMPARED_STATISTICS = (*RATIO_STATISTICS, "bed_days_difference")
# each compared statistic's 95% CI in trial.parquet (lower, upper): a paper's interval is
# set beside the simulated trials' own
CI_COLUMNS = {
    "odds_ratio": ("or_ci_low", "or_ci_high"),
    "hazard_ratio": ("hr_ci_low", "hr_ci_high"),
    "rate_ratio": ("rr_ci_low", "rr_ci_high"),
    "bed_days_difference": ("bd_ci_low", "bd_ci_high"),
    "bed_days_ratio": ("br_ci_low", "br_ci_high"),
}
