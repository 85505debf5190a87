"""Dependency-graph serializability (Adya): is there *some* serial order explaining a history?

For engines that promise only some serial order (sharded commit), equivalence with block order is
too strong. Following Adya's thesis, the direct serialization graph has an edge Ti → Tj when
Tj overwrote Ti (ww), read Ti's write (wr), or overwrote the version Ti read (rw, an
anti-dependency). A history is serializable iff that graph is acyclic, no transaction read a
write that was never committed or was later overwritten by its writer, and each transaction saw
its own writes and the same version at each read of a key (docs/history-format.md).

The anomaly reported is the weakest the history shows, in the order of Adya's hierarchy: G0
(proscribed from PL-1 up), G1a, G1b, G1c (PL-2), G-single (PL-2+), G2 (PL-3) — after an internal
inconsistency, which Adya's definition of a history already excludes. A cycle is the shortest of
its class, with each edge explained in a sentence, and is labelled by its shape (lost update,
read skew, write skew, ...).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import networkx as nx

from txlanes.executor.result import PRE_STATE
from txlanes.models.context import Key
from txlanes.models.workload import key_to_str

from .history import History, Read

WW, WR, RW = "ww", "wr", "rw"
N = TypeVar("N")

#: What each anomaly means, for reports; weakest first, in the order they are looked for.
ANOMALIES = {
    "internal": (
        "internal inconsistency: a transaction read another version of a key after reading "
        "its own write of it"
    ),
    "G0": "write cycle: transactions overwrote each other's writes in a cycle",
    "G1a": "aborted read: a transaction read a write that was never committed",
    "G1b": "intermediate read: a transaction read a value its writer later overwrote",
    "G1c": "circular information flow: a cycle of write and read dependencies",
    "G-single": "single anti-dependency cycle: a cycle with exactly one anti-dependency",
    "G2": "anti-dependency cycle: every cycle has two or more anti-dependencies",
}

#: The shapes a G-single or G2 cycle is labelled by (docs/history-format.md gives the sources).
SHAPES = {
    "non-repeatable read": (
        "a transaction read a key twice, with no write of its own in between, and saw two "
        "different writers (a fuzzy read)"
    ),
    "lost update": (
        "two transactions read a key and both wrote it; one overwrote the other's write "
        "without having seen it"
    ),
    "read skew": (
        "a transaction read one key before another transaction wrote it, and a second key "
        "after that transaction wrote it"
    ),
    "write skew": (
        "two transactions each read a key that the other then wrote (two anti-dependencies "
        "on different keys)"
    ),
    "read-only transaction anomaly": (
        "a transaction that wrote nothing is in the cycle: it saw a state that fits no serial "
        "order the other transactions' dependencies allow"
    ),
    "G-nonadjacent": (
        "no two anti-dependencies follow each other in the cycle, which even snapshot "
        "isolation rules out"
    ),
}


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int
    kind: str
    key: Key
    #: for rw edges, the writer of the version ``src`` read (PRE_STATE for the initial state)
    seen: int = PRE_STATE

    def explain(self) -> str:
        k = key_to_str(self.key)
        if self.kind == WW:
            return (
                f"T{self.src} -ww-> T{self.dst}: T{self.dst} overwrote T{self.src}'s write of {k}"
            )
        if self.kind == WR:
            return f"T{self.src} -wr-> T{self.dst}: T{self.dst} read {k} as written by T{self.src}"
        return (
            f"T{self.src} -rw-> T{self.dst}: T{self.src} read {k} from {_source(self.seen)}, "
            f"and T{self.dst} installed the next version of {k}"
        )


def _source(writer: int) -> str:
    return "the initial state" if writer == PRE_STATE else f"T{writer}"


@dataclass(frozen=True)
class Anomaly:
    name: str
    cycle: tuple[Edge, ...]  # empty for internal / G1a / G1b
    detail: str = ""
    #: the shape of a G-single or G2 cycle (a key of SHAPES); None for the class's generic text
    label: str | None = None

    def explain(self) -> str:
        meaning = (
            ANOMALIES[self.name] if self.label is None else f"{self.label}: {SHAPES[self.label]}"
        )
        lines = [f"{self.name} — {meaning}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        lines += [f"  {edge.explain()}" for edge in self.cycle]
        return "\n".join(lines)


def _committed_reads(history: History) -> Iterator[tuple[int, Key, list[Read]]]:
    for reader, tx in enumerate(history.txs):
        if not tx.aborted:
            for key, reads in tx.reads.items():
                yield reader, key, reads


def dependency_graph(history: History) -> nx.MultiDiGraph[int]:
    """The direct serialization graph; each edge carries its :class:`Edge` as ``edge``.

    A read adds edges only for a version that was installed (the initial state or a committed
    write); a read of the reader's own write adds none (its ww edges already order it)."""
    graph: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    graph.add_nodes_from(i for i, t in enumerate(history.txs) if not t.aborted)
    for key, writers in history.version_order.items():
        for before, after in itertools.pairwise(writers):
            _add(graph, Edge(before, after, WW, key))
    for reader, key, reads in _committed_reads(history):
        writers = history.version_order.get(key, [])
        for writer in dict.fromkeys(read.writer for read in reads):
            if writer == reader or (writer != PRE_STATE and writer not in writers):
                continue
            if writer != PRE_STATE:
                _add(graph, Edge(writer, reader, WR, key))
            following = _next_version(writers, writer)
            if following is not None and following != reader:
                _add(graph, Edge(reader, following, RW, key, writer))
    return graph


