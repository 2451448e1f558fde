"""Engine throughput against a minimal SimPy skeleton of the same pathway.

    python benchmarks/bench_engine.py [--reps N] [--repeat K]

Single process. For each scenario it times ``simulate_replication`` (the SimPy
model and its draws, not the pandas tables) and, in the same run, a skeleton that
keeps only what SimPy itself costs: one process per patient, the same entry
times, a peer-worker pool with the same places and lapse (``request | timeout``),
up to 10 weekly sessions with a pre-drawn Weibull readmission time compared inside
the process, a bed resource and a length of stay, new episodes after discharge;
numbers drawn in bulk, no configuration, no event log. "Events" are
pathway events (entry, session, readmission, admission, discharge, exit) counted
the same way in both. The two are timed in turn, in CPU time of this process (time
taken by other load on the machine counts for neither), and the best of K repeats of
each is reported (least disturbed).
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np
import simpy

from sim.config import Scenario, load_scenario
from sim.model.engine import entry_times, simulate_replication

ROOT = Path(__file__).resolve().parents[1]


def skeleton(scenario: Scenario, replication: int) -> tuple[int, int]:
    """The floor: the pathway in bare SimPy. Returns (patients, events)."""
    rng = np.random.default_rng(replication)
    b = scenario.readmission.baseline
    shape, scale = getattr(b, "shape", 1.0), getattr(b, "scale_days", 1000.0)
    entries = entry_times(scenario, replication)
    end = scenario.end_day
    follow = scenario.feed.follow_up_days if scenario.is_trial else None
    beds = scenario.acute_care.ward.capacity
    pw = scenario.peer_workers
    places = pw.count * pw.caseload_per_worker if pw.count else None
    max_wait = pw.max_wait_days or math.inf
    # a trial is one world with alternating arms; a service runs each policy on everyone
    worlds = [scenario.arms] if scenario.is_trial else [[a] for a in scenario.arms]
    patients = events = 0
    for arms in worlds:
        n, e = _skeleton_world(
            arms, entries, rng, shape, scale, end, follow, beds, places, max_wait
        )
        patients, events = patients + n, events + e
    return patients, events


def _skeleton_world(arms, entries, rng, shape, scale, end, follow, beds, places, max_wait):
    """One SimPy environment of the skeleton. Returns (patients, events)."""
    env = simpy.Environment()
    ward = simpy.Resource(env, beds) if beds else None
    workers = simpy.Resource(env, places) if places else None
    n = len(entries)
    weib = (scale * rng.weibull(shape, (n, 8))).tolist()
    los = rng.exponential(30.0, (n, 8)).tolist()
    count = [0]

    def patient(env, i, stop, n_sessions):
        count[0] += 1  # entry
        ep = 0
        while True:
            t_r = env.now + weib[i][ep % 8]
            sessions, req = (n_sessions if ep == 0 else 0), None
            if sessions and workers is not None:
                req = workers.request()
                limit = min(t_r, stop, env.now + max_wait) - env.now
                yield req | env.timeout(limit)
                if not req.triggered:
                    req.cancel()
                    req, sessions = None, 0
            for _ in range(sessions):
                t_s = env.now + 7.0
                if t_r <= t_s or t_s >= stop:
                    break
                yield env.timeout(7.0)
                count[0] += 1  # session
            if req is not None:
                workers.release(req)
            if t_r >= stop:  # nothing more can happen: leave at once, as the engine does
                count[0] += 1  # exit
                return
            yield env.timeout(max(t_r - env.now, 0.0))
            count[0] += 2  # readmission, admission
            bed = ward.request() if ward else None
            if bed is not None:
                yield bed
            stay = min(los[i][ep % 8], stop - env.now)
            yield env.timeout(stay)
            if bed is not None:
                ward.release(bed)
            count[0] += 1  # discharge or exit
            if env.now >= stop:
                return
            ep += 1

    def source(env, arms=arms):
        sessions = [a.peer_support.n_sessions if a.peer_support else 0 for a in arms]
        for i, t in enumerate(entries):
            if t > env.now:
                yield env.timeout(t - env.now)
            stop = (t + follow) if follow else end
            env.process(patient(env, i, stop, sessions[i % len(arms)]))

    env.process(source(env))
    env.run()
    return n, count[0]


def engine(scenario: Scenario, replication: int) -> tuple[int, int]:
    """The full engine. Returns (patients, events)."""
    _, events = simulate_replication(scenario, replication)
    patients = sum(1 for e in events if e[4] == "entry")
    return patients, len(events)


def _timed(fn, scenario: Scenario, reps: int) -> tuple[float, float, float]:
    """(patients/s, events/s, seconds) of ``reps`` replications."""
    t0 = time.process_time()
    patients = events = 0
    for r in range(reps):
        p, e = fn(scenario, r)
        patients, events = patients + p, events + e
    dt = time.process_time() - t0
    return patients / dt, events / dt, dt


def measure(scenario: Scenario, reps: int, repeat: int) -> tuple[tuple, tuple]:
    """Best-of-``repeat`` (patients/s, events/s, seconds) of the engine and the skeleton.

    The two are timed in turn, repeat by repeat, so that both see the machine as it is
    at the time (another load on it changes both, not the ratio). One untimed
    replication of each first: imports (scipy for a waning effect) and caches are
    one-off costs of a process, not of a replication.
    """
    engine(scenario, 0)
    skeleton(scenario, 0)
    best_e = best_s = (0.0, 0.0, 0.0)
    for _ in range(repeat):
        e = _timed(engine, scenario, reps)
        s = _timed(skeleton, scenario, reps)
        best_e, best_s = max(best_e, e), max(best_s, s)
    return best_e, best_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20, help="replications per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="take the best of this many")
    args = ap.parse_args()
    print(
        f"python {platform.python_version()}, simpy {simpy.__version__}, numpy {np.__version__},"
        f" {platform.machine()}; best of {args.repeat}, {args.reps} replications each\n"
    )
    header = f"{'scenario':<22}{'what':<10}{'patients/s':>12}{'events/s':>12}{'seconds':>9}"
    print(header)
    print("-" * len(header))
    for name in ("core-trial", "service-baseline"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        reps = args.reps if sc.is_trial else max(1, math.ceil(args.reps / 10))
        e, s = measure(sc, reps, args.repeat)
        for what, (pps, eps, dt) in (("engine", e), ("skeleton", s)):
            print(f"{name:<22}{what:<10}{pps:>12,.0f}{eps:>12,.0f}{dt:>9.2f}")
        print(
            f"{'':<22}{'ratio':<10}{e[0] / s[0]:>12.2f}{e[1] / s[1]:>12.2f}   (engine / skeleton)"
        )


if __name__ == "__main__":
    main()
