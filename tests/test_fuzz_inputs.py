"""Fuzzing every input surface (issue 19): the gate must turn any bad input into exit 2 and one
line, never exit 3, a traceback, a hang, or a value outside its type silently accepted.

Seed files (the demo workload, a history written from an engine's trace, a failure file, a
recorded schedule) are mutated structurally (tests/fuzz_support.py) and given to the library
loaders and to ``txlanes run``/``history``/``replay``/``run --schedule``; the argument space of
every subcommand is drawn from the options its parser declares. Each input is either a value
that must be rejected or a tiny valid one, so that no input legitimately runs long. The example
counts scale with the Hypothesis profile (``ci``: the file in seconds; ``stress``: over 10,000
inputs); the module prints ``fuzz: N inputs, M mishandled`` when it finishes.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from txlanes import cli
from txlanes.checker.failure import Failure, FailureKind, Problem
from txlanes.checker.history import History, block_order, load_history
from txlanes.checker.replay import failure_to_json, load_failure
from txlanes.executor.blockstm import Schedule
from txlanes.executor.blockstm.runtime import schedule_to_json
from txlanes.executor.registry import resolve
from txlanes.executor.result import PRE_STATE
from txlanes.models.workload import (
    Block,
    Workload,
    WorkloadError,
    key_to_str,
    load_workload,
    tx_fields,
    workload_to_json,
)

from .fuzz_support import TALLY, Mutant, bool_problems, cli_problems, mutants, run_cli
from .fuzz_support import uint_problems as uints

ROOT = Path(__file__).resolve().parent.parent
FAKE_ENGINE = shlex.join([sys.executable, str(ROOT / "tests" / "fake_engines" / "engine.py")])


def _examples(factor: int, *, shrink: bool = True) -> settings:
    """The active profile's example count times ``factor``; no shrinking where each run is a
    CLI call (an input that hangs would be re-run to its deadline many times over)."""
    active = settings()  # the loaded profile's values
    phases = [p for p in active.phases if shrink or p is not Phase.shrink]
    return settings(
        max_examples=active.max_examples * factor,
        phases=phases,
        # `txlanes check` runs its campaign with Hypothesis, inside this test's @given
        suppress_health_check=[*active.suppress_health_check, HealthCheck.nested_given],
    )


# -- seeds --------------------------------------------------------------------------------------

DEMO = load_workload(ROOT / "examples" / "demo.json")
TINY = Workload(DEMO.state, [Block(DEMO.blocks[0].txs[:3], DEMO.blocks[0].env)])


def _history_docs() -> list[dict[str, Any]]:
    """Versions 1 and 2 of the history of the tiny block as the sequential engine traced it."""
    result = resolve("sequential").build(None, None).execute(TINY.blocks[0], TINY.state)
    traces = list(result.traces)

    def seen(key: Any, writer: int) -> int:
        return TINY.state.get(key, 0) if writer == PRE_STATE else traces[writer].writes[key]

    v1, v2 = [], []
    for t in traces:
        writes = {key_to_str(k): v for k, v in t.writes.items()}
        v1.append(
            {
                "reads": {key_to_str(k): w for k, w in t.reads.items()},
                "read_values": {key_to_str(k): seen(k, w) for k, w in t.reads.items()},
                "writes": writes,
                "aborted": False,
            }
        )
        reads = {key_to_str(k): [{"writer": w, "value": seen(k, w)}] for k, w in t.reads.items()}
        v2.append({"reads": reads, "writes": writes, "aborted": False})
    history = History.from_result(result)
    order = {key_to_str(k): w for k, w in block_order(history.txs).items()}
    head = {"format": "txlanes-history", "version_order": order}
    return [{**head, "version": 1, "txs": v1}, {**head, "version": 2, "txs": v2}]


def _schedule_doc() -> dict[str, Any]:
    """The schedule a deterministic run of the tiny block took (what ``run --schedule`` reads)."""
    engine = resolve("blockstm-det").build(2, Schedule(seed=1))
    engine.execute(TINY.blocks[0], TINY.state)
    runtime = getattr(engine, "runtime")  # noqa: B009 - the Engine protocol does not declare it
    return schedule_to_json(Schedule(list(runtime.taken)), runtime.workers)


FAILURE = Failure(
    "mutant:skip-validation",
    "mid",
    Problem(FailureKind.DIVERGENCE, 0, "a seeded failure"),
    TINY,
    2,
    [0, 1, 1, 0, 1, 0],
)
HISTORIES = _history_docs()
SEEDS: dict[str, list[dict[str, Any]]] = {
    "workload": [json.loads((ROOT / "examples" / "demo.json").read_text())],
    "history": HISTORIES,
    "failure": [failure_to_json(FAILURE)],
    "schedule": [_schedule_doc()],
}
#: fields a format reads nothing typed from: a failure file's ``problem`` is for people
UNJUDGED = {"failure": frozenset({"problem"})}


def _mutant(fmt: str) -> st.SearchStrategy[Mutant]:
    unjudged = UNJUDGED.get(fmt, frozenset())
    return st.one_of([mutants(doc, unjudged) for doc in SEEDS[fmt]])


# -- what a loaded object holds -----------------------------------------------------------------


def _workload_values(w: Workload, at: str = "") -> tuple[dict[str, object], dict[str, object]]:
    """Every uint and every bool of a loaded workload, by path."""
    ints: dict[str, object] = {}
    bools: dict[str, object] = {}
    for key, value in w.state.items():
        ints[f"{at}state[{key}]"] = value
        ints.update({f"{at}state key {key}[{i}]": p for i, p in enumerate(key[1:], 1)})
    for b, block in enumerate(w.blocks):
        env = block.env
        for name in ("number", "timestamp", "fee", "fee_token", "fee_recipient"):
            ints[f"{at}blocks[{b}].{name}"] = getattr(env, name)
        for t, tx in enumerate(block.txs):
            for spec in tx_fields(type(tx)):
                path = f"{at}blocks[{b}].txs[{t}].{spec.name}"
                (bools if spec.is_bool else ints)[path] = getattr(tx, spec.name)
    return ints, bools


def _typed_workload(w: Workload) -> list[str]:
    ints, bools = _workload_values(w)
    return uints(ints) + bool_problems(bools)


def _typed_history(h: History) -> list[str]:
    ints: dict[str, object] = {}
    problems = bool_problems({f"txs[{i}].aborted": t.aborted for i, t in enumerate(h.txs)})
    for i, tx in enumerate(h.txs):
        for key, reads in tx.reads.items():
            for j, read in enumerate(reads):
                if type(read.writer) is not int or not PRE_STATE <= read.writer < len(h.txs):
                    problems.append(f"txs[{i}].reads[{key}][{j}].writer = {read.writer!r:.60}")
                if read.value is not None:
                    ints[f"txs[{i}].reads[{key}][{j}].value"] = read.value
        ints.update({f"txs[{i}].writes[{k}]": v for k, v in tx.writes.items()})
    return problems + uints(ints)


def _typed_failure(f: Failure) -> list[str]:
    problems = _typed_workload(f.workload)
    if type(f.workers) is not int or f.workers < 1:
        problems.append(f"workers = {f.workers!r:.60} accepted as a worker count")
    choices = {f"schedule[{i}]": c for i, c in enumerate(f.schedule or [])}
    return problems + uints({"workers": f.workers, **choices})


@dataclass(frozen=True)
class Loader:
    load: Callable[[Path], Any]
    typed: Callable[[Any], list[str]]


LOADERS = {
    "workload": Loader(load_workload, _typed_workload),
    "history": Loader(load_history, _typed_history),
    "failure": Loader(load_failure, _typed_failure),
}


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """``fuzz: N inputs, M mishandled`` on the terminal (and the first mishandled inputs)."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            for line in ["", TALLY.line(), *TALLY.first]:
                reporter.write_line(line)