def _add(graph: nx.MultiDiGraph[int], edge: Edge) -> None:
    if edge.src != edge.dst:
        graph.add_edge(edge.src, edge.dst, edge=edge)


def _next_version(writers: list[int], seen: int) -> int | None:
    """The writer who installed the version after ``seen`` (the first one after the initial)."""
    if seen == PRE_STATE:
        return writers[0] if writers else None
    pos = writers.index(seen)
    return writers[pos + 1] if pos + 1 < len(writers) else None


def find_anomaly(history: History) -> Anomaly | None:
    """The weakest anomaly in the history, with its shortest explaining cycle; None if none."""
    internal = _internal_inconsistency(history)
    if internal is not None:
        return internal
    graph = dependency_graph(history)
    if nx.is_directed_acyclic_graph(graph):
        # Every other class is a cycle (a non-repeatable read of installed versions closes one).
        return _aborted_read(history) or _intermediate_read(history)
    cycle = _shortest_cycle(graph, {WW})
    if cycle is not None:
        return Anomaly("G0", cycle)
    dirty = _aborted_read(history) or _intermediate_read(history)
    if dirty is not None:
        return dirty
    cycle = _shortest_cycle(graph, {WW, WR})
    if cycle is not None:
        return Anomaly("G1c", cycle)
    fuzzy = _non_repeatable_read(history)
    if fuzzy is not None:
        return fuzzy
    cycle = _shortest_cycle_with_one(graph, RW, {WW, WR})
    if cycle is not None:
        return Anomaly("G-single", cycle, label=_single_shape(history, cycle))
    # With no cycle of one anti-dependency, a G-nonadjacent cycle is looked for first: it is the
    # G2 that snapshot isolation rules out.
    cycle = _shortest_nonadjacent_cycle(graph) or _shortest_cycle(graph, {WW, WR, RW})
    if cycle is not None:
        return Anomaly("G2", cycle, label=_g2_shape(history, cycle))
    return None


def _rereads(history: History) -> Iterator[tuple[int, Key, Read, Read]]:
    """Consecutive reads of a key by one transaction that saw different writers, the later one
    not of its own write — so with no write of the transaction between them."""
    for reader, key, reads in _committed_reads(history):
        for before, after in itertools.pairwise(reads):
            if after.writer not in (reader, before.writer):
                yield reader, key, before, after


