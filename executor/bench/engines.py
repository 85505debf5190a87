"""Engines named by spec strings: ``sequential``, ``blockstm:N``, ``multicore:N``, ``sharded:N``,
or anything ``txlanes check`` resolves (``mutant:NAME``, ``pkg.module:Class``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from txlanes.checker.targets import TargetError, external, resolve
from txlanes.executor.run import EngineOptions, make_engine

from .measure import Contender

#: What a count after the colon means, per built-in engine.
_COUNTED: dict[str, Callable[[int], EngineOptions]] = {
    "blockstm": lambda n: EngineOptions(workers=n),
    "multicore": lambda n: EngineOptions(processes=n),
    "sharded": lambda n: EngineOptions(shards=n),
}

#: The issue's engine set; sharded runs on the simulated transport.
DEFAULT_ENGINES = (
    "sequential",
    "blockstm:1",
    "blockstm:2",
    "blockstm:4",
    "multicore:1",
    "multicore:2",
    "sharded:4",
)


def build_engine(spec: str, *, timeout: float = 60.0, reports: Path = Path("reports")) -> Contender:
    """The engine ``spec`` names; ``ValueError`` if it names none.

    Engines built by ``txlanes check``'s resolver (mutants, user classes) get 4 workers where
    they take any; a ``cmd:COMMAND`` engine gets ``timeout`` seconds per block and writes its
    transcript under ``reports`` if it misbehaves.
    """
    name, _, count = spec.partition(":")
    if spec == "sequential" or (name in _COUNTED and count.isdigit()):
        options = _COUNTED[name](int(count)) if count else EngineOptions()
        return Contender(spec, make_engine(name, options), True, None)
    if name in _COUNTED:
        raise ValueError(f"engine {spec!r}: write {name}:N with N a whole number, e.g. {name}:2")
    command = spec.removeprefix("cmd:")
    try:
        if command != spec:
            target = external(command, timeout=timeout, reports=reports)
        else:
            target = resolve(spec)
    except TargetError as err:
        raise ValueError(
            f"{err} (bench also takes sequential, blockstm:N, multicore:N, sharded:N)"
        ) from None
    return Contender(spec, target.build(4, None), target.traces, target.kinds)
