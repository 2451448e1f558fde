"""Figures as files: PNG and SVG bytes, the same every time, stamped with what made them.

Each study decides its own figures (:meth:`sim.study.Study.figures`, from its result in
memory) and the output directory's lifecycle (:mod:`sim.workspace`) encodes them here.
The plots themselves (one function per kind of plot, composable in a notebook) are in
:mod:`sim.plots`; :func:`capacity_figure` is the one figure two studies share.
"""

from __future__ import annotations

import sys
from io import BytesIO

import pandas as pd
from matplotlib.figure import Figure

from sim import plots
from sim.config import Scenario

__all__ = ["DPI", "png", "svg", "encoded", "stamp", "capacity_figure"]

DPI = 150  # sharp when a PNG is pasted into a document at its width


def png(fig: Figure) -> bytes:
    """A figure as PNG bytes, at the resolution every command uses."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def svg(fig: Figure) -> bytes:
    """A figure as SVG bytes, the same bytes for the same figure.

    Text is drawn as paths (no font to fetch), with no date stamp and element ids from a
    fixed salt.
    """
    import matplotlib as mpl

    buf = BytesIO()
    with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": "crisis-sim"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def stamp(kind: str, scenarios: list[str], seed: int, detail: str = "") -> str:
    """The line every figure of a study carries at its foot: what made it."""
    from importlib.metadata import version

    parts = [f"crisis-sim {version('crisis-sim')} {kind}", ", ".join(scenarios), f"seed {seed}"]
    return " \u00b7 ".join([*parts, detail] if detail else parts)


def _stamped(fig: Figure, text: str) -> None:
    """``text`` in small grey type in a strip kept free at the foot of ``fig``."""
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        strip = 0.22 / fig.get_figheight()  # inches of the strip as a share of the height
        engine.set(rect=(0, strip, 1, 1 - strip))
    fig.text(0.005, 0.004, text, fontsize=6.5, color="0.45", ha="left", va="bottom")


def _svg_name(name: str) -> str:
    return name.removesuffix(".png") + ".svg"


def _encode(items: list[tuple[str, Figure]]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, fig in items:
        out[name] = png(fig)
        out[_svg_name(name)] = svg(fig)
    return out


def _split(items: list[tuple[str, Figure]]) -> tuple[list, list]:
    """The figures shared between two processes, each drawn whole by one of them.

    A figure costs about as much as it has panels (the layout and the ticks of each;
    measured: a six-panel figure took 2.9 s, PNG and SVG, a one-panel figure 0.5 s);
    each is given to the process with less to draw so far, the dearest first. A
    figure's PNG and SVG stay together: its SVG drawn after its PNG, as one by one
    here (a layout drawn afresh can differ in the last bits, and so the SVG's ids).
    """
    panels = [max(1, sum(ax.get_visible() for ax in fig.axes)) for _, fig in items]
    load, sides = [0, 0], ([], [])
    for i in sorted(range(len(items)), key=lambda i: -panels[i]):  # stable for ties
        side = 0 if load[0] <= load[1] else 1
        load[side] += panels[i]
        sides[side].append(items[i])
    return sides


def _fork_is_safe() -> bool:
    """Whether a child can be forked to draw.

    Linux, no other thread that a fork would copy in the middle of its work (a Dask
    client's, say), and not inside a daemonic process (a ``multiprocessing.Pool``'s
    worker, which may have no children).
    """
    import multiprocessing
    import threading

    return (
        sys.platform.startswith("linux")
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon
    )


def _child(items: list[tuple[str, Figure]], conn) -> None:
    try:
        conn.send(_encode(items))
    finally:
        conn.close()


def encoded(figures: dict[str, Figure], stamp: str = "") -> dict[str, bytes]:
    """Each figure as PNG (``x.png``) and SVG (``x.svg``), ``stamp`` at its foot.

    ``stamp``: the study's line (:func:`stamp`), or nothing.

    With two figures or more, a forked child process draws about half of them while
    this one draws the rest (:func:`_split`; drawing is most of a command's last
    seconds): the same bytes as drawn one by one here, which is what happens if the
    child cannot be forked or fails.
    """
    items = list(figures.items())
    if stamp:
        for _, fig in items:
            _stamped(fig, stamp)
    done: dict[str, bytes] = {}
    if len(items) > 1 and _fork_is_safe():
        import multiprocessing

        mine, theirs = _split(items)
        ctx = multiprocessing.get_context("fork")
        reader, writer = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_child, args=(theirs, writer), daemon=True)
        child.start()
        writer.close()
        try:
            done.update(_encode(mine))
            try:
                done.update(reader.recv())
            except EOFError:  # the child died: draw its share here
                done.update(_encode(theirs))
        finally:
            reader.close()
            child.join()
    else:
        done = _encode(items)
    out: dict[str, bytes] = {}
    for name, _ in items:
        out[name] = done[name]
        out[_svg_name(name)] = done[_svg_name(name)]
    return out


def capacity_figure(timeseries: pd.DataFrame, scenario: Scenario) -> Figure:
    """Ward occupancy and the waiting list over time, with the scenario's warm-up and beds."""
    warm, _ = scenario.measured_window
    return plots.capacity_over_time(timeseries, warm, scenario.acute_care.ward.capacity)
