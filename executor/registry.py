"""Engines named by one grammar, read in one place.

Every command (``run``, ``check``, ``bench``, ``replay``, ``mutants``) and the pytest plugin
resolve an engine spec here, so a name means the same engine everywhere and a saved failure
rebuilds the very engine that failed. The grammar (the table is docs/engines.md):

- ``NAME[:N][?KEY=VALUE&...]`` — a built-in engine (:data:`BUILTINS`); ``N`` is its
  parallelism (workers, processes or shards), the options its other knobs.
- ``mutant:NAME`` — a seeded bug of the catalogue (:mod:`txlanes.executor.mutants`).
- ``pkg.module:Class`` — a user's engine: a class or factory whose instances have
  ``execute(block, state)``.
- ``cmd:COMMAND`` — an engine in any language, a subprocess speaking the external-engine
  protocol (docs/external-engine-protocol.md).
"""

from __future__ import annotations

import importlib
import inspect
import shlex
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from txlanes.models.context import Key
from txlanes.models.tx import TX_TYPES
from txlanes.models.workload import Block

from .blockstm import BlockSTMEngine, DeterministicRuntime, Schedule
from .external import ExternalEngine
from .multicore import MultiCoreEngine
from .mutants import ENGINE_MUTANTS, HARD_MUTANTS
from .result import BlockResult, Engine
from .sequential import SequentialEngine
from .sharded.engine import TRANSPORTS, ShardedEngine, simulated_sharded
from .sharded.partition import PARTITIONERS

#: The largest N a spec may name: more threads, processes or shards than this exhausts the
#: machine long before it finds a bug.
MAX_COUNT = 256

#: (N, or None for the engine's own default; schedule, or None) → a fresh engine
Build = Callable[[int | None, Schedule | None], Engine]


class TargetError(ValueError):
    """An engine spec that names nothing, or an engine that cannot be built: exit code 2."""


class Misbehaved(ValueError):
    """Code of an engine txlanes did not write raised (anything, ``SystemExit`` included), did
    not return in time, or returned the wrong thing. The message says which, in one line. A
    ``ValueError`` as ``ExternalEngineError`` is, so a command that only runs the engine reports
    it as an unusable engine; the checker turns it into a named failure."""

    def __init__(
        self, message: str, error: BaseException | None = None, late: bool = False
    ) -> None:
        super().__init__(message)
        #: what it raised, if it raised
        self.error = error
        #: it did not return within its deadline
        self.late = late


T = TypeVar("T")


def describe(error: BaseException) -> str:
    """``SystemExit(0)``, ``RuntimeError: boom`` — what an engine raised, in one bounded line
    (its ``__str__`` is the engine's code too, so it may raise or run to megabytes)."""
    try:  # SystemExit(0) says more than "SystemExit: 0"
        plain = isinstance(error, Exception) and str(error)
        text = f"{type(error).__name__}: {error}" if plain else repr(error)
    except Exception:
        text = type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= 300 else f"{text[:300]}…"


def out_of_threads(error: BaseException) -> bool:
    """Whether the machine, not the engine, failed: no thread could be started. Judging an
    engine on that would be a verdict drawn from a run that never happened."""
    return isinstance(error, RuntimeError) and "can't start new thread" in str(error)


def guarded(seconds: float, call: Callable[[], T]) -> T:
    """``call()`` on a thread of its own, waited for ``seconds``: code txlanes did not write
    that deadlocks, spins, exits or raises becomes a :class:`Misbehaved` instead of a gate that
    never answers or exits with the engine's code. The waiting thread is the caller's, so the
    user's Ctrl-C still interrupts txlanes; an abandoned thread is left behind, a daemon."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as err:  # every way out of it is the engine's doing
            errors.append(err)

    thread = threading.Thread(target=run, name="txlanes-engine-under-test", daemon=True)
    try:
        thread.start()
    except RuntimeError as err:
        raise TargetError(
            f"cannot start a thread to run the engine in ({err}): the machine holds no more"
        ) from None
    thread.join(seconds)
    if errors:
        raise Misbehaved(f"raised {describe(errors[0])}", errors[0])
    if not results:
        raise Misbehaved(f"did not finish within {seconds:g} s (--engine-timeout)", late=True)
    return results[0]


def block_result(got: object) -> BlockResult:
    """What an engine's ``execute`` returned, if it is a :class:`BlockResult`."""
    if not isinstance(got, BlockResult):
        raise Misbehaved(f"engine returned {type(got).__name__}, not a BlockResult")
    return got