@dataclass(frozen=True)
class Inputs:
    """The files the fuzzed inputs name, made once; ``fresh()`` is a directory per input."""

    root: Path

    def fresh(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root / "runs"))

    def token(self, name: str, work: Path) -> str:
        """``@NAME`` → its path (``@OUT`` and ``@REPORTS`` inside this input's own directory)."""
        fixed = {
            "OUT": work / "out.json",
            "REPORTS": work / "reports",
            "UNDERFILE": self.root / "file" / "x.json",
        }
        return str(fixed.get(name, self.root / name.lower()))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "runs").mkdir()
    (root / "dir").mkdir()
    (root / "file").write_text("a regular file\n")
    (root / "empty").write_text("")
    (root / "garbage").write_text("not json {\n")
    (root / "workload").write_text(json.dumps(SEEDS["workload"][0]))
    (root / "tiny").write_text(json.dumps(workload_to_json(TINY)))
    (root / "failure").write_text(json.dumps(SEEDS["failure"][0]))
    (root / "history").write_text(json.dumps(HISTORIES[1]))
    (root / "schedule").write_text(json.dumps(SEEDS["schedule"][0]))
    return Inputs(root)


def _write(inputs: Inputs, data: bytes) -> tuple[Path, Path]:
    work = inputs.fresh()
    path = work / "input.json"
    path.write_bytes(data)
    return work, path


