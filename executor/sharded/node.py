"""Coordinator and participants as sans-IO state machines — the protocol's own actions, each run
on one node's local state.

A node owns some of the protocol's state variables (a participant: its votes, what it applied,
its locks; the coordinator: what it started and decided). The message variables become the
node's inbox (``prepare_sent[t, p]`` at participant p means "PREPARE for t has arrived") and
outbox (setting ``yes_sent[t, p]`` sends the vote). So a node's step is exactly one of the
actions z3 checks (checker/protocol_proofs.py), restricted to what that node can see; messages
out are returned, never sent: the transport (simulated network, processes, Ray) moves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .finite import Disabled, ViewLogic
from .protocol import ACCOUNT, SHARD, STATE, TXN, TwoPhaseCommit

TxnId = tuple[int, int]  # (transaction index in the block, attempt)
COORDINATOR = -1  # the coordinator's address; shards are 0..S-1

#: Which variables each role owns, reads as its inbox, and writes as its outbox.
PARTICIPANT_VARS = {
    "local": ("vote", "applied", "locked", "escrow", "balance"),
    "inbox": ("prepare_sent", "commit_sent", "abort_sent"),
    "outbox": ("yes_sent", "no_sent"),
}
COORDINATOR_VARS = {
    "local": ("started", "decision"),
    "inbox": ("yes_sent", "no_sent"),
    "outbox": ("prepare_sent", "commit_sent", "abort_sent"),
}


@dataclass(frozen=True)
class Msg:
    """A message: the protocol variable it sets, the transaction attempt, the participant it
    concerns, and what the engine carries with it (keys, values, writes)."""

    kind: str
    txn: TxnId
    shard: int
    payload: Any = None

    @property
    def to(self) -> int:
        return COORDINATOR if self.kind in COORDINATOR_VARS["inbox"] + ("ack",) else self.shard


@dataclass
class TxnInfo:
    """What a node knows of a transaction attempt: its participants and keys per shard."""

    participants: frozenset[int]
    keys: dict[int, frozenset[Any]] = field(default_factory=dict)


class Node:
    """One node's protocol state, and the actions run on it."""

    def __init__(self, protocol: TwoPhaseCommit, shards: int, address: int) -> None:
        self.protocol = protocol
        self.shards = shards
        self.address = address
        self.vars = COORDINATOR_VARS if address == COORDINATOR else PARTICIPANT_VARS
        self.state: dict[str, dict[tuple[Any, ...], Any]] = {v: {} for v in self.vars["local"]}
        self.received: set[tuple[str, tuple[Any, ...]]] = set()
        self.sent: set[tuple[str, tuple[Any, ...]]] = set()
        self.txns: dict[TxnId, TxnInfo] = {}  # live attempts: what the actions quantify over
        self.archived: set[TxnId] = set()

    def archive(self, t: TxnId) -> None:
        """Forget a finished attempt's state (every participant applied its decision): it can
        enable no action any more, and quantifying over it would make every step O(history)."""
        self.txns.pop(t, None)
        self.archived.add(t)
        for entries in self.state.values():
            for index in [i for i in entries if i[0] == t]:
                del entries[index]
        self.received = {r for r in self.received if r[1][0] != t}
        self.sent = {r for r in self.sent if r[1][0] != t}

    def receive(self, msg: Msg) -> None:
        index = (msg.txn,) if STATE[msg.kind][0] == (TXN,) else (msg.txn, msg.shard)
        self.received.add((msg.kind, index))

    def run(self, action: str, *params: Any) -> list[Msg] | None:
        """Run one protocol action on this node: the messages it sends, or None if disabled.
        All or nothing: a disabled action changes nothing."""
        view = LocalView(self)
        try:
            getattr(self.protocol, action)(view, *params)
        except Disabled:
            return None
        for var, changes in view.changes.items():
            self.state[var].update(changes)
        self.sent |= {(m.kind, (m.txn,) if m.shard < 0 else (m.txn, m.shard)) for m in view.out}
        return view.out

    def enabled(self, action: str, *params: Any) -> bool:
        """Whether the action may fire now (a dry run: nothing changes)."""
        try:
            getattr(self.protocol, action)(LocalView(self), *params)
        except Disabled:
            return False
        return True

    def get(self, var: str, *index: Any) -> Any:
        return LocalView(self).get(var, *index)


class LocalView(ViewLogic):
    """The protocol's `View` from one node: its own variables, its inbox, its outbox."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.changes: dict[str, dict[tuple[Any, ...], Any]] = {}  # written, not yet committed
        self.out: list[Msg] = []
        self.guards = []

    def domain(self, sort: str) -> Iterable[Any]:
        if sort == TXN:
            return list(self.node.txns)
        if sort == SHARD:
            return range(self.node.shards)
        assert sort == ACCOUNT
        return [0]

    def _owned(self, var: str) -> list[tuple[Any, ...]]:
        sorts = STATE[var][0]
        if sorts == (ACCOUNT,):
            return [(0,)]
        shards = (
            range(self.node.shards) if self.node.address == COORDINATOR else [self.node.address]
        )
        txns = list(self.node.txns)
        return [(t,) for t in txns] if sorts == (TXN,) else [(t, p) for t in txns for p in shards]

    def get(self, var: str, *index: Any) -> Any:
        if var in self.node.state:
            changes = self.changes.get(var)
            if changes is not None and index in changes:
                return changes[index]
            default = False if STATE[var][1] == "bool" else 0
            return self.node.state[var].get(index, default)
        if var in self.node.vars["inbox"]:
            return (var, index) in self.node.received
        if var in self.node.vars["outbox"]:
            return (var, index) in self.node.sent or any(
                m.kind == var and (m.txn, m.shard)[: len(index)] == index for m in self.out
            )
        raise KeyError(f"node {self.node.address} cannot see {var}{list(index)}")

    def set(self, var: str, index: tuple[Any, ...], value: Any) -> None:
        if var in self.node.state:
            self.changes.setdefault(var, {})[index] = value
        elif var in self.node.vars["outbox"]:
            if value and not self.get(var, *index):
                shard = index[1] if len(index) > 1 else -1
                self.out.append(Msg(var, index[0], shard))
        else:
            raise KeyError(f"node {self.node.address} cannot write {var}{list(index)}")

    def update(self, var: str, fn: Callable[..., Any]) -> None:
        for index in self._owned(var):
            self.set(var, index, fn(*index, self.get(var, *index)))

    def update_row(self, var: str, t: Any, fn: Callable[[Any, Any], Any]) -> None:
        shards = (
            range(self.node.shards) if self.node.address == COORDINATOR else [self.node.address]
        )
        for p in shards:
            self.set(var, (t, p), fn(p, self.get(var, t, p)))

    def rigid(self, name: str, *index: Any) -> Any:
        info = self.node.txns.get(index[0])
        if name == "part":
            return info is not None and index[1] in info.participants
        if name == "conflict":
            other = self.node.txns.get(index[1])
            p = index[2]
            if info is None or other is None:
                return False
            return bool(info.keys.get(p, frozenset()) & other.keys.get(p, frozenset()))
        return 0  # account, debit, credit: value moves through the spec's own writes