@dataclass(frozen=True)
class Target:
    """An engine under test or measurement, as a spec names it."""

    spec: str
    build: Build
    #: The same (workload, N, schedule) computes the same result every time, so a failure
    #: replays exactly and can be minimized.
    deterministic: bool = False
    #: Whether it reports per-transaction traces (else receipts and the diff are compared).
    traces: bool = True
    #: The transaction kinds it supports (None: all); workloads are generated from these.
    kinds: frozenset[str] | None = None
    #: N when the spec fixes it (then a campaign does not vary it).
    count: int | None = None
    #: What N counts ("workers", "processes", "shards"); None: the engine has no such knob.
    counts: str | None = None
    #: Whether a schedule changes what it does (an interleaving, a fault plan).
    schedules: bool = False
    #: Seconds one block may take, for an in-process engine txlanes did not write: each block
    #: then runs under a watchdog, and whatever the engine raises or returns is a named failure.
    block_timeout: float | None = None

    def engine(self, schedule: Schedule | None = None) -> Engine:
        """The engine at the spec's own N (or the engine's default)."""
        return self.build(self.count, schedule)

    def parallelism(self, workers: int) -> str:
        """``"3 workers"`` — how reports name the N an example ran at; "" for no such knob."""
        return "" if self.counts is None else f"{workers} {self.counts}"


# -- built-in engines ------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A ``?KEY=VALUE`` knob of a built-in engine."""

    help: str
    default: object
    choices: tuple[str, ...] = ()  # empty: a whole number from 1 to ``maximum``, unless ``text``
    text: bool = False
    #: the largest whole number it takes: beyond it a run exhausts the machine or never ends
    maximum: int = 0

    def parse(self, key: str, text: str) -> object:
        if self.text:
            return text
        if self.choices:
            if text not in self.choices:
                raise TargetError(f"option {key}={text!r}: one of {', '.join(self.choices)}")
            return text
        if not _whole(text, self.maximum):
            raise TargetError(f"option {key}={text!r}: a whole number >= 1, at most {self.maximum}")
        return int(text)


def _whole(text: str, maximum: int) -> bool:
    """Whether ``text`` is a whole number from 1 to ``maximum`` (ASCII digits, no sign)."""
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(maximum))
    return digits and 1 <= int(text) <= maximum


Options = Mapping[str, object]


@dataclass(frozen=True)
class BuiltIn:
    summary: str
    #: What N counts (None: the engine takes no N); without N, ``make`` gets None and picks.
    counts: str | None
    make: Callable[[int | None, Options, Schedule | None], Engine]
    options: Mapping[str, Option] = field(default_factory=dict)
    deterministic: Callable[[Options], bool] = lambda _: False
    schedules: Callable[[Options], bool] = lambda _: False


def _blockstm_det(n: int | None, options: Options, schedule: Schedule | None) -> Engine:
    steps = options["max-steps"]
    assert isinstance(steps, int)
    engine = BlockSTMEngine.deterministic(n or 4, schedule, max_steps=steps)
    engine.name = "blockstm-det"
    return engine


def _multicore(n: int | None, options: Options, schedule: Schedule | None) -> Engine:
    chunk = options["chunk"]
    assert isinstance(chunk, int)
    return MultiCoreEngine(n, chunk=chunk)


