"""Named random streams, derived from the scenario seed, owned patient by patient.

Every number comes from a ``numpy.random.Generator`` seeded by
``SeedSequence(seed, spawn_key=(replication, STREAM_ID[name], ...))``. Nothing
reads global random state.

To keep per-patient streams cheap (a scalar draw costs about as much as a SimPy
event, a value from a bulk draw a hundredth of that: docs/performance.md) each stream is drawn for
a block of :data:`BLOCK` consecutive patient ids at once, keyed by the block
index; patient ``pid`` owns row ``pid % BLOCK`` of block ``pid // BLOCK``. The
numbers a patient gets are therefore a function of (seed, replication, stream,
patient id) only: the same under every arm or policy and whatever the number of
processes. Per episode, the first :data:`EPISODES` episodes come from the blocks;
later ones (rare) from a stream keyed by the patient id and the episode.
Session uniforms come in chunks of :data:`SESSION_CHUNK`, so session j gets the
same number whether 10 or 20 sessions are offered.

Stream ids are part of the reproducibility contract: never renumber one; add new
streams with new ids.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np

from sim.config import Arm, Scenario
from sim.distributions import make_sampler

__all__ = [
    "STREAM_ID",
    "STUDY_STREAM_ID",
    "study_stream",
    "BLOCK",
    "EPISODES",
    "SESSION_CHUNK",
    "stream",
    "PatientBank",
    "Draws",
]

STREAM_ID: dict[str, int] = {
    "allocation": 1,
    "arrivals": 2,
    "risk_group": 10,
    "frailty": 11,
    "engagement": 12,
    "never_engage": 13,
    "death": 14,
    "loss": 15,
    "readmission": 20,  # Exp(1) hazard budgets, one per episode
    "setting": 21,  # uniform: ward or CRT
    "los_ward": 22,
    "los_crt": 23,
    "sessions": 24,  # uniform per offered session: attended if u < engagement
}
# Streams of a whole study rather than of one replication: keyed by the seed and this
# id alone (a one-element spawn key, so they can never meet a replication's streams,
# whose keys have two elements or more).
STUDY_STREAM_ID: dict[str, int] = {
    "bootstrap": 99,  # resampling replications for a ratio's CI (compare)
    "psa": 98,  # the parameter sets of a probabilistic sensitivity analysis
    "calibration-noise": 97,  # resampling the check's trials for a median's noise
}
BLOCK = 256
EPISODES = 8
SESSION_CHUNK = 10
# Blocks a bank keeps for its next reader (a service's policies are simulated one after
# the other on the same draws): a block is about 0.3 MB with ten sessions, so at most
# about 20 MB; a larger service generates the later blocks again for each policy.
KEPT_BLOCKS = 64
# and at most this many episodes past the blocked ones (four numbers each, made from
# four streams: 60 us; frail patients of a long service run have many)
KEPT_OVERFLOW = 200_000
_BLOCKED, _OVERFLOW = 0, 1


def stream(seed: int, replication: int, name: str, *key: int) -> np.random.Generator:
    """The generator for a named stream (and optional sub-key) of one replication."""
    seq = np.random.SeedSequence(seed, spawn_key=(replication, STREAM_ID[name], *key))
    return np.random.Generator(np.random.PCG64(seq))


def study_stream(seed: int, name: str) -> np.random.Generator:
    """The generator for a named stream of a whole study (:data:`STUDY_STREAM_ID`)."""
    seq = np.random.SeedSequence(seed, spawn_key=(STUDY_STREAM_ID[name],))
    return np.random.Generator(np.random.PCG64(seq))


class Draws:
    """Everything random about one patient, drawn before the patient enters.

    Attributes are plain Python numbers and sequences of floats (``array.array``): the
    model reads them in its hot loop. Episode ``e``'s values are ``budget[e]`` (Exp(1)
    hazard budget), ``setting_u[e]`` (uniform; ward if below p_ward), ``los_ward[e]``,
    ``los_crt[e]`` (days) and ``session_uniforms(e)`` (one uniform per offered session,
    episode after episode in ``_sessions``, ``_stride`` per episode).
    """

    __slots__ = (
        "pid",
        "risk_group",
        "frailty",
        "engagement",
        "death_e1",
        "loss_e1",
        "budget",
        "setting_u",
        "los_ward",
        "los_crt",
        "_sessions",
        "_stride",
        "_bank",
    )

    def session_uniforms(self, episode: int) -> Sequence[float]:
        """Uniforms of the sessions offered in ``episode``: session j attended if u[j] < p."""
        if episode < EPISODES:
            k = self._stride
            return self._sessions[episode * k : (episode + 1) * k]
        return self._bank._overflow_sessions(self.pid, episode)

    def drop_sessions(self) -> None:
        """Let go of the session uniforms (they will not be asked for again)."""
        self._sessions = None

    def extend_to(self, episode: int) -> None:
        """Make sure episode ``episode``'s draws exist (episodes past the blocked ones)."""
        while len(self.budget) <= episode:
            self._bank._overflow_episode(self, len(self.budget))


