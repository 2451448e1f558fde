"""Mutated scenario files never give a traceback or a hang: exit 0, or exit 2 and a message.

2,000 documents, each a small trial or service scenario with one to three mutations
(keys dropped, types swapped, extreme and non-finite numbers, huge integers, odd
unicode, YAML anchors and alias bombs, deep nesting, ``base:`` cycles and paths to
devices or directories, broken text), drawn from a fixed seed. Each goes through
``crisis-sim validate`` and, if valid, a 2-replication ``crisis-sim run``, in-process
(two worker processes share them), each case given 10 seconds at most.
"""

from __future__ import annotations

import copy
import multiprocessing
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import SERVICE, TRIAL, doc

pytestmark = pytest.mark.slow

N = 2000
SEED = 20261204
LIMIT = 10  # seconds a case may take

TYPES: list[Any] = ["x", "", [], {}, None, True, False, 1, -1, 0, 0.5, [1, 2], {"a": 1}]
EXTREMES: list[Any] = [
    0,
    -0.0,
    -1,
    1e-320,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    2**63,
    2**64 + 1,
    -(2**70),
    10**30,
    1e9,
    123456789,
    0.999999999,
    1.000000001,
]
UNICODE = [
    "\u202eevil",  # right-to-left override
    "a\u0301\u0301\u0301",  # stacked combining accents
    "\U0001f600" * 50,
    "\u0000",
    "\x1b[31mred",
    "tab\tand\nnewline",
    "x" * 100_000,
    "Δ-π-ß",
    "\ufeffbom",
    "\ud7ff\ue000",
]


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    """Every key path in a document (list items by index)."""
    out = [at] if at else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


def _set(node: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _drop(node: Any, path: tuple) -> None:
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


def _leaves(d: Any, kind: type | tuple) -> list[tuple]:
    def get(path: tuple) -> Any:
        node = d
        for k in path:
            node = node[k]
        return node

    return [
        p for p in _paths(d) if isinstance(get(p), kind) and not isinstance(get(p), bool)
    ] or _paths(d)


def make_case(i: int, root: Path) -> Path:
    """Case ``i``: its scenario file (and any file it names), written under ``root``."""
    rng = np.random.default_rng([SEED, i])
    d = copy.deepcopy(doc(TRIAL if rng.random() < 0.5 else SERVICE))
    d["name"] = f"fuzz-{i}"
    here = root / f"case-{i}"
    here.mkdir()
    path = here / "s.yaml"
    text: str | bytes | None = None
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.choice(
            ["drop", "swap", "extreme", "unicode", "deep", "base", "anchor", "huge", "text"],
            p=[0.2, 0.2, 0.25, 0.08, 0.05, 0.07, 0.05, 0.05, 0.05],
        )
        paths = _paths(d)
        pick = paths[int(rng.integers(len(paths)))] if paths else ("name",)
        if kind == "drop" and paths:
            _drop(d, pick)
        elif kind == "swap":
            _set(d, pick, copy.deepcopy(TYPES[int(rng.integers(len(TYPES)))]))
        elif kind == "extreme":
            numbers = _leaves(d, (int, float))
            _set(
                d,
                numbers[int(rng.integers(len(numbers)))],
                EXTREMES[int(rng.integers(len(EXTREMES)))],
            )
        elif kind == "unicode":
            strings = _leaves(d, str)
            _set(
                d,
                strings[int(rng.integers(len(strings)))],
                UNICODE[int(rng.integers(len(UNICODE)))],
            )
        elif kind == "deep":  # as text: too deep for the YAML writer's recursion
            depth = int(rng.integers(40, 400))
            _set(d, pick, "DEEP")
            text = yaml.safe_dump(d, width=10**9).replace("DEEP", "[" * depth + "1" + "]" * depth)
        elif kind == "base":
            other = here / "other.yaml"
            other.write_text(yaml.safe_dump({"base": "s.yaml", "seed": 3}))
            (here / "a-directory").mkdir(exist_ok=True)
            d["base"] = [
                "s.yaml",  # itself
                "other.yaml",  # a cycle through another file
                "/dev/zero",
                "/dev/null",
                "/dev/stdin",
                "/proc/self/mem",
                "a-directory",
                "missing.yaml",
                "",
                5,
            ][int(rng.integers(10))]
        elif kind == "anchor":
            width, levels = int(rng.integers(2, 12)), int(rng.integers(2, 12))
            lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            lines += [
                f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * width)}]" for k in range(1, levels)
            ]
            lines.append(f"{yaml.safe_dump(d)}")
            text = "\n".join(lines) if rng.random() < 0.8 else "self: &s [*s]\n" + yaml.safe_dump(d)
        elif kind == "huge":
            digits = "9" * int(rng.integers(4000, 20000))
            numbers = _leaves(d, (int, float))
            key = numbers[int(rng.integers(len(numbers)))]
            _set(d, key, "HUGE")
            text = yaml.safe_dump(d, width=10**9).replace("HUGE", digits)
        elif kind == "text":
            raw = yaml.safe_dump(d).encode()
            how = int(rng.integers(4))
            if how == 0:
                text = raw[: int(rng.integers(1, len(raw)))]
            elif how == 1:
                text = raw.replace(b"  ", b"\t", 1)
            elif how == 2:
                cut = int(rng.integers(len(raw)))
                text = raw[:cut] + bytes([0xFF, 0xFE, 0x80]) + raw[cut:]
            else:
                text = b"\x00" * int(rng.integers(1, 50)) + raw
    if text is None:
        text = yaml.safe_dump(d, allow_unicode=bool(rng.random() < 0.5))
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    path.write_bytes(text)
    return path