def _sharded(n: int | None, options: Options, schedule: Schedule | None) -> Engine:
    shards, partition = n or 4, str(options["partition"])
    if options["transport"] == "sim" and schedule is not None:
        return simulated_sharded(shards, schedule.as_seed(), partition=partition)
    address = options["ray-address"]
    return ShardedEngine(
        shards,
        partition,
        transport=str(options["transport"]),
        ray_address=None if address is None else str(address),
    )


def _on_sim(options: Options) -> bool:
    return options["transport"] == "sim"


#: Every built-in engine by name: the one table behind the grammar's ``NAME``.
BUILTINS: dict[str, BuiltIn] = {
    "sequential": BuiltIn(
        "the reference: one transaction after another", None,
        lambda n, o, s: SequentialEngine(),
    ),
    "blockstm": BuiltIn(
        "Block-STM on real threads (preemptive: races happen, but do not replay)",
        "workers", lambda n, o, s: BlockSTMEngine(n or 4),
    ),
    "blockstm-det": BuiltIn(
        "Block-STM on the deterministic runtime: a schedule decides every interleaving, so a "
        "run replays exactly",
        "workers", _blockstm_det,
        {
            "max-steps": Option(
                "scheduling steps before the run is called a hang", 500_000, maximum=10_000_000
            )
        },
        deterministic=lambda _: True, schedules=lambda _: True,
    ),
    "multicore": BuiltIn(
        "chunks speculated in forked processes, validated in block order by the parent",
        "processes", _multicore,
        {"chunk": Option("transactions per child chunk", 128, maximum=100_000)},
        deterministic=lambda _: True,
    ),
    "sharded": BuiltIn(
        "shards committing cross-shard transactions by two-phase commit; on the simulated "
        "network a schedule names a healing fault plan",
        "shards", _sharded,
        {
            "transport": Option("where the shards run", "sim", tuple(TRANSPORTS)),
            "partition": Option("which shard holds a key", "account", tuple(PARTITIONERS)),
            "ray-address": Option(
                "transport ray: the cluster (default: a local instance)", None, text=True
            ),
        },
        deterministic=_on_sim, schedules=_on_sim,
    ),
}  # fmt: skip


def _bad_count(spec: str, counts: str | None, example: str) -> str:
    return (
        f"engine {spec!r}: N is the number of {counts}, a whole number from 1 to {MAX_COUNT}, "
        + example
    )


def _check_count(spec: str, counts: str | None, workers: int | None) -> None:
    """The N an example or a failure file asks of the engine: in range, so that a file edited
    to ``"workers": 10000`` (or ``true``) is bad input, not an engine that crashed."""
    if counts is None or workers is None:  # an engine without N ignores it
        return
    if type(workers) is not int or not 1 <= workers <= MAX_COUNT:
        raise TargetError(_bad_count(spec, counts, f"got {workers!r}"))


def _builtin(spec: str, name: str, count: str, query: str) -> Target:
    builtin = BUILTINS[name]
    n: int | None = None
    if count:
        if builtin.counts is None:
            raise TargetError(f"engine {spec!r}: {name} takes no N")
        if not _whole(count, MAX_COUNT):
            raise TargetError(_bad_count(spec, builtin.counts, f"e.g. {name}:2"))
        n = int(count)
    options: dict[str, object] = {key: o.default for key, o in builtin.options.items()}
    for pair in query.split("&") if query else ():
        key, eq, value = pair.partition("=")
        option = builtin.options.get(key)
        if option is None or not eq:
            known = ", ".join(f"{k}=" for k in builtin.options) or "none"
            raise TargetError(
                f"engine {spec!r}: unknown option {pair!r} (options of {name}: {known})"
            )
        try:
            options[key] = option.parse(key, value)
        except TargetError as err:
            raise TargetError(f"engine {spec!r}: {err}") from None

    def build(workers: int | None, schedule: Schedule | None) -> Engine:
        _check_count(spec, builtin.counts, workers)
        try:
            return builtin.make(n if n is not None else workers, options, schedule)
        except ValueError as err:
            raise TargetError(f"engine {spec!r}: {err}") from None

    return Target(
        spec,
        build,
        builtin.deterministic(options),
        count=n,
        counts=builtin.counts,
        schedules=builtin.schedules(options),
    )