# -- 1. file formats: the library loaders -------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(LOADERS))
@_examples(2)
@given(data=st.data())
def test_loaders_raise_only_their_error_and_load_only_typed_values(
    fmt: str, inputs: Inputs, data: st.DataObject
) -> None:
    mutant = data.draw(_mutant(fmt), label="mutant")
    _, path = _write(inputs, mutant.data)
    loader = LOADERS[fmt]
    problems: list[str] = []
    try:
        loaded = loader.load(path)
    except WorkloadError:
        pass
    except BaseException as err:
        problems.append(f"raised {type(err).__name__}: {str(err)[:200]}")
    else:
        problems += loader.typed(loaded)
        if mutant.must_reject:
            problems.append("loaded, must be rejected")
    TALLY.record(problems, f"load {fmt} with {mutant.what}")
    assert not problems, f"{fmt} with {mutant.what}: {problems}"


# -- 1. file formats: the commands that read them -----------------------------------------------

#: argv of the command that reads each format, ``@INPUT`` the mutated file
FILE_COMMANDS = {
    "workload": ["run", "@INPUT", "--engine", "sequential", "--output", "@OUT"],
    "history": ["history", "@INPUT"],
    "failure": ["replay", "@INPUT"],
    "schedule": [
        *("run", "@TINY", "--engine", "blockstm-det", "--workers", "2"),
        *("--schedule", "@INPUT", "--output", "@OUT"),
    ],
}


def _argv(template: list[str], inputs: Inputs, work: Path, **given: str) -> list[str]:
    def one(arg: str) -> str:
        if not arg.startswith("@"):
            return arg
        return given.get(arg[1:]) or inputs.token(arg[1:], work)

    return [one(arg) for arg in template]


@pytest.mark.parametrize("fmt", sorted(FILE_COMMANDS))
@_examples(1, shrink=False)
@given(data=st.data())
def test_commands_reading_a_mutated_file_exit_0_1_or_2(
    fmt: str, inputs: Inputs, data: st.DataObject
) -> None:
    mutant = data.draw(_mutant(fmt), label="mutant")
    work, path = _write(inputs, mutant.data)
    argv = _argv(FILE_COMMANDS[fmt], inputs, work, INPUT=str(path))
    ran = run_cli(argv, str(work))
    problems = cli_problems(ran, must_reject=mutant.must_reject)
    TALLY.record(problems, f"txlanes {argv[0]} {fmt} with {mutant.what}")
    assert not problems, f"txlanes {shlex.join(argv)} ({fmt} with {mutant.what}): {problems}"


# -- 2. the argument space of every subcommand --------------------------------------------------


@dataclass(frozen=True)
class Values:
    """An option's fuzzed values: ones it must reject, tiny valid ones, and the arguments that
    make it mean something (``--shards`` needs a sharded engine)."""

    reject: tuple[str, ...] = ()
    valid: tuple[str | None, ...] = ()  # None: a flag given without a value
    companion: tuple[str, ...] = ()


HUGE = "1" + "0" * 5000  # 10**5000 as text: beyond int()'s 4,300 digits
INT_TEXT = ("", "x", "1.5", "nan", "inf", "0x10", HUGE)
FLOAT_TEXT = ("", "x", "1,5", "0x10")
CHOICE = ("", "nope")
TIMEOUT = Values(("nan", "inf", "-inf", "-1", "0", "-0", "1e300", "1e5000"), ("5",))
COUNT = ("-1", "0", str(2**63), str(2**64))
INPUT = ("@MISSING", "@DIR", "@UNDERFILE", "@EMPTY", "@GARBAGE", "")
OUTPUT_FILE = Values(("@DIR", "@UNDERFILE", ""), ("@OUT",))
REPORTS = Values(("@FILE", "@UNDERFILE"), ("@REPORTS",))
ENGINES = (
    *("", ":", "..a:B", "nosuch", "mutant:nosuch", "no_such_pkg.mod:Engine", "a" * 5000),
    *("blockstm:0", "blockstm:-1", f"blockstm:{2**63}", "blockstm?nosuch=1", "sharded:1000000"),
    *("cmd:'unbalanced", "cmd:", "cmd:/nonexistent/engine", "cmd:true"),
)
ENGINE_CMDS = Values(("", "'unbalanced", "/nonexistent/engine", "true"), (FAKE_ENGINE,))
RUN_ENGINES = Values(ENGINES, ("sequential", "blockstm:2", "blockstm-det:2", "sharded:2"))