def _internal_inconsistency(history: History) -> Anomaly | None:
    """A read of another writer's version right after the transaction read its own write."""
    for reader, key, before, after in _rereads(history):
        if before.writer == reader:
            detail = (
                f"T{reader} read {key_to_str(key)} from its own write, then from "
                f"{_source(after.writer)}, without writing it in between"
            )
            return Anomaly("internal", (), detail)
    return None


def _aborted_read(history: History) -> Anomaly | None:
    """G1a: a read of a write that was never installed — an aborted transaction's, or one its
    writer (the reader itself included) does not make: the write of a discarded execution."""
    for reader, key, reads in _committed_reads(history):
        k = key_to_str(key)
        for read in reads:
            if read.writer == PRE_STATE:
                continue
            source = history.txs[read.writer]
            if read.writer == reader:
                if key not in source.writes:
                    return Anomaly(
                        "G1a",
                        (),
                        f"T{reader} read {k} from its own write, but T{reader} does not write "
                        f"{k} (the write of a discarded execution)",
                    )
            elif source.aborted or key not in source.writes:
                why = "aborted" if source.aborted else "never wrote it (its write was discarded)"
                return Anomaly("G1a", (), f"T{reader} read {k} from T{read.writer}, which {why}")
    return None


def _intermediate_read(history: History) -> Anomaly | None:
    """G1b: a read of another transaction's write whose value is not the writer's final one."""
    for reader, key, reads in _committed_reads(history):
        for read in reads:
            if read.value is None or read.writer in (PRE_STATE, reader):
                continue
            final = history.txs[read.writer].writes[key]
            if read.value != final:
                return Anomaly(
                    "G1b",
                    (),
                    f"T{reader} read {key_to_str(key)} = {read.value} from T{read.writer}, whose "
                    f"final write was {final}",
                )
    return None


def _non_repeatable_read(history: History) -> Anomaly | None:
    """Two reads of another's versions of a key, with no own write between them, that saw
    different writers; with the cycle that proves it."""
    for reader, key, before, after in _rereads(history):
        if before.writer != reader:
            cycle = _fuzzy_cycle(history, reader, key, before.writer, after.writer)
            detail = (
                f"T{reader} read {key_to_str(key)} from {_source(before.writer)}, then from "
                f"{_source(after.writer)}"
            )
            return Anomaly("G-single", cycle, detail, label="non-repeatable read")
    return None


def _fuzzy_cycle(
    history: History, reader: int, key: Key, first: int, second: int
) -> tuple[Edge, ...]:
    """The cycle two reads of ``key`` seeing versions ``first`` and ``second`` close: the reader
    anti-depends on the version after the earlier one, the versions up to the later one follow
    by ww, and the reader read the later one. Both versions are installed and the reader's own
    is not between them (otherwise G1a or G1c was found first)."""
    writers = history.version_order.get(key, [])
    position = {PRE_STATE: -1} | {w: i for i, w in enumerate(writers)}
    early, late = sorted((first, second), key=position.__getitem__)
    chain = writers[position[early] + 1 : position[late] + 1]
    return (
        Edge(reader, chain[0], RW, key, early),
        *(Edge(a, b, WW, key) for a, b in itertools.pairwise(chain)),
        Edge(late, reader, WR, key),
    )


def _reads_key(history: History, tx: int, key: Key) -> bool:
    """Whether ``tx`` read ``key`` from a version other than its own."""
    return any(read.writer != tx for read in history.txs[tx].reads.get(key, []))


def _single_shape(history: History, cycle: tuple[Edge, ...]) -> str | None:
    """Lost update: T1 -rw(x)-> T2 -ww(x)-> T1 where both read x; read skew: T1 -rw(x)-> T2
    -wr(y)-> T1 with y another key; None (the generic G-single) otherwise."""
    if len(cycle) != 2:
        return None
    rw, other = sorted(cycle, key=lambda e: e.kind != RW)
    if other.kind == WW and other.key == rw.key and _reads_key(history, rw.dst, rw.key):
        return "lost update"
    if other.kind == WR and other.key != rw.key:
        return "read skew"
    return None


