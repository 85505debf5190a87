"""One grammar names every engine: what each spec builds, what it refuses, and that every command
takes every kind of spec (a built-in, a user's class, a subprocess)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.profiles import CONTENTION
from txlanes.checker.replay import failure_from_json
from txlanes.cli import main
from txlanes.executor.blockstm import BlockSTMEngine, DeterministicRuntime, ThreadRuntime
from txlanes.executor.multicore import MultiCoreEngine
from txlanes.executor.registry import BUILTINS, Target, TargetError, resolve
from txlanes.executor.sequential import SequentialEngine
from txlanes.executor.sharded.engine import ShardedEngine
from txlanes.models.demo import demo_workload
from txlanes.models.workload import workload_to_json

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.json"
FAKE = shlex.join([sys.executable, str(ROOT / "tests" / "fake_engines" / "engine.py")])


def test_blockstm_means_real_threads_and_blockstm_det_the_deterministic_runtime() -> None:
    threads = resolve("blockstm:3").engine()
    assert isinstance(threads, BlockSTMEngine) and isinstance(threads.runtime, ThreadRuntime)
    assert threads.runtime.workers == 3
    det = resolve("blockstm-det").build(2, None)
    assert isinstance(det, BlockSTMEngine) and isinstance(det.runtime, DeterministicRuntime)
    assert det.runtime.workers == 2 and det.runtime.max_steps == 500_000
    assert resolve("blockstm-det?max-steps=77").engine().runtime.max_steps == 77  # type: ignore[attr-defined]
    assert not resolve("blockstm").deterministic and resolve("blockstm-det").deterministic


def test_counts_and_options_reach_the_engine() -> None:
    multicore = resolve("multicore:3?chunk=2").engine()
    assert isinstance(multicore, MultiCoreEngine)
    assert (multicore.processes, multicore.chunk) == (3, 2)
    sharded = resolve("sharded:5?transport=processes&partition=key").engine()
    assert isinstance(sharded, ShardedEngine)
    assert (sharded.shards, sharded.transport) == (5, "processes")
    assert not resolve("sharded?transport=processes").schedules  # faults only on the simulator
    assert isinstance(resolve("sequential").engine(), SequentialEngine)


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("warp", "unknown engine 'warp': use sequential, blockstm"),
        ("blockstm:0", "N is the number of workers, a whole number from 1 to 256"),
        ("blockstm:257", "from 1 to 256"),
        ("blockstm:two", "e.g. blockstm:2"),
        ("sequential:2", "sequential takes no N"),
        ("multicore?chunk=0", "option chunk='0': a whole number >= 1"),
        ("sharded?transport=udp", "option transport='udp': one of sim, processes, ray"),
        ("sharded?shards=3", "unknown option 'shards=3' (options of sharded: transport="),
        ("blockstm?x=1", "unknown option 'x=1' (options of blockstm: none)"),
        ("mutant:nope", "unknown mutant 'nope' (known: skip-validation"),
        ("nosuchmodule:Engine", "cannot import 'nosuchmodule'"),
        ("txlanes.executor.sequential:Nothing", "has no attribute 'Nothing'"),
        ("txlanes.executor.result:PRE_STATE", "constructing it failed"),
    ],
)
def test_a_spec_that_names_nothing_says_why(spec: str, said: str) -> None:
    with pytest.raises(TargetError) as caught:
        resolve(spec)
    assert said in str(caught.value)


def test_a_spec_that_fixes_n_fixes_it_for_the_whole_campaign() -> None:
    seen: set[int | None] = set()

    def build(workers: int | None, schedule: object) -> SequentialEngine:
        seen.add(workers)
        return SequentialEngine()

    pinned = Target("pinned:3", build, count=3, counts="workers")
    Campaign([pinned], contentions=CONTENTION[:1], examples=20).run()
    assert seen == {3}
    seen.clear()
    free = Target("free", build, counts="workers")
    Campaign([free], contentions=CONTENTION[:1], examples=60).run()
    assert len(seen) > 1 and seen <= {2, 3, 4}


def test_docs_table_names_every_builtin_and_option() -> None:
    text = (ROOT / "docs" / "engines.md").read_text()
    missing = [name for name in BUILTINS if f"`{name}" not in text]
    missing += [o for b in BUILTINS.values() for o in b.options if f"`{o}`" not in text]
    assert missing == [], f"docs/engines.md does not document {missing}"


def _user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "user_engine_mod.py").write_text(
        "from txlanes.executor.sequential import SequentialEngine\n"
        "class MyEngine(SequentialEngine):\n"
        "    name = 'my-engine'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "user_engine_mod:MyEngine"


def test_run_takes_a_users_class_and_a_subprocess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _user_module(tmp_path, monkeypatch)
    outputs = {}
    for name, args in [
        ("sequential", []),
        ("class", ["--engine", spec]),
        ("cmd", ["--engine", f"cmd:{FAKE}"]),
        ("engine-cmd", ["--engine-cmd", FAKE]),
    ]:
        out = tmp_path / f"{name}.json"
        assert main(["run", str(DEMO), *args, "--output", str(out)]) == 0, name
        outputs[name] = json.loads(out.read_text())
    assert outputs["class"]["engine"] == "my-engine"
    assert outputs["cmd"]["engine"] == outputs["engine-cmd"]["engine"] == "fake"
    states = {name: result["state"] for name, result in outputs.items()}
    assert all(state == states["sequential"] for state in states.values())


def test_run_refuses_what_an_engine_has_no_use_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--engine", "sequential", "--workers", "2"], "engine 'sequential' takes no --workers"),
        (["--engine", "blockstm", "--shards", "2"], "engine 'blockstm' takes no --shards"),
        (["--engine", "blockstm:2", "--workers", "3"], "names its workers already"),
        (["--engine", "blockstm", "--schedule-seed", "1"], "takes no schedule (blockstm-det,"),
        (["--engine", "blockstm", "--engine-cmd", FAKE], "takes one engine"),
        (["--engine", "blockstm", "--workers", "0"], "a whole number from 1 to 256"),
    ]
    for args, said in cases:
        assert main(["run", str(DEMO), *args, "--output", str(tmp_path / "r.json")]) == 2, args
        assert said in capsys.readouterr().err, args
    assert not (tmp_path / "r.json").exists()


def test_run_flags_are_the_spec_spelled_apart(tmp_path: Path) -> None:
    """``--shards 3 --partition key`` builds what ``sharded:3?partition=key`` builds."""
    flags, spec = tmp_path / "flags.json", tmp_path / "spec.json"
    assert main(["run", str(DEMO), "--engine", "sharded", "--shards", "3", "--partition", "key",
                 "--output", str(flags)]) == 0  # fmt: skip
    assert main(["run", str(DEMO), "--engine", "sharded:3?partition=key", "--output",
                 str(spec)]) == 0  # fmt: skip
    a, b = json.loads(flags.read_text()), json.loads(spec.read_text())
    assert a["spec"] == b["spec"] == "sharded:3?partition=key"
    assert a["blocks"] == b["blocks"]


def test_a_version_1_failure_file_names_the_engine_it_ran() -> None:
    doc = {
        "format": "txlanes-replay",
        "version": 1,
        "target": "blockstm",
        "contention": "payments",
        "kind": "divergence",
        "message": "block 0: ...",
        "workers": 2,
        "schedule": [0, 1],
        "workload": workload_to_json(demo_workload()),
    }
    assert failure_from_json(doc).target == "blockstm-det"
    assert failure_from_json({**doc, "target": "blockstm-threads"}).target == "blockstm"
    assert failure_from_json({**doc, "version": 2}).target == "blockstm"