#: Per command: the cheap valid arguments every input starts from (option → its values), and the
#: fuzzed values of the options that need more than their argparse type says.
BASE: dict[str, dict[str, list[str | None]]] = {
    "run": {"workload": ["@TINY"], "--engine": ["sequential"], "--output": ["@OUT"]},
    "gen": {"kind": ["transfers"], "--txs": ["10"], "--accounts": ["5"], "--output": ["@OUT"]},
    "check": {
        "--engine": ["sequential"],
        "--contention": ["payments"],
        "--examples": ["1"],
        "--reports": ["@REPORTS"],
    },
    "replay": {"failure": ["@FAILURE"]},
    "mutants": {},
    "history": {"history": ["@HISTORY"]},
    "verify": {"--ops": ["erc20.transfer"], "--timeout": ["1"], "--reports": ["@REPORTS"]},
    "bench": {
        "--quick": [None],
        "--no-plots": [None],
        "--txs": ["1"],
        "--runs": ["5"],
        "--scale": ["1"],
        "--workload": ["transfers-2"],
        "--engine": ["sequential"],
        "--reports": ["@REPORTS"],
    },
}
VALUES: dict[str, dict[str, Values]] = {
    "run": {
        "workload": Values(INPUT, ("@WORKLOAD", "@TINY")),
        "--engine": RUN_ENGINES,
        "--engine-cmd": ENGINE_CMDS,
        "--engine-timeout": TIMEOUT,
        "--workers": Values(COUNT, ("1", "2"), ("--engine", "blockstm")),
        "--processes": Values(COUNT, ("1", "2"), ("--engine", "multicore")),
        "--shards": Values((*COUNT, "1000000"), ("2",), ("--engine", "sharded")),
        "--transport": Values(CHOICE, ("sim",), ("--engine", "sharded")),
        "--partition": Values(CHOICE, ("account", "key"), ("--engine", "sharded")),
        "--schedule-seed": Values(INT_TEXT, ("1",), ("--engine", "blockstm-det:2")),
        "--schedule": Values((*INPUT, "@WORKLOAD"), ("@SCHEDULE",), ("--engine", "blockstm-det:2")),
        "--output": OUTPUT_FILE,
    },
    "gen": {
        # not "demo": it ignores the transfers options, so a bad one beside it is no error
        "kind": Values(CHOICE, ("transfers",)),
        "--txs": Values(("-1", str(10**12), str(2**63), HUGE), ("0", "1", "5")),
        "--accounts": Values(("-1", "0", str(2**256), str(10**12)), ("2", "5")),
        "--block-size": Values(("-3", "0"), ("1", "3")),
        "--fee": Values(("-5", str(2**256)), ("0", "1")),
        "--seed": Values(INT_TEXT, ("0", "7")),
        "--output": OUTPUT_FILE,
    },
    "check": {
        "--engine": Values(ENGINES, ("sequential", "blockstm-det:2")),
        "--engine-cmd": ENGINE_CMDS,
        "--engine-timeout": TIMEOUT,
        "--profile": Values(CHOICE, ("ci", "stress")),
        "--seed": Values(INT_TEXT, ("0", "3")),
        "--examples": Values(("0", "-1", HUGE), ("1",)),
        "--contention": Values(CHOICE, ("payments", "low")),
        "--block-size": Values(("0", "-3", "5..2", "1..100001", "nan", "", "1..", HUGE), ("3",)),
        "--coverage": Values((), (None,)),
        "--reports": REPORTS,
    },
    "replay": {"failure": Values(INPUT, ("@FAILURE",))},
    "history": {"history": Values(INPUT, ("@HISTORY",))},
    # a valid value would run the whole catalogue (minutes): rejections only
    "mutants": {"--profile": Values(CHOICE), "--seed": Values(INT_TEXT)},
    "verify": {
        "--ops": Values(("", "nope", "erc20"), ("erc20.transfer", "erc20.approve")),
        "--timeout": TIMEOUT,
        # a valid protocol check takes seconds: rejections only
        "--shards": Values(("1", "7", "-1", str(2**63))),
        "--depth": Values(("0", "31", "-1")),
        "--protocol": Values(CHOICE),
        "--reports": REPORTS,
    },
    # the smallest valid bench takes seconds: rejections only
    "bench": {
        "--engine": Values(ENGINES),
        "--engine-cmd": Values(ENGINE_CMDS.reject),
        "--engine-timeout": Values(TIMEOUT.reject),
        "--workload": Values(CHOICE),
        "--runs": Values(("4", "0", "-1")),
        "--txs": Values(("0", "-1", str(10**12))),
        "--scale": Values(("0", "-1", str(10**10))),
        "--seed": Values(INT_TEXT),
        "--reports": REPORTS,
    },
}
#: Declared options the fuzzer leaves alone, and why.
NOT_FUZZED = {
    "--ray": "starts a Ray instance (16 s)",
    "--ray-address": "connects to a cluster",
    "--quick": "part of bench's cheap base; a flag has no bad value",
    "--no-plots": "part of bench's cheap base; a flag has no bad value",
    "mutants --reports": "found only after the whole catalogue ran (minutes) until paths are "
    "checked before work starts",
}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _name(action: argparse.Action) -> str:
    return max(action.option_strings, key=len) if action.option_strings else action.dest


