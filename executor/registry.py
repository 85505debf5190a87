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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .blockstm import BlockSTMEngine, DeterministicRuntime, Schedule
from .external import ExternalEngine
from .multicore import MultiCoreEngine
from .mutants import ENGINE_MUTANTS, HARD_MUTANTS
from .result import Engine
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
    choices: tuple[str, ...] = ()  # empty: a whole number >= 1, unless ``text``
    text: bool = False

    def parse(self, key: str, text: str) -> object:
        if self.text:
            return text
        if self.choices:
            if text not in self.choices:
                raise TargetError(f"option {key}={text!r}: one of {', '.join(self.choices)}")
            return text
        if not (text.isascii() and text.isdigit()) or int(text) < 1 or len(text) > 9:
            raise TargetError(f"option {key}={text!r}: a whole number >= 1")
        return int(text)


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
        {"max-steps": Option("scheduling steps before the run is called a hang", 500_000)},
        deterministic=lambda _: True, schedules=lambda _: True,
    ),
    "multicore": BuiltIn(
        "chunks speculated in forked processes, validated in block order by the parent",
        "processes", _multicore,
        {"chunk": Option("transactions per child chunk", 128)},
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


def _builtin(spec: str, name: str, count: str, query: str) -> Target:
    builtin = BUILTINS[name]
    n: int | None = None
    if count:
        if builtin.counts is None:
            raise TargetError(f"engine {spec!r}: {name} takes no N")
        if not (count.isascii() and count.isdigit()) or not 1 <= int(count) <= MAX_COUNT:
            raise TargetError(
                f"engine {spec!r}: N is the number of {builtin.counts}, a whole number from 1 "
                f"to {MAX_COUNT}, e.g. {name}:2"
            )
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
    build = found[0].build
    return Target(
        spec,
        lambda workers, schedule: build(workers or 4, schedule or Schedule()),
        deterministic=True,
        counts=found[0].counts,
        schedules=found[0].counts != "processes",  # the multi-core engine has no schedule
    )


def _takes(factory: Callable[..., object], name: str) -> bool:
    """Whether ``factory`` takes the keyword argument ``name``."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or an object without a signature
        return False
    found = parameters.get(name)
    return found is not None and found.kind in (found.POSITIONAL_OR_KEYWORD, found.KEYWORD_ONLY)


def _user_engine(spec: str, timeout: float) -> Target:
    """``pkg.module:Class``: built afresh for every example — as ``Class(workers=N)`` when it
    takes ``workers`` (then the campaign varies N and shrinks it), else as ``Class()``. Its
    optional attributes: ``capabilities`` (the kinds it supports), ``reports_traces`` (False:
    compare receipts and the diff only), ``deterministic`` (True: the same example always
    computes the same result, so a failure is minimized without repeated runs).

    The scheduling hook (opt-in, the Loom/Shuttle model): a constructor that takes ``runtime``
    gets a :class:`~txlanes.executor.blockstm.DeterministicRuntime` of N workers under the
    campaign's schedule. An engine that runs its threads with ``runtime.run(callables)``, calls
    ``runtime.point(label)`` before each access to state its threads share and takes its locks
    from ``runtime.lock()`` is then deterministic: its races are explored by the campaign's
    schedules and a failure replays exactly (keep the runtime as ``self.runtime``)."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TargetError(f"engine {spec!r}: cannot import {module_name!r} ({err})") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise TargetError(f"engine {spec!r}: module {module_name!r} has no attribute {attr!r}")
    workers = _takes(factory, "workers")
    hooked = _takes(factory, "runtime")

    def make(n: int, schedule: Schedule | None) -> Engine:
        kwargs: dict[str, object] = {"workers": n} if workers else {}
        if hooked:
            kwargs["runtime"] = DeterministicRuntime(n, schedule or Schedule(), max_steps=500_000)
        engine: Engine = factory(**kwargs)
        return engine

    try:
        probe = make(2, None)
    except Exception as err:
        raise TargetError(f"engine {spec!r}: constructing it failed: {err}") from None
    try:
        if not callable(getattr(probe, "execute", None)):
            raise TargetError(f"engine {spec!r}: has no execute(block, state) method")
        declared = getattr(probe, "capabilities", None)
        kinds = None if declared is None else frozenset(str(kind) for kind in declared)
        traces = bool(getattr(probe, "reports_traces", True))
        deterministic = hooked or getattr(probe, "deterministic", False) is True
    except TargetError:
        raise
    except Exception as err:  # a property that raises, capabilities that are not iterable
        raise TargetError(f"engine {spec!r}: reading what it declares failed: {err}") from None

    return Target(
        spec,
        lambda n, schedule: make(n or 4, schedule),
        deterministic=deterministic,
        traces=traces,
        kinds=kinds,
        counts="workers" if workers or hooked else None,
        schedules=hooked,
        block_timeout=timeout,
    )


def _external(command: str, timeout: float, reports: Path) -> Target:
    """A subprocess engine. It starts now, so that its handshake — and so the transaction kinds
    it supports — is known before any workload is generated; one process serves every example.
    A misbehaving engine raises ``ExternalEngineError``."""
    engine = ExternalEngine(command, timeout=timeout, transcript_dir=reports)
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
