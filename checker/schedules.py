"""Schedules: how a campaign interleaves a deterministic engine's workers, as shrinkable data.

Three kinds, one of which Hypothesis draws per example (``SCHEDULES``):

- ``seeded()`` — an explicit prefix of choices, then a seeded stream: uniform (fine
  interleavings) or sticky (one worker races ahead while another is stalled).
- ``pct()`` — PCT (Burckhardt et al., ASPLOS'10): random priorities, a few change points at
  random steps of a horizon.
- ``delayed()`` — delays at labelled points (``runtime.POINTS``), on a uniform seeded stream.
  A worker arriving at a delayed point waits there while the others move for some steps:
  delay-bounded scheduling (Emmi, Qadeer, Rakamarić, POPL'11) with the delays placed where
  Block-STM's races live instead of at random steps. Always delayed: the window between an
  ESTIMATE read and parking behind its writer (``add-dependency``, and points without a label —
  the ones a modified scheduler or memory added, whose meaning the runtime cannot know), where a
  lost wake-up needs the writer to finish meanwhile; and up to two more labelled points (a
  delayed ``record`` leaves readers of stale values to be aborted, producing ESTIMATEs).

A schedule is plain data: it replays from itself, and a run's ``runtime.taken`` replays it as
``Schedule(taken)``. Each part shrinks towards a simpler schedule: an empty prefix, seed 0, no
stickiness, fewer and shorter delays (a delay of 0 steps is no delay). Labels are strings drawn
from tuples and delays are kept in a list, so nothing depends on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from txlanes.executor.blockstm import Schedule
from txlanes.executor.blockstm.runtime import POINTS, schedule_from_json
from txlanes.executor.registry import MAX_COUNT
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import WorkloadError, int_from_json, read_json_file

#: Where a lost wake-up lives: a worker that has just read an ESTIMATE, before it parks
#: (``""``: an unlabelled point, one that a modified scheduler or memory added).
WAKE_UP_WINDOW: tuple[str, ...] = ("add-dependency", "")

#: Points where a delay sets up the conflicts a race needs (aborts, ESTIMATEs, resumptions),
#: the likeliest first (Hypothesis shrinks a choice towards the first).
DEPENDENCY_POINTS: tuple[str, ...] = (
    "record",
    "set-ready",
    "validation-abort",
    "estimate",
    "read",
    "take-dependents",
    "finish-execution",
    "decrease-execution-idx",
    "decrease-validation-idx",
    "revalidate",
    "incarnate",
    "check-done-counters",
)
assert all(label in POINTS for label in WAKE_UP_WINDOW + DEPENDENCY_POINTS)

#: The longest delay, in steps: a re-execution of a few reads and its bookkeeping fits.
MAX_DELAY = 64

_SEEDS = st.integers(0, 2**32 - 1)


def seeded() -> st.SearchStrategy[Schedule]:
    """An explicit prefix (shrinkable), then a seeded stream: uniform, or sticky."""
    prefix = st.lists(st.integers(0, 3), max_size=64)
    return st.builds(Schedule, prefix, _SEEDS, st.sampled_from([0.0, 0.9, 0.99]))


def pct() -> st.SearchStrategy[Schedule]:
    """PCT of depth 1 to 4 over a horizon of 200 to 5,000 steps."""
    depth, horizon = st.integers(1, 4), st.sampled_from([200, 1_000, 5_000])
    return st.builds(_pct, _SEEDS, depth, horizon)


def _pct(seed: int, depth: int, horizon: int) -> Schedule:
    return Schedule(seed=seed, pct_depth=depth, pct_horizon=horizon)


def delayed() -> st.SearchStrategy[Schedule]:
    """Delays at labelled points: the wake-up window always, up to two dependency points."""
    steps = st.integers(0, MAX_DELAY)
    more = st.lists(
        st.tuples(st.sampled_from(DEPENDENCY_POINTS), steps), max_size=2, unique_by=lambda d: d[0]
    )
    return st.builds(_delayed, _SEEDS, steps, more)


def _delayed(seed: int, window: int, more: list[tuple[str, int]]) -> Schedule:
    delays = [(label, window) for label in WAKE_UP_WINDOW]
    return Schedule(seed=seed, delays=delays + more)


#: The campaign's schedules: seeded streams, PCT, and delays at dependency points.
SCHEDULES: st.SearchStrategy[Schedule] = st.one_of(seeded(), pct(), delayed())


#: The format of ``txlanes run --output``, which carries the schedule its run took.
RUN_FORMAT = "txlanes-run"

#: PCT of depth d finds the bugs that need d ordering constraints; the campaign draws 1 to 4.
#: The runtime draws d - 1 change points before the first step, so a huge d would hang it.
MAX_PCT_DEPTH = 64
#: PCT's change points fall within this many steps: the deterministic runtime's own bound on a
#: run (``max-steps`` at most 10,000,000) — a horizon past it places none.
MAX_PCT_HORIZON = 10_000_000


def load_schedule(path: str | Path) -> tuple[Schedule, int]:
    """A schedule file, or the schedule a run result recorded, and the workers it was recorded
    with — read as strictly as every other file (``read_json_file``); every problem is a
    :class:`WorkloadError` naming the file and the field."""
    obj = read_json_file(path)
    where = ""
    if isinstance(obj, dict) and obj.get("format") == RUN_FORMAT:
        obj, where = obj.get("schedule"), "schedule."
        if obj is None:
            raise WorkloadError(
                f"{path}: schedule: null, the run was not on the deterministic runtime "
                "(record one with --engine blockstm-det)"
            )
    try:
        schedule, workers = schedule_from_json(obj)
        assert isinstance(obj, dict)  # schedule_from_json refuses anything else
        # what schedule_from_json leaves open: a flag as the version, unbounded values
        int_from_json(obj["version"], "version", 1, 1)
        int_from_json(workers, "workers", 1, MAX_COUNT)
        int_from_json(schedule.pct_depth, "pct_depth", 0, MAX_PCT_DEPTH)
        int_from_json(schedule.pct_horizon, "pct_horizon", 1, MAX_PCT_HORIZON)
        for i, choice in enumerate(schedule.choices):
            int_from_json(choice, f"choices[{i}]", 0, MAX_COUNT - 1)  # a worker's index
        if schedule.seed is not None:
            int_from_json(schedule.seed, "seed", 0, MAX_UINT256)
    except ValueError as err:  # a WorkloadError is one too
        raise WorkloadError(f"{path}: {where}{err}") from None
    return schedule, workers