def _g2_shape(history: History, cycle: tuple[Edge, ...]) -> str | None:
    """Write skew: two transactions, two rw edges on different keys; G-nonadjacent: no two rw
    edges consecutive; the read-only transaction anomaly: a transaction of the cycle wrote
    nothing; None (the generic G2) otherwise."""
    if len(cycle) == 2 and cycle[0].key != cycle[1].key and {e.kind for e in cycle} == {RW}:
        return "write skew"
    if not any(e.kind == RW and cycle[i - 1].kind == RW for i, e in enumerate(cycle)):
        return "G-nonadjacent"
    if any(not history.txs[e.src].writes for e in cycle):
        return "read-only transaction anomaly"
    return None


def _subgraph(graph: nx.MultiDiGraph[int], kinds: set[str]) -> nx.DiGraph[int]:
    """Collapse to a simple digraph keeping, per node pair, one edge of an allowed kind."""
    simple: nx.DiGraph[int] = nx.DiGraph()
    simple.add_nodes_from(graph.nodes)
    for src, dst, data in graph.edges(data=True):
        edge: Edge = data["edge"]
        if edge.kind in kinds and not simple.has_edge(src, dst):
            simple.add_edge(src, dst, edge=edge)
    return simple


def _path_edges(simple: nx.DiGraph[N], path: list[N]) -> list[Edge]:
    return [simple.edges[a, b]["edge"] for a, b in itertools.pairwise(path)]


def _shortest_cycle(graph: nx.MultiDiGraph[int], kinds: set[str]) -> tuple[Edge, ...] | None:
    simple = _subgraph(graph, kinds)
    best: list[Edge] | None = None
    for component in nx.strongly_connected_components(simple):
        if len(component) < 2:
            continue
        for src, dst in simple.subgraph(component).edges:
            back = nx.shortest_path(simple, dst, src)
            cycle = [simple.edges[src, dst]["edge"], *_path_edges(simple, back)]
            if best is None or len(cycle) < len(best):
                best = cycle
    return tuple(best) if best is not None else None


def _shortest_cycle_with_one(
    graph: nx.MultiDiGraph[int], kind: str, others: set[str]
) -> tuple[Edge, ...] | None:
    """Shortest cycle made of exactly one ``kind`` edge closed by a path of ``others`` edges."""
    rest = _subgraph(graph, others)
    best: list[Edge] | None = None
    for _, _, data in graph.edges(data=True):
        edge: Edge = data["edge"]
        if edge.kind != kind:
            continue
        try:
            back = nx.shortest_path(rest, edge.dst, edge.src)
        except nx.NetworkXNoPath:
            continue
        cycle = [edge, *_path_edges(rest, back)]
        if best is None or len(cycle) < len(best):
            best = cycle
    return tuple(best) if best is not None else None


def _shortest_nonadjacent_cycle(graph: nx.MultiDiGraph[int]) -> tuple[Edge, ...] | None:
    """Shortest cycle in which every rw edge is followed by a ww or wr edge.

    Searched on states (transaction, whether the edge into it was rw): an rw edge leaves only a
    state entered by another kind. When no cycle has fewer than two rw edges, as here, the
    shortest such closed walk is a simple cycle: splitting it at a repeated transaction leaves
    a shorter closed walk whose rw edges are still apart."""
    states: nx.DiGraph[object] = nx.DiGraph()
    for src, dst, data in graph.edges(data=True):
        edge: Edge = data["edge"]
        if edge.kind == RW:
            steps = [((src, False), (dst, True))]
        else:
            steps = [((src, False), (dst, False)), ((src, True), (dst, False))]
        for step in steps:
            if not states.has_edge(*step):
                states.add_edge(*step, edge=edge)
    best: list[Edge] | None = None
    for start, after, data in states.edges(data=True):
        if data["edge"].kind != RW:
            continue
        try:
            back = nx.shortest_path(states, after, start)
        except nx.NetworkXNoPath:
            continue
        cycle = [data["edge"], *_path_edges(states, back)]
        if best is None or len(cycle) < len(best):
            best = cycle
    return tuple(best) if best is not None else None