def _mutant(spec: str, name: str) -> Target:
    found = [m for m in (*ENGINE_MUTANTS, *HARD_MUTANTS) if m.name == name]
    if not found:
        known = ", ".join(m.name for m in ENGINE_MUTANTS)
        raise TargetError(f"unknown mutant {name!r} (known: {known})")
    build, counts = found[0].build, found[0].counts

    def make(workers: int | None, schedule: Schedule | None) -> Engine:
        _check_count(spec, counts, workers)
        return build(workers or 4, schedule or Schedule())

    return Target(
        spec,
        make,
        deterministic=True,
        counts=counts,
        schedules=counts != "processes",  # the multi-core engine has no schedule
    )


def _takes(factory: Callable[..., object], name: str) -> bool:
    """Whether ``factory`` takes the keyword argument ``name``."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or an object without a signature
        return False
    found = parameters.get(name)
    return found is not None and found.kind in (found.POSITIONAL_OR_KEYWORD, found.KEYWORD_ONLY)


class _Untrusted:
    """A user's engine as txlanes calls it: each ``execute`` under :func:`guarded` and its
    result checked, wherever it runs (``check``, ``run``, ``replay``, ``bench``, the pytest
    plugin). Every other attribute (``runtime``, ``faults``, ...) is the engine's own."""

    def __init__(self, engine: Any, seconds: float) -> None:
        self.engine = engine
        self.seconds = seconds
        self.name = str(getattr(engine, "name", ""))

    def __getattr__(self, name: str) -> Any:
        if name == "engine":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.engine, name)

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        try:
            got = guarded(self.seconds, lambda: self.engine.execute(block, state))
        except Misbehaved as err:
            said = f"the engine's execute {err}" if err.late else f"engine {err} in execute"
            raise Misbehaved(said, err.error, err.late) from None
        return block_result(got)


def _spec_form(spec: str) -> tuple[str, str]:
    """``pkg.module:Class`` split, or a :class:`TargetError` saying what the form is."""
    module_name, _, attr = spec.partition(":")
    if not (all(part.isidentifier() for part in module_name.split(".")) and attr.isidentifier()):
        raise TargetError(
            f"engine {spec!r}: a user's engine is pkg.module:Class, a module importable from "
            "PYTHONPATH and a class or factory in it, e.g. my_engines.fast:Engine"
        )
    return module_name, attr


def _import(spec: str, module_name: str, seconds: float) -> ModuleType:
    """The module, imported under :func:`guarded`: one that raises, exits or hangs at import
    is a configuration error, never an exit of txlanes with the module's own code."""
    try:
        return guarded(seconds, lambda: importlib.import_module(module_name))
    except Misbehaved as err:
        if isinstance(err.error, ModuleNotFoundError) and err.error.name == module_name:
            hint = f"{err.error}: is its folder on PYTHONPATH?"
            raise TargetError(f"engine {spec!r}: cannot import {module_name!r} ({hint})") from None
        said = f"at import, the module {err}"
        raise TargetError(f"engine {spec!r}: cannot import {module_name!r}: {said}") from None


def _of(spec: str, doing: str, seconds: float, call: Callable[[], T]) -> T:
    """``call()`` under :func:`guarded`, its misbehaviour a :class:`TargetError` naming
    ``doing``: at resolve time an engine that cannot be built or read cannot be checked."""
    try:
        return guarded(seconds, call)
    except Misbehaved as err:
        raise TargetError(f"engine {spec!r}: {doing} failed: it {err}") from None