def _zeros(rng: np.random.Generator, size: tuple[int, ...] | int) -> np.ndarray:
    return np.zeros(size)


def _flat(x: np.ndarray) -> array:
    """The block's numbers, row after row, as one ``array.array`` of doubles.

    Each patient takes a slice of it (a copy of its own row, made in C): what a list of
    floats does for the model (index, append, len) in 40% of the memory, which counts
    when hundreds of thousands of patients are in follow-up at once. One array sliced
    per patient, rather than an array built per row, cut a block's draws from 1.4 to
    0.4 ms (docs/performance.md).
    """
    return array("d", np.ascontiguousarray(x, dtype=np.float64).tobytes())


class PatientBank:
    """Draws for the patients of one replication, generated block by block.

    Parameters
    ----------
    scenario
        The validated scenario (distribution parameters come from it).
    replication
        Replication index; part of every stream key.
    """

    def __init__(self, scenario: Scenario, replication: int, arm: Arm | None = None):
        self.seed, self.rep = scenario.seed, replication
        groups = scenario.population.risk_groups
        self._cum_shares = np.cumsum([g.share for g in groups])
        self._cum_shares[-1] = 1.0
        self._theta = scenario.population.frailty_variance
        att = scenario.attendance_of(arm) if arm is not None else scenario.attendance
        acute = scenario.acute_care_of(arm) if arm is not None else scenario.acute_care
        self._a, self._b, self._p_never = (
            att.engagement.alpha,
            att.engagement.beta,
            att.p_never_engage,
        )
        self._los_ward = make_sampler(acute.ward.length_of_stay)
        # no CRT (every readmission to a ward): its lengths of stay are never read
        self._los_crt = make_sampler(acute.crt.length_of_stay) if acute.crt else _zeros
        n_max = max((a.peer_support.n_sessions for a in scenario.arms if a.peer_support), default=0)
        self._chunks = math.ceil(n_max / SESSION_CHUNK)
        self._n_sessions = n_max
        self._block_index = -1
        self._block: tuple = ()
        self._kept: dict[int, tuple] | None = None
        self._kept_overflow: dict[tuple[int, int], tuple[float, ...]] | None = None

    def keep_blocks(self) -> None:
        """Keep the first :data:`KEPT_BLOCKS` blocks once made, and up to
        :data:`KEPT_OVERFLOW` later episodes: the bank will be read again from the first
        patient (by another policy's world)."""
        if self._kept is None:
            self._kept, self._kept_overflow = {}, {}

    @staticmethod
    def key(scenario: Scenario, arm: Arm) -> str:
        """What an arm's draws depend on beyond the scenario: arms with equal keys share."""
        att = scenario.attendance_of(arm)
        acute = scenario.acute_care_of(arm)
        stays = (acute.ward.length_of_stay, acute.crt.length_of_stay if acute.crt else None)
        return repr((att.engagement, att.p_never_engage, stays))

    def _gen(self, name: str, *key: int) -> np.random.Generator:
        return stream(self.seed, self.rep, name, *key)

    def _load_block(self, b: int) -> None:
        kept = self._kept
        if kept is not None and b in kept:
            self._block, self._block_index = kept[b], b
            return
        self._make_block(b)
        if kept is not None and len(kept) < KEPT_BLOCKS:
            kept[b] = self._block

    def _make_block(self, b: int) -> None:
        B, K, key = BLOCK, EPISODES, (_BLOCKED, b)
        g = self._gen
        u_risk = g("risk_group", *key).random(B)
        risk = np.searchsorted(self._cum_shares, u_risk, side="right")
        frailty = (
            g("frailty", *key).gamma(1.0 / self._theta, self._theta, B)
            if self._theta > 0
            else np.ones(B)
        )
        engaged = g("never_engage", *key).random(B) >= self._p_never
        engagement = np.where(engaged, g("engagement", *key).beta(self._a, self._b, B), 0.0)
        sessions = np.empty((B, K, 0))  # (patient, episode, session j)
        if self._chunks:
            chunks = [
                g("sessions", *key, c).random((B, K, SESSION_CHUNK)) for c in range(self._chunks)
            ]
            sessions = np.concatenate(chunks, axis=2)[:, :, : self._n_sessions]
        self._block = (
            np.minimum(risk, len(self._cum_shares) - 1).tolist(),
            frailty.tolist(),
            engagement.tolist(),
            g("death", *key).standard_exponential(B).tolist(),
            g("loss", *key).standard_exponential(B).tolist(),
            _flat(g("readmission", *key).standard_exponential((B, K))),
            _flat(g("setting", *key).random((B, K))),
            _flat(self._los_ward(rng=g("los_ward", *key), size=(B, K))),
            _flat(self._los_crt(rng=g("los_crt", *key), size=(B, K))),
            # sliced per patient (a copy: a view would keep the whole block alive for as
            # long as any of its patients is followed up)
            _flat(sessions),
        )
        self._block_index = b

    def patient(self, pid: int) -> Draws:
        """The draws of patient ``pid`` (0-based, in order of entry)."""
        b, r = divmod(pid, BLOCK)
        if b != self._block_index:
            self._load_block(b)
        risk, frailty, engagement, death, loss, budget, setting, ward, crt, sessions = self._block
        d = Draws()
        d.pid, d._bank = pid, self
        d.risk_group = risk[r]
        d.frailty = frailty[r]
        d.engagement = engagement[r]
        d.death_e1 = death[r]
        d.loss_e1 = loss[r]
        # slices are copies: the patient's own rows (overflow episodes append)
        lo, hi = r * EPISODES, (r + 1) * EPISODES
        d.budget = budget[lo:hi]
        d.setting_u = setting[lo:hi]
        d.los_ward = ward[lo:hi]
        d.los_crt = crt[lo:hi]
        k = self._n_sessions
        d._sessions, d._stride = sessions[lo * k : hi * k], k
        return d

    def _overflow_episode(self, d: Draws, e: int) -> None:
        kept = self._kept_overflow
        values = kept.get((d.pid, e)) if kept is not None else None
        if values is None:
            key = (_OVERFLOW, d.pid, e)
            g = self._gen
            values = (
                float(g("readmission", *key).standard_exponential()),
                float(g("setting", *key).random()),
                float(self._los_ward(rng=g("los_ward", *key), size=1)[0]),
                float(self._los_crt(rng=g("los_crt", *key), size=1)[0]),
            )
            if kept is not None and len(kept) < KEPT_OVERFLOW:
                kept[d.pid, e] = values
        budget, setting, ward, crt = values
        d.budget.append(budget)
        d.setting_u.append(setting)
        d.los_ward.append(ward)
        d.los_crt.append(crt)

    def _overflow_sessions(self, pid: int, e: int) -> list[float]:
        key = (_OVERFLOW, pid, e)
        u = [self._gen("sessions", *key, c).random(SESSION_CHUNK) for c in range(self._chunks)]
        return np.concatenate(u)[: self._n_sessions].tolist() if u else []