class Hang(Exception):
    """A case took longer than LIMIT seconds."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def run_case(args: tuple[int, str]) -> tuple[int, str, str | None]:
    """Validate case ``i`` and, if valid, run it: (i, what happened, what went wrong)."""
    from click.testing import CliRunner

    from sim.api import estimated_seconds
    from sim.cli import cli
    from sim.config import load_scenario

    i, root = args
    path = make_case(i, Path(root))
    runner = CliRunner()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(LIMIT)
    outcome = "refused"
    try:
        steps = [
            ["validate", str(path)],
            ["run", str(path), "--reps", "2", "--jobs", "1", "-q", "--out", str(path.parent / "o")],
        ]
        for k, step in enumerate(steps):
            res = runner.invoke(cli, step)
            out = res.output + (res.stderr if hasattr(res, "stderr") else "")
            if isinstance(res.exception, Hang) or "test_fuzz.Hang" in out:
                return i, outcome, f"{step[0]}: over {LIMIT} s"
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                return i, outcome, f"{step[0]}: {type(res.exception).__name__}: {res.exception}"
            if res.exit_code not in (0, 2):
                return i, outcome, f"{step[0]}: exit {res.exit_code}: {out[-300:]}"
            if "Traceback" in out:
                return i, outcome, f"{step[0]}: a traceback: {out[-300:]}"
            if res.exit_code == 2:
                break  # refused, with a message: the case is done
            if k == 0 and estimated_seconds(load_scenario(path), 2) > LIMIT / 4:
                outcome = "valid, too big to run here"  # the run would say how big
                break
            outcome = "valid" if k == 0 else "ran"
    except Hang:
        return i, outcome, f"over {LIMIT} s"
    finally:
        signal.alarm(0)
    return i, outcome, None


def test_mutated_scenarios_give_no_traceback_and_no_hang(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2, maxtasksperchild=200) as pool:
        cases = list(pool.imap_unordered(run_case, [(i, str(tmp_path)) for i in range(N)]))
    counts: dict[str, int] = {}
    for _, outcome, _ in cases:
        counts[outcome] = counts.get(outcome, 0) + 1
    print(f"\n{N} mutated scenarios: {counts}")
    problems = sorted((i, what) for i, _, what in cases if what)
    shown = "\n".join(f"case {i}: {what[:400]}" for i, what in problems[:20])
    assert not problems, f"{len(problems)} of {N} cases went wrong:\n{shown}"
    assert counts.get("ran", 0) >= 50  # enough valid ones to have run something