def _kinds(spec: str, declared: object) -> frozenset[str] | None:
    """``capabilities`` as the transaction kinds it names: None (all), or known kinds."""
    if declared is None:
        return None
    if not isinstance(declared, list):  # a str or bytes: not a collection of kinds
        raise TargetError(
            f"engine {spec!r}: capabilities must be a collection of transaction kinds, e.g. "
            f"{{'erc20.transfer'}}, not a {type(declared).__name__}"
        )
    for kind in declared:
        if not (isinstance(kind, str) and kind in TX_TYPES):
            named = repr(kind)[:80] if isinstance(kind, str) else f"a {type(kind).__name__}"
            raise TargetError(
                f"engine {spec!r}: capabilities names {named}, not a transaction kind "
                f"(known: {', '.join(sorted(TX_TYPES))})"
            )
    if not declared:
        raise TargetError(f"engine {spec!r}: capabilities is empty: it supports no transaction")
    return frozenset(declared)


def _flag(spec: str, name: str, value: object) -> bool:
    if type(value) is not bool:
        raise TargetError(
            f"engine {spec!r}: {name} must be True or False, not a {type(value).__name__}"
        )
    return value


def _user_engine(spec: str, timeout: float) -> Target:
    """``pkg.module:Class``: built afresh for every example — as ``Class(workers=N)`` when it
    takes ``workers`` (then the campaign varies N and shrinks it), else as ``Class()``. Its
    optional attributes: ``capabilities`` (the kinds it supports), ``reports_traces`` (False:
    compare receipts and the diff only), ``deterministic`` (True: the same example always
    computes the same result, so a failure is minimized without repeated runs). Its import,
    construction, attributes and every block each get ``timeout`` seconds (:func:`guarded`).

    The scheduling hook (opt-in, the Loom/Shuttle model): a constructor that takes ``runtime``
    gets a :class:`~txlanes.executor.blockstm.DeterministicRuntime` of N workers under the
    campaign's schedule. An engine that runs its threads with ``runtime.run(callables)``, calls
    ``runtime.point(label)`` before each access to state its threads share and takes its locks
    from ``runtime.lock()`` is then deterministic: its races are explored by the campaign's
    schedules and a failure replays exactly (keep the runtime as ``self.runtime``)."""
    module_name, attr = _spec_form(spec)
    module = _import(spec, module_name, timeout)
    factory = _of(spec, f"reading {attr!r}", timeout, lambda: getattr(module, attr, None))
    if factory is None:
        raise TargetError(f"engine {spec!r}: module {module_name!r} has no attribute {attr!r}")
    workers = _takes(factory, "workers")
    hooked = _takes(factory, "runtime")
    counts = "workers" if workers or hooked else None

    def make(n: int | None, schedule: Schedule | None) -> _Untrusted:
        _check_count(spec, counts, n)
        kwargs: dict[str, object] = {"workers": n or 4} if workers else {}
        if hooked:
            runtime = DeterministicRuntime(n or 4, schedule or Schedule(), max_steps=500_000)
            kwargs["runtime"] = runtime
        try:
            return guarded(timeout, lambda: _Untrusted(factory(**kwargs), timeout))
        except Misbehaved as err:
            raise Misbehaved(f"constructing it failed: it {err}", err.error, err.late) from None

    try:
        probe = make(2, None)
    except Misbehaved as err:
        raise TargetError(f"engine {spec!r}: {err}") from None
    engine = probe.engine
    declared = {
        name: _of(spec, f"reading its {name}", timeout, partial(getattr, engine, name, default))
        for name, default in (("execute", None), ("reports_traces", True), ("deterministic", False))
    }
    if not callable(declared["execute"]):
        raise TargetError(f"engine {spec!r}: has no execute(block, state) method")
    kinds = _of(spec, "reading its capabilities", timeout, partial(_listed, engine))
    return Target(
        spec,
        make,
        deterministic=hooked or _flag(spec, "deterministic", declared["deterministic"]),
        traces=_flag(spec, "reports_traces", declared["reports_traces"]),
        kinds=_kinds(spec, kinds),
        counts=counts,
        schedules=hooked,
        block_timeout=timeout,
    )


