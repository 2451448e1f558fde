"""How long 1,000 simulated CORE trials take: simulation and analysis, separately.

    python benchmarks/bench_trials.py [--trials 1000]

Single process, so the stages can be timed apart (CPU time of the process; the
garbage collector paused for each replication, as a run pauses it): the SimPy model
(``simulate_replication``), the tables as a run makes them (the event log reduced to
patients, spans, metrics and, where something is limited, the weekly series:
:class:`sim.analysis.tables.Reduction`), and the trial statistics (logistic OR, Cox
HR, Kaplan-Meier/RMST at three horizons, fast path; the attendance table), the frames
made once for each chunk of replications (:class:`sim.results.Batch`, as a run's worker
makes them before sending a chunk back), and the same statistics through statsmodels for
comparison. A whole run on J processes divides the total by about J
(docs/performance.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from sim.analysis.tables import Reduction, Unframed
from sim.analysis.trial import attendance_columns, trial_rows, trial_table
from sim.config import load_scenario
from sim.model.engine import collector_paused, simulate_replication
from sim.results import Batch

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 100  # replications a chunk: a run's are larger (about ten seconds of work)


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
    t_sim = t_tab = t_trial = t_join = 0.0
    patients, chunk = [], []
    for r in range(args.trials):
        with collector_paused():  # as a run's replication is (sim.api.replicate)
            t0 = time.process_time()
            names, events = simulate_replication(sc, r)
            t1 = time.process_time()
            reduction = Reduction(sc, r)
            reduction.add(events)
            tables = reduction.tables(framed=False)  # made frames with the chunk's, below
            t2 = time.process_time()
            cols = reduction.columns()  # what a run's statistics read (sim.api._tables)
            tables["trial"] = trial_rows(cols, sc)
            tables["attendance"] = Unframed(columns=attendance_columns(cols, sc))
            t3 = time.process_time()
        t_sim, t_tab, t_trial = t_sim + t1 - t0, t_tab + t2 - t1, t_trial + t3 - t2
        chunk.append((r, tables))
        if len(chunk) == CHUNK or r == args.trials - 1:  # as a worker ends a chunk
            t0 = time.process_time()
            batch = Batch.of(chunk)
            t_join += time.process_time() - t0
            if len(patients) < args.statsmodels_trials:
                patients.append(batch.get("patients"))
            chunk = []
    patients = pd.concat(patients)
    patients = patients[patients["replication"] < args.statsmodels_trials]
    n_sm = patients["replication"].nunique()
    t0 = time.perf_counter()
    trial_table(patients, sc, method="statsmodels")
    t_sm = (time.perf_counter() - t0) / n_sm * args.trials
    total = t_sim + t_tab + t_trial + t_join
    print(f"{args.trials} simulated CORE trials (441 patients, 540 days), one process:")
    print(f"  simulation (SimPy model)          {t_sim:7.2f} s  {t_sim / total:5.1%}")
    print(f"  tables (events -> patients, metrics){t_tab:5.2f} s  {t_tab / total:5.1%}")
    print(f"  trial statistics (fast path)      {t_trial:7.2f} s  {t_trial / total:5.1%}")
    print(f"  frames, once a chunk of {CHUNK:<4}      {t_join:7.2f} s  {t_join / total:5.1%}")
    print(f"  total                             {total:7.2f} s")
    print(f"  trial statistics via statsmodels  {t_sm:7.2f} s  (extrapolated from {n_sm} trials)")


if __name__ == "__main__":
    main()
