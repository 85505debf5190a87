"""The concrete side of the commit protocol's checking: explore every reachable state of a small
instance breadth-first (so the first violation found has a shortest trace), and replay a trace
step by step — the confirmation of every counterexample the z3 model checker reports."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .finite import FiniteView, Instance, State, Step, initial_state, steps, successor
from .protocol import CONSERVATION, SAFETY, SHARD, TXN, TwoPhaseCommit, value

Frozen = tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Violation:
    prop: str
    trace: tuple[Step, ...]
    states: tuple[State, ...]  # the initial state, then one per step


def _freeze(state: State) -> Frozen:
    return tuple(tuple(sorted(entries.items())) for _, entries in sorted(state.items()))


def violated(instance: Instance, initial: State, state: State) -> list[str]:
    """The properties this state breaks (conservation measured against the initial state)."""
    view = FiniteView(instance, state)
    broken = [name for name, prop in SAFETY.items() if not prop(view)]
    if value(view) != value(FiniteView(instance, initial)):
        broken.append(CONSERVATION)
    return broken


def explore(
    protocol: TwoPhaseCommit,
    instance: Instance,
    depth: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Violation | None, int]:
    """Breadth-first over every interleaving to ``depth`` steps: the first violation (with a
    shortest trace), and how many distinct states were seen."""
    start = initial_state(instance)
    all_steps = list(steps(protocol, instance))
    parents: dict[Frozen, tuple[Frozen, Step] | None] = {_freeze(start): None}
    states: dict[Frozen, State] = {_freeze(start): start}
    frontier = deque([_freeze(start)])
    for level in range(depth + 1):
        if progress is not None:
            progress(level, len(states))
        following: deque[Frozen] = deque()
        for key in frontier:
            state = states[key]
            broken = violated(instance, start, state)
            if broken:
                return _violation(broken[0], key, parents, states), len(states)
            if level == depth:
                continue
            for step in all_steps:
                nxt = successor(protocol, instance, state, step)
                if nxt is None:
                    continue
                nkey = _freeze(nxt)
                if nkey not in parents:
                    parents[nkey] = (key, step)
                    states[nkey] = nxt
                    following.append(nkey)
        frontier = following
    return None, len(states)


def _violation(
    prop: str,
    key: Frozen,
    parents: dict[Frozen, tuple[Frozen, Step] | None],
    states: dict[Frozen, State],
) -> Violation:
    trace: list[Step] = []
    chain = [states[key]]
    link = parents[key]
    while link is not None:
        key, step = link
        trace.append(step)
        chain.append(states[key])
        link = parents[key]
    return Violation(prop, tuple(reversed(trace)), tuple(reversed(chain)))


def replay(
    protocol: TwoPhaseCommit, instance: Instance, trace: Sequence[Step]
) -> tuple[list[State], list[str]]:
    """Run a trace concretely: every state it passes through, and the properties its last state
    breaks. Raises ValueError naming the first step that is not enabled."""
    state = initial_state(instance)
    states = [state]
    for i, step in enumerate(trace, 1):
        nxt = successor(protocol, instance, state, step)
        if nxt is None:
            raise ValueError(f"step {i} {format_step(step)} is not enabled")
        state = nxt
        states.append(state)
    return states, violated(instance, states[0], state)


def format_step(step: Step) -> str:
    action, params = step
    label = {TXN: "t", SHARD: "shard "}
    sorts = TwoPhaseCommit.ACTIONS[action]
    return f"{action}({', '.join(label[s] + str(x) for s, x in zip(sorts, params, strict=True))})"
