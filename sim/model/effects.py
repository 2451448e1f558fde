"""What a peer-support offer does to the readmission hazard: one object per mechanism.

The pathway (:mod:`sim.model.pathway`) calls an effect at three moments, and the
effect sets the episode's hazard multiplier on the :class:`~sim.model.clock.Clock`:

- :meth:`Effect.at_offer`: peer support has just been offered (allocation);
- :meth:`Effect.at_start`: a worker has just taken the patient on (first session);
- :meth:`Effect.at_attended`: the patient has just attended a session.

A new mechanism is a schema class (:mod:`sim.config.schema`, the YAML it reads) and a
subclass here registered in :data:`MECHANISMS`; the pathway does not change.
"""

from __future__ import annotations

from sim.config import DoseResponseEffect, ITTEffect, NoEffect
from sim.model.clock import Clock

__all__ = ["Effect", "NoChange", "IntentionToTreat", "DoseResponse", "MECHANISMS", "effect_of"]


class Effect:
    """The hooks, each doing nothing: the offer leaves the hazard alone."""

    __slots__ = ()

    def at_offer(self, clock: Clock, now: float) -> None:
        """Peer support has just been offered, at day ``now``."""

    def at_start(self, clock: Clock, now: float) -> None:
        """A worker has just taken the patient on, at day ``now``."""

    def at_attended(self, clock: Clock, now: float, attended: int) -> None:
        """The patient has just attended a session, the ``attended``-th, at day ``now``."""


class NoChange(Effect):
    """``mechanism: none``."""

    __slots__ = ()

    def __init__(self, spec: NoEffect):
        pass


class IntentionToTreat(Effect):
    """``mechanism: itt``: the hazard ratio for everyone offered, from the offer or from
    the first session, for a window, then ending or waning with a half-life.
    """

    __slots__ = ("ratio", "window", "half_life", "from_offer")

    def __init__(self, spec: ITTEffect):
        self.ratio, self.window, self.half_life = (
            spec.hazard_ratio,
            spec.window_days,
            spec.half_life_days,
        )
        self.from_offer = spec.starts_at == "offer"

    def at_offer(self, clock: Clock, now: float) -> None:
        """From the offer: the ratio holds for the window."""
        if self.from_offer:
            clock.set_effect(self.ratio, now + self.window, self.half_life)

    def at_start(self, clock: Clock, now: float) -> None:
        """From the first session: the ratio holds for the window."""
        if not self.from_offer:
            clock.set_effect(self.ratio, now + self.window, self.half_life)


class DoseResponse(Effect):
    """``mechanism: dose_response``: the ratio moves linearly with sessions attended, from
    1 (none) to the full-dose ratio, within a window from the first session.
    """

    __slots__ = ("ratio", "full_dose", "window", "half_life")

    def __init__(self, spec: DoseResponseEffect):
        self.ratio, self.full_dose = spec.hazard_ratio_at_full_dose, spec.full_dose_sessions
        self.window, self.half_life = spec.window_days, spec.half_life_days

    def at_start(self, clock: Clock, now: float) -> None:
        """The window opens at the first session; nothing attended yet, no benefit."""
        clock.set_effect(1.0, now + self.window, self.half_life)

    def at_attended(self, clock: Clock, now: float, attended: int) -> None:
        """One more session attended: the ratio for the dose so far (within the window)."""
        if now < clock.t_w:
            frac = attended / self.full_dose if attended < self.full_dose else 1.0
            clock.set_effect(1.0 - (1.0 - self.ratio) * frac, clock.t_w, clock.half_life)


MECHANISMS: dict[str, type[Effect]] = {
    "none": NoChange,
    "itt": IntentionToTreat,
    "dose_response": DoseResponse,
}


def effect_of(spec: NoEffect | ITTEffect | DoseResponseEffect) -> Effect:
    """The effect object for an arm's ``effect`` block."""
    return MECHANISMS[spec.mechanism](spec)
