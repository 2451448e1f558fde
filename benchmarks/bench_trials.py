"""How long 1,000 simulated CORE trials take: simulation and analysis, separately.

    python benchmarks/bench_trials.py [--trials 1000]

Single process, so the stages can be timed apart (CPU time of the process; the
garbage collector paused for each replication, as a run pauses it): the SimPy model
(``simulate_replication``), the tables as a run makes them (the event log reduced to
patients, spans, metrics and, where something is limited, the weekly series:
:class:`sim.analysis.tables.Reduction`), and the trial statistics (logistic OR, Cox
HR, Kaplan-Meier/RMST at three horizons, fast path; the attendance table), and the
same statistics through statsmodels for comparison. A whole run
on J processes divides the total by about J (docs/performance.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from sim.analysis.tables import Reduction
from sim.analysis.trial import attendance_table, trial_table
from sim.config import load_scenario
from sim.model.engine import collector_paused, simulate_replication

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument(
        "--statsmodels-trials",
        type=int,
        default=50,
        help="trials analysed with statsmodels too (it is slow)",
    )
    args = ap.parse_args()
    sc = load_scenario(ROOT / "scenarios" / "core-trial.yaml")
    simulate_replication(sc, 0)  # imports and caches
    t_sim = t_tab = t_trial = 0.0
    patients = []
    for r in range(args.trials):
        with collector_paused():  # as a run's replication is (sim.api.replicate)
            t0 = time.process_time()
            names, events = simulate_replication(sc, r)
            t1 = time.process_time()
            reduction = Reduction(sc, r)
            reduction.add(events)
            p = reduction.tables()["patients"]
            t2 = time.process_time()
            cols = reduction.columns()  # what a run's statistics read (sim.api._tables)
            trial_table(cols, sc)
            attendance_table(cols, sc)
            t3 = time.process_time()
        t_sim, t_tab, t_trial = t_sim + t1 - t0, t_tab + t2 - t1, t_trial + t3 - t2
        if r < args.statsmodels_trials:
            patients.append(p)
    t0 = time.perf_counter()
    trial_table(pd.concat(patients), sc, method="statsmodels")
    t_sm = (time.perf_counter() - t0) / len(patients) * args.trials
    total = t_sim + t_tab + t_trial
    print(f"{args.trials} simulated CORE trials (441 patients, 540 days), one process:")
    print(f"  simulation (SimPy model)          {t_sim:7.2f} s  {t_sim / total:5.1%}")
    print(f"  tables (events -> patients, metrics){t_tab:5.2f} s  {t_tab / total:5.1%}")
    print(f"  trial statistics (fast path)      {t_trial:7.2f} s  {t_trial / total:5.1%}")
    print(f"  total                             {total:7.2f} s")
    print(
        f"  trial statistics via statsmodels  {t_sm:7.2f} s  (extrapolated from "
        f"{len(patients)} trials)"
    )


if __name__ == "__main__":
    main()