def _listed(engine: object) -> object:
    """The engine's ``capabilities``, iterated here (an iterator is the engine's code too); a
    str or bytes as it is, for :func:`_kinds` to reject."""
    declared = getattr(engine, "capabilities", None)
    if declared is None or isinstance(declared, str | bytes):
        return declared
    return list(declared)


def _external(command: str, timeout: float, reports: Path) -> Target:
    """A subprocess engine. It starts now, so that its handshake — and so the transaction kinds
    it supports — is known before any workload is generated; one process serves every example.
    A misbehaving engine raises ``ExternalEngineError``."""
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise TargetError(
            f"engine {'cmd:' + command!r}: cmd:COMMAND is a command line split as a shell would, "
            f"and this one cannot be ({err}): quote it as in a shell, e.g. cmd:'node engine.js'"
        ) from None
    engine = ExternalEngine(argv, timeout=timeout, transcript_dir=reports)
    return Target(
        f"cmd:{command}",
        lambda *_: engine,
        traces=engine.reports_traces,
        kinds=engine.capabilities,
    )


def runs_here(spec: str) -> bool:
    """Whether ``spec`` names a subprocess of this machine, which no other machine can rebuild
    (so it cannot run on a Ray cluster)."""
    return spec.startswith("cmd:")


def resolve(spec: str, *, timeout: float = 10.0, reports: Path = Path("reports")) -> Target:
    """The engine ``spec`` names; :class:`TargetError` if it names none.

    A ``cmd:`` or ``pkg.module:Class`` engine may take ``timeout`` seconds per block; a ``cmd:``
    engine saves its transcript under ``reports`` when it misbehaves.
    """
    if runs_here(spec):
        return _external(spec.removeprefix("cmd:"), timeout, reports)
    if spec.startswith("mutant:"):
        return _mutant(spec, spec.removeprefix("mutant:"))
    head, _, query = spec.partition("?")
    name, _, count = head.partition(":")
    if name in BUILTINS:
        return _builtin(spec, name, count, query)
    if ":" in spec:
        return _user_engine(spec, timeout)
    raise TargetError(
        f"unknown engine {spec!r}: use {', '.join(BUILTINS)} (each as NAME[:N][?OPTION=VALUE]), "
        "mutant:NAME, pkg.module:Class or cmd:COMMAND (docs/engines.md)"
    )


#: What ``txlanes check`` tests by default: every built-in parallel engine, the multi-core one
#: with chunks of two so that a campaign's small blocks spread over its processes.
DEFAULT_CHECK = ("blockstm-det", "blockstm", "sharded", "multicore?chunk=2")


def spec_with(spec: str, *, counts: Mapping[str, int], options: Mapping[str, str]) -> str:
    """``spec`` with its N and options given apart, as ``txlanes run --workers 4 --transport
    ray`` gives them: checked against what the engine takes, named by their flags."""
    if not counts and not options:
        return spec
    head, _, query = spec.partition("?")
    name, _, count = head.partition(":")
    builtin = BUILTINS.get(name)
    for flag, n in counts.items():
        if builtin is None or flag != builtin.counts:
            raise TargetError(f"engine {spec!r} takes no --{flag}")
        if count:
            raise TargetError(f"engine {spec!r} names its {flag} already: drop --{flag}")
        count = str(n)
    for key in options:
        if builtin is None or key not in builtin.options:
            raise TargetError(f"engine {spec!r} takes no --{key}")
    query = "&".join([*([query] if query else []), *(f"{k}={v}" for k, v in options.items())])
    return name + (f":{count}" if count else "") + (f"?{query}" if query else "")
