"""Statistics of a load run: percentiles, committed throughput, failures by kind.

Both clients report raw records (start, latency, kind) and this module alone turns them into
figures, so the Python and Go columns are computed the same way.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "OK",
    "STEPS",
    "LevelStats",
    "Record",
    "percentile",
    "step_times",
    "summarize",
    "summarize_rounds",
]

OK = "ok"

# The steps of a submit, in order (Fabric Gateway: Endorse, Submit, CommitStatus).
STEPS = ("endorse", "submit", "commit_status")


@dataclass(frozen=True)
class Record:
    """One transaction as a submitter saw it.

    Attributes
    ----------
    start : float
        Seconds from the start of the run to the start of endorsement.
    latency : float
        Seconds from the start of endorsement to the commit status (end to end).
    kind : str
        ``"ok"`` for a transaction committed as valid, else ``"<step>:<code>"``, e.g.
        ``"endorse:DEADLINE_EXCEEDED"`` or ``"commit:MVCC_READ_CONFLICT"``.
    steps : tuple of float
        Seconds of each of :data:`STEPS` (0 for a step not reached or not measured).
    """

    start: float
    latency: float
    kind: str = OK
    steps: tuple[float, ...] = (0.0, 0.0, 0.0)

    @property
    def end(self) -> float:
        """Seconds from the start of the run to the commit status."""
        return self.start + self.latency


@dataclass(frozen=True)
class LevelStats:
    """Figures of one client at one concurrency level, over the measured window.

    Attributes
    ----------
    committed : int
        Valid transactions whose commit status arrived inside the window.
    tps : float
        ``committed`` divided by the window length (committed tx/s).
    p50, p99 : float or None
        Latency percentiles in seconds of the valid transactions started inside the window
        (None without any).
    failures : dict of str to int
        Failed transactions started inside the window, by kind.
    window : float
        Length of the measured window in seconds.
    step_p50 : dict of str to float
        Median seconds of each of :data:`STEPS` over the valid transactions started inside
        the window (empty without any).
    """

    committed: int
    tps: float
    p50: float | None
    p99: float | None
    failures: dict[str, int] = field(default_factory=dict)
    window: float = 0.0
    step_p50: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Number of failed transactions."""
        return sum(self.failures.values())


def percentile(values: Sequence[float], p: float) -> float:
    """Return the ``p``-th percentile of ``values`` by the nearest-rank method.

    The smallest value such that at least ``p`` % of the values are less or equal: always one
    of the observed values, so a tail percentile is never interpolated below what a request
    actually waited.

    Raises
    ------
    ValueError
        If ``values`` is empty or ``p`` is not in (0, 100].
    """
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[rank - 1]


def step_times(values: Sequence[float]) -> tuple[float, ...]:
    """Return the seconds of each of :data:`STEPS`, padding steps not reached with 0."""
    if len(values) > len(STEPS):
        raise ValueError(f"at most {len(STEPS)} step times, got {len(values)}")
    return tuple(values) + (0.0,) * (len(STEPS) - len(values))


def summarize(records: Iterable[Record], *, warmup: float, duration: float) -> LevelStats:
    """Return the figures of the records inside the window ``[warmup, warmup + duration)``.

    Transactions that start during the warm-up (connections opening, caches filling) are left
    out; throughput counts the valid commits that arrive inside the window, so in-flight
    transactions at either edge neither inflate nor deflate it. Latencies are those of the
    transactions started inside the window, including the ones finishing after it.

    Raises
    ------
    ValueError
        If ``duration`` is not positive or ``warmup`` is negative.
    """
    return summarize_rounds([records], warmup=warmup, duration=duration)


def summarize_rounds(
    rounds: Sequence[Iterable[Record]], *, warmup: float, duration: float
) -> LevelStats:
    """Return the figures of several rounds, each with its own clock and the same window.

    Each round's records count as in :func:`summarize`; commits and failures add up,
    latencies are pooled and the window is ``duration`` times the number of rounds.

    Raises
    ------
    ValueError
        If there is no round, ``duration`` is not positive or ``warmup`` is negative.
    """
    if not rounds:
        raise ValueError("no rounds to summarize")
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    if warmup < 0:
        raise ValueError(f"warmup must not be negative, got {warmup}")
    end = warmup + duration
    committed = 0
    latencies: list[float] = []
    steps: list[tuple[float, ...]] = []
    failures: Counter[str] = Counter()
    for records in rounds:
        for record in records:
            if record.kind == OK and warmup <= record.end < end:
                committed += 1
            if not warmup <= record.start < end:
                continue
            if record.kind == OK:
                latencies.append(record.latency)
                steps.append(record.steps)
            else:
                failures[record.kind] += 1
    window = duration * len(rounds)
    return LevelStats(
        committed=committed,
        tps=committed / window,
        p50=percentile(latencies, 50) if latencies else None,
        p99=percentile(latencies, 99) if latencies else None,
        failures=dict(sorted(failures.items())),
        window=window,
        step_p50={name: percentile([s[i] for s in steps], 50) for i, name in enumerate(STEPS)}
        if steps
        else {},
    )