def _fuzzed(command: str, action: argparse.Action) -> Values | None:
    """An option's values: the table's, else what its argparse type must reject."""
    name = _name(action)
    if name in NOT_FUZZED or f"{command} {name}" in NOT_FUZZED:
        return None
    if isinstance(action, argparse._HelpAction):
        return Values((), (None,))
    values = VALUES[command].get(name)
    if values is not None:
        return values
    if action.choices is not None:
        return Values(CHOICE)
    if action.type is int:
        return Values(INT_TEXT)
    if action.type is float:
        return Values(FLOAT_TEXT)
    return None


COMMANDS = _commands()
SPACE = {
    command: {_name(a): v for a in p._actions if (v := _fuzzed(command, a)) is not None}
    for command, p in COMMANDS.items()
}


@dataclass(frozen=True)
class Args:
    command: str
    options: tuple[tuple[str, str | None], ...]
    must_reject: bool

    def template(self) -> list[str]:
        chosen: dict[str, list[str | None]] = dict(BASE[self.command])
        for name, _ in self.options:
            companion = SPACE[self.command][name].companion
            chosen.update({companion[i]: [companion[i + 1]] for i in range(0, len(companion), 2)})
        for name, value in self.options:
            chosen[name] = [value]
        argv = [self.command]
        for name, values in chosen.items():
            for value in values:
                head = [name] if name.startswith("-") else []
                argv += head if value is None else [*head, value]
        return argv


@st.composite
def _args(draw: st.DrawFn) -> Args:
    command = draw(st.sampled_from(sorted(SPACE)), label="command")
    names = draw(
        st.lists(st.sampled_from(sorted(SPACE[command])), min_size=1, max_size=2, unique=True)
    )
    if "--help" in names:  # help answers before any other value is looked at
        names = ["--help"]
    options, reject = [], False
    for name in names:
        values = SPACE[command][name]
        picks = [(v, True) for v in values.reject] + [(v, False) for v in values.valid]
        value, bad = draw(st.sampled_from(picks), label=name)
        options.append((name, value))
        reject = reject or bad
    return Args(command, tuple(options), reject)


@_examples(2, shrink=False)
@given(args=_args())
def test_every_command_answers_bad_arguments_with_exit_2(inputs: Inputs, args: Args) -> None:
    work = inputs.fresh()
    argv = _argv(args.template(), inputs, work)
    ran = run_cli(argv, str(work))
    problems = cli_problems(ran, must_reject=args.must_reject)
    shown = " ".join(shlex.quote(a if len(a) < 80 else a[:20] + f"...({len(a)})") for a in argv)
    TALLY.record(problems, f"txlanes {shown}")
    assert not problems, f"txlanes {shown}: {problems}"


def test_every_declared_option_is_fuzzed_or_excused() -> None:
    """A new option is fuzzed from its argparse type, or named here: none goes unnoticed."""
    missing = [
        f"txlanes {command} {_name(a)}"
        for command, parser in COMMANDS.items()
        for a in parser._actions
        if _fuzzed(command, a) is None
        and _name(a) not in NOT_FUZZED
        and f"{command} {_name(a)}" not in NOT_FUZZED
    ]
    assert not missing, f"options with no fuzzed values: {missing}"
