"""The scheduling hook: a ``pkg.module:Class`` engine whose constructor takes ``runtime`` runs
its threads on txlanes' deterministic runtime, so the campaign's schedules drive its races and
a failure replays exactly (executor/registry.py, docs/engines.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.profiles import CONTENTION
from txlanes.checker.replay import replay
from txlanes.executor.registry import resolve

RACY = '''
from txlanes.executor import SequentialEngine
from txlanes.models.workload import Block


class SharedCursor:
    """Workers take the next transaction from a shared cursor whose fetch-and-increment is not
    atomic: two workers can take the same transaction, which then runs twice."""

    def __init__(self, workers=2, runtime=None):
        self.runtime = runtime

    def execute(self, block, state):
        rt, cursor, taken = self.runtime, [0], []

        def worker():
            while True:
                rt.point("read cursor")
                i = cursor[0]
                if i >= len(block.txs):
                    return
                rt.point("write cursor")
                cursor[0] = i + 1
                taken.append(i)

        rt.run([worker] * rt.workers)
        ran = Block(tuple(block.txs[i] for i in taken), block.env)
        return SequentialEngine().execute(ran, state)
'''


@pytest.fixture
def racy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "racy_engine.py").write_text(RACY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "racy_engine:SharedCursor"


def test_an_engine_on_the_hook_is_deterministic_and_scheduled(racy: str) -> None:
    target = resolve(racy)
    assert target.deterministic and target.schedules and target.counts == "workers"


def test_its_race_is_found_minimized_and_replays_exactly(racy: str) -> None:
    (outcome,) = Campaign([resolve(racy)], contentions=CONTENTION[1:2], examples=50).run()
    failure = outcome.failure
    assert failure is not None and failure.txs == 1  # one transaction, taken by two workers
    assert failure.schedule  # the choices the run took: an exact replay
    for _ in range(3):
        replayed = replay(failure)
        assert replayed.deterministic and replayed.failure is not None
        assert replayed.failure.problem.kind is failure.problem.kind
