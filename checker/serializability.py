"""Dependency-graph serializability (Adya): is there *some* serial order explaining a history?

For engines that promise only some serial order (sharded commit), equivalence with block order is
too strong. Following Adya's thesis, the direct serialization graph has an edge Ti → Tj when
Tj overwrote Ti (ww), read Ti's write (wr), or overwrote the version Ti read (rw, an
anti-dependency). A history is serializable iff that graph is acyclic (with no aborted or
intermediate reads). A cycle is named by the weakest anomaly it shows, and reported as the
shortest such cycle with each edge explained in a sentence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx

from txlanes.executor.result import PRE_STATE
from txlanes.models.context import Key
from txlanes.models.workload import key_to_str

from .history import History

WW, WR, RW = "ww", "wr", "rw"

#: What each anomaly means, for reports.
ANOMALIES = {
    "G0": "write cycle: transactions overwrote each other's writes in a cycle",
    "G1a": "aborted read: a transaction read a write that was never committed",
    "G1b": "intermediate read: a transaction read a value its writer later overwrote",
    "G1c": "circular information flow: a cycle of write and read dependencies",
    "G-single": "read skew: a cycle with exactly one anti-dependency",
    "G2": "write skew: a cycle with two or more anti-dependencies",
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
        seen = "the initial state" if self.seen == PRE_STATE else f"T{self.seen}"
        return (
            f"T{self.src} -rw-> T{self.dst}: T{self.src} read {k} from {seen}, "
            f"and T{self.dst} installed the next version of {k}"
        )


@dataclass(frozen=True)
class Anomaly:
    name: str
    cycle: tuple[Edge, ...]  # empty for G1a / G1b
    detail: str = ""

    def explain(self) -> str:
        lines = [f"{self.name} — {ANOMALIES[self.name]}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        lines += [f"  {edge.explain()}" for edge in self.cycle]
        return "\n".join(lines)


def dependency_graph(history: History) -> nx.MultiDiGraph[int]:
    """The direct serialization graph; each edge carries its :class:`Edge` as ``edge``."""
    graph: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    graph.add_nodes_from(i for i, t in enumerate(history.txs) if not t.aborted)
    for key, writers in history.version_order.items():
        for before, after in itertools.pairwise(writers):
            _add(graph, Edge(before, after, WW, key))
    for reader, tx in enumerate(history.txs):
        if tx.aborted:
            continue
        for key, writer in tx.reads.items():
            if writer != PRE_STATE and writer != reader:
                _add(graph, Edge(writer, reader, WR, key))
            following = _next_version(history.version_order.get(key, []), writer)
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
    if seen in writers:
        pos = writers.index(seen)
        return writers[pos + 1] if pos + 1 < len(writers) else None
    return None


def find_anomaly(history: History) -> Anomaly | None:
    """The weakest anomaly in the history, with its shortest explaining cycle; None if none."""
    aborted_read = _aborted_or_intermediate_read(history)
    if aborted_read is not None:
        return aborted_read
    graph = dependency_graph(history)
    for name, kinds in (("G0", {WW}), ("G1c", {WW, WR})):
        cycle = _shortest_cycle(graph, kinds)
        if cycle is not None:
            return Anomaly(name, cycle)
    single = _shortest_cycle_with_one(graph, RW, {WW, WR})
    if single is not None:
        return Anomaly("G-single", single)
    cycle = _shortest_cycle(graph, {WW, WR, RW})
    if cycle is not None:
        return Anomaly("G2", cycle)
    return None


def _aborted_or_intermediate_read(history: History) -> Anomaly | None:
    for reader, tx in enumerate(history.txs):
        if tx.aborted:
            continue
        for key, writer in tx.reads.items():
            if writer in (PRE_STATE, reader):
                continue
            source = history.txs[writer]
            k = key_to_str(key)
            if source.aborted or key not in source.writes:
                why = "aborted" if source.aborted else "never wrote it (its write was discarded)"
                return Anomaly("G1a", (), f"T{reader} read {k} from T{writer}, which {why}")
            value = tx.read_values.get(key)
            if value is not None and value != source.writes[key]:
                return Anomaly(
                    "G1b",
                    (),
                    f"T{reader} read {k} = {value} from T{writer}, whose final write was "
                    f"{source.writes[key]}",
                )
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


def _path_edges(simple: nx.DiGraph[int], path: list[int]) -> list[Edge]:
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
