"""Adya's anomalies, each on the smallest history that shows it, worked out by hand.

Every expected verdict is derived in the comments from the definitions: Ti -ww-> Tj when Tj
installed the version after Ti's, Ti -wr-> Tj when Tj read Ti's version, Ti -rw-> Tj when Tj
installed the version after the one Ti read (docs/history-format.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from tests.support import execute
from txlanes.checker.history import History, Read, TxRecord, block_order
from txlanes.checker.serializability import find_anomaly
from txlanes.executor import PRE_STATE
from txlanes.models import Key
from txlanes.models.erc20 import BAL, Transfer

X, Y = (BAL, 1, 1), (BAL, 1, 2)
once = TxRecord.once


def history(*txs: TxRecord, order: dict[Key, list[int]] | None = None) -> History:
    records = list(txs)
    return History(records, order if order is not None else block_order(records))


def edges(h: History) -> set[tuple[int, int, str]]:
    anomaly = find_anomaly(h)
    assert anomaly is not None
    return {(e.src, e.dst, e.kind) for e in anomaly.cycle}


def named(h: History) -> tuple[str, str | None]:
    anomaly = find_anomaly(h)
    assert anomaly is not None
    return anomaly.name, anomaly.label


def test_a_serial_history_has_no_anomaly() -> None:
    h = history(once(writes={X: 1}), once(reads={X: 0}, writes={Y: 2}))
    assert find_anomaly(h) is None


def test_g0_write_cycle() -> None:
    h = history(
        once(writes={X: 1, Y: 1}),
        once(writes={X: 2, Y: 2}),
        order={X: [0, 1], Y: [1, 0]},
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G0", None)
    assert edges(h) == {(0, 1, "ww"), (1, 0, "ww")}
    assert "T1 overwrote T0's write of erc20.bal:1:1" in anomaly.explain()


def test_g1a_aborted_read() -> None:
    h = history(once(writes={X: 1}, aborted=True), once(reads={X: 0}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1a"
    assert "T1 read erc20.bal:1:1 from T0, which aborted" in anomaly.explain()


def test_g1a_read_of_a_write_that_never_happened() -> None:
    h = history(once(writes={}), once(reads={X: 0}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1a"


def test_reading_ones_own_write_of_a_key_one_never_wrote_is_g1a() -> None:
    # T0 claims it read X from its own write, but T0 writes only Y: the version it saw was
    # never installed (an earlier, discarded execution's write) — an aborted read, G1a.
    h = history(once(reads={X: 0}, writes={Y: 1}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1a"
    assert "T0 read erc20.bal:1:1 from its own write, but T0 does not write" in anomaly.explain()
    # Reading its own write of a key it does write is no anomaly, and adds no edge.
    assert find_anomaly(history(once(reads={X: 0}, writes={X: 1}))) is None


def test_g1b_intermediate_read() -> None:
    h = history(once(writes={X: 5}), once(reads={X: 0}, read_values={X: 3}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1b"
    assert "= 3 from T0, whose final write was 5" in anomaly.explain()


def test_g1c_circular_information_flow() -> None:
    h = history(once(reads={Y: 1}, writes={X: 1}), once(reads={X: 0}, writes={Y: 1}))
    assert named(h) == ("G1c", None)
    assert edges(h) == {(0, 1, "wr"), (1, 0, "wr")}


def test_g_single_read_skew() -> None:
    # T0 reads X before T1 writes it (T0 -rw-> T1), but Y after (T1 -wr-> T0): read skew.
    h = history(once(reads={X: PRE_STATE, Y: 1}), once(writes={X: 1, Y: 1}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G-single", "read skew")
    assert edges(h) == {(0, 1, "rw"), (1, 0, "wr")}
    text = anomaly.explain()
    assert text.startswith("G-single — read skew: ")
    assert "T0 read erc20.bal:1:1 from the initial state, and T1 installed the next version" in (
        text
    )


def test_g_single_lost_update_is_not_read_skew() -> None:
    # Both read the initial X and both write it; X is installed T0 then T1. T1 read the
    # initial X, whose next version is T0's: T1 -rw-> T0; T1 overwrote T0: T0 -ww-> T1.
    # (T0 read the initial X too, but the next version is its own: no edge.)
    h = history(
        once(reads={X: PRE_STATE}, writes={X: 1}), once(reads={X: PRE_STATE}, writes={X: 2})
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G-single", "lost update")
    assert edges(h) == {(1, 0, "rw"), (0, 1, "ww")}
    assert anomaly.explain().startswith("G-single — lost update: ")
    assert "read skew" not in anomaly.explain()


def test_g_single_with_a_blind_overwrite_is_generic() -> None:
    # T0 reads the initial X and writes X; T1 only writes X, installed first: T0 -rw-> T1,
    # T1 -ww-> T0. T1 read nothing, so this is not the two-readers lost update: generic text.
    h = history(once(reads={X: PRE_STATE}, writes={X: 1}), once(writes={X: 2}), order={X: [1, 0]})
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G-single", None)
    assert anomaly.explain().startswith("G-single — single anti-dependency cycle: ")


def test_g2_write_skew() -> None:
    # Each reads both initial keys and writes one: T0 -rw(Y)-> T1 and T1 -rw(X)-> T0.
    h = history(
        once(reads={X: PRE_STATE, Y: PRE_STATE}, writes={X: 1}),
        once(reads={X: PRE_STATE, Y: PRE_STATE}, writes={Y: 1}),
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G2", "write skew")
    assert [e.kind for e in anomaly.cycle] == ["rw", "rw"]
    assert anomaly.explain().startswith("G2 — write skew: ")


def fekete_read_only() -> History:
    """Fekete, O'Neil & O'Neil's read-only anomaly (Hermitage's G2 example): T0 adds to Y,
    T1 only reads — X initial, Y as T0 wrote it —, T2 reads both initial keys and writes X."""
    return history(
        once(reads={Y: PRE_STATE}, writes={Y: 25}),
        once(reads={X: PRE_STATE, Y: 0}),
        once(reads={X: PRE_STATE, Y: PRE_STATE}, writes={X: 0}),
    )


def test_g2_read_only_transaction_anomaly_is_not_write_skew() -> None:
    # T1 read the initial X, next installed by T2: T1 -rw-> T2. T2 read the initial Y, next
    # installed by T0: T2 -rw-> T0. T1 read T0's Y: T0 -wr-> T1. The only cycle has two
    # (adjacent) rw edges and passes the read-only T1; without T1, T2 then T0 is serial.
    h = fekete_read_only()
    anomaly = find_anomaly(h)
    assert anomaly is not None
    assert (anomaly.name, anomaly.label) == ("G2", "read-only transaction anomaly")
    assert edges(h) == {(1, 2, "rw"), (2, 0, "rw"), (0, 1, "wr")}
    assert find_anomaly(history(*h.txs[:1], once(), h.txs[2])) is None
    assert "write skew" not in anomaly.explain()


def long_fork() -> History:
    """T0 writes X, T1 writes Y; T2 sees X but not Y, T3 sees Y but not X."""
    return history(
        once(writes={X: 1}),
        once(writes={Y: 1}),
        once(reads={X: 0, Y: PRE_STATE}),
        once(reads={X: PRE_STATE, Y: 1}),
    )


def test_g2_nonadjacent_long_fork() -> None:
    # T0 -wr-> T2 -rw(Y)-> T1 -wr-> T3 -rw(X)-> T0: two rw edges, never next to each other
    # (snapshot isolation forbids it); it takes precedence over the read-only readers.
    h = long_fork()
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G2", "G-nonadjacent")
    assert edges(h) == {(0, 2, "wr"), (2, 1, "rw"), (1, 3, "wr"), (3, 0, "rw")}


def test_g_nonadjacent_is_preferred_to_a_shorter_write_skew() -> None:
    skew = minimal("G2", 9)  # a write skew of two edges, on keys of its own
    assert named(skew) == ("G2", "write skew")
    assert named(combine(long_fork(), skew)) == ("G2", "G-nonadjacent")
    assert named(combine(skew, long_fork())) == ("G2", "G-nonadjacent")


def test_g2_of_three_writers_is_generic() -> None:
    # Tk reads one key initially and writes the next one: T0 -rw(X)-> T2 (T2 installed X),
    # T2 -rw(Z)-> T1, T1 -rw(Y)-> T0. Three adjacent rw edges, everyone writes: generic G2.
    z = (BAL, 1, 3)
    h = history(
        once(reads={X: PRE_STATE}, writes={Y: 1}),
        once(reads={Y: PRE_STATE}, writes={z: 1}),
        once(reads={z: PRE_STATE}, writes={X: 1}),
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G2", None)
    assert edges(h) == {(0, 2, "rw"), (2, 1, "rw"), (1, 0, "rw")}
    assert anomaly.explain().startswith("G2 — anti-dependency cycle: ")
    assert "skew" not in anomaly.explain()


# --- Several reads of a key (format version 2) ---------------------------------------------


def test_non_repeatable_read_of_two_writers() -> None:
    # Polygon bor #2270: a transaction read a key twice and saw two different writers. T1
    # read the initial X (T1 -rw-> T0, who installed the next version), then T0's X
    # (T0 -wr-> T1): a cycle with one anti-dependency, found without searching.
    h = history(once(writes={X: 1}), TxRecord({X: [Read(PRE_STATE), Read(0)]}))
    anomaly = find_anomaly(h)
    assert anomaly is not None
    assert (anomaly.name, anomaly.label) == ("G-single", "non-repeatable read")
    assert edges(h) == {(1, 0, "rw"), (0, 1, "wr")}
    assert "T1 read erc20.bal:1:1 from the initial state, then from T0" in anomaly.explain()


@pytest.mark.parametrize("seen", [[PRE_STATE, 1], [1, PRE_STATE]], ids=["old-new", "new-old"])
def test_non_repeatable_read_across_versions_shows_the_whole_chain(seen: list[int]) -> None:
    # X is installed by T0 then T1; T2 saw the initial X and T1's. Whatever the order of its
    # reads: T2 -rw-> T0 (next after the initial), T0 -ww-> T1, T1 -wr-> T2.
    h = history(once(writes={X: 1}), once(writes={X: 2}), TxRecord({X: [Read(w) for w in seen]}))
    assert named(h) == ("G-single", "non-repeatable read")
    assert edges(h) == {(2, 0, "rw"), (0, 1, "ww"), (1, 2, "wr")}


def test_reads_separated_by_an_own_write_may_differ() -> None:
    # T0 read the initial X, wrote X, then read its own write: repeatable, and serial.
    h = history(TxRecord({X: [Read(PRE_STATE), Read(0)]}, {X: 1}))
    assert find_anomaly(h) is None
    # Reading the same version twice is fine too.
    h = history(once(writes={X: 1}), TxRecord({X: [Read(0), Read(0, 1)]}))
    assert find_anomaly(h) is None


def test_reading_another_version_after_ones_own_write_is_internal() -> None:
    # T0 wrote X and read it back, then read the initial X: it lost sight of its own write.
    h = history(TxRecord({X: [Read(0), Read(PRE_STATE)]}, {X: 1}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "internal"
    assert "T0 read erc20.bal:1:1 from its own write, then from the initial state" in (
        anomaly.explain()
    )


def test_a_non_repeatable_read_of_an_aborted_write_is_g1a() -> None:
    # The second version T1 saw was written by an aborted T0: G1a, weaker than G-single.
    h = history(once(writes={X: 1}, aborted=True), TxRecord({X: [Read(PRE_STATE), Read(0)]}))
    assert named(h) == ("G1a", None)


# --- The weakest anomaly first ---------------------------------------------------------------


def combine(first: History, second: History) -> History:
    """Both histories side by side: ``second``'s transactions renumbered after ``first``'s.
    Their keys must be disjoint so that no edge joins them."""
    shift = len(first.txs)

    def moved(tx: TxRecord) -> TxRecord:
        reads = {
            k: [Read(r.writer if r.writer == PRE_STATE else r.writer + shift, r.value) for r in rs]
            for k, rs in tx.reads.items()
        }
        return TxRecord(reads, dict(tx.writes), tx.aborted)

    assert not {*first.version_order} & {*second.version_order}
    order = dict(first.version_order)
    order |= {k: [w + shift for w in ws] for k, ws in second.version_order.items()}
    return History([*first.txs, *(moved(tx) for tx in second.txs)], order)


def minimal(name: str, base: int) -> History:
    """The smallest history showing ``name``, on keys of its own (erc20.bal:base:*)."""
    x, y = (BAL, base, 1), (BAL, base, 2)
    build: dict[str, Callable[[], History]] = {
        "internal": lambda: history(TxRecord({x: [Read(0), Read(PRE_STATE)]}, {x: 1})),
        "G0": lambda: history(
            once(writes={x: 1, y: 1}), once(writes={x: 2, y: 2}), order={x: [0, 1], y: [1, 0]}
        ),
        "G1a": lambda: history(once(writes={x: 1}, aborted=True), once(reads={x: 0})),
        "G1b": lambda: history(once(writes={x: 5}), once(reads={x: 0}, read_values={x: 3})),
        "G1c": lambda: history(
            once(reads={y: 1}, writes={x: 1}), once(reads={x: 0}, writes={y: 1})
        ),
        "G-single": lambda: history(once(reads={x: PRE_STATE, y: 1}), once(writes={x: 1, y: 1})),
        "G2": lambda: history(
            once(reads={x: PRE_STATE, y: PRE_STATE}, writes={x: 1}),
            once(reads={x: PRE_STATE, y: PRE_STATE}, writes={y: 1}),
        ),
    }
    return build[name]()


#: Weakest first: no isolation level allows an internal inconsistency; G0 is proscribed from
#: PL-1 up, G1a/G1b/G1c from PL-2, G-single from PL-2+, G2 only by PL-3 (Adya).
WEAKEST_FIRST = ["internal", "G0", "G1a", "G1b", "G1c", "G-single", "G2"]


@pytest.mark.parametrize("name", WEAKEST_FIRST)
def test_each_minimal_history_shows_its_anomaly(name: str) -> None:
    anomaly = find_anomaly(minimal(name, 7))
    assert anomaly is not None and anomaly.name == name


@pytest.mark.parametrize(
    ("weaker", "stronger"),
    list(itertools.combinations(WEAKEST_FIRST, 2)),
    ids=lambda n: str(n),
)
def test_the_weakest_anomaly_is_reported_whatever_the_transaction_order(
    weaker: str, stronger: str
) -> None:
    for first, second in [(weaker, stronger), (stronger, weaker)]:
        anomaly = find_anomaly(combine(minimal(first, 7), minimal(second, 8)))
        assert anomaly is not None and anomaly.name == weaker, (first, second)


def test_g0_is_reported_before_an_aborted_read() -> None:
    # The regression: a write cycle among T0, T1 and T3 reading T2's aborted write.
    h = history(
        once(writes={X: 1, Y: 1}),
        once(writes={X: 2, Y: 2}),
        once(writes={(BAL, 2, 1): 1}, aborted=True),
        once(reads={(BAL, 2, 1): 2}),
        order={X: [0, 1], Y: [1, 0]},
    )
    assert named(h) == ("G0", None)


def test_shortest_cycle_is_reported() -> None:
    # A long G1c cycle 0→1→2→3→0 and a short one 4→5→4: the short one is reported.
    keys = [(BAL, 2, i) for i in range(6)]
    txs = [once(writes={keys[i]: 1}) for i in range(6)]
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 4)]:
        txs[b].reads[keys[a]] = [Read(a)]
    anomaly = find_anomaly(history(*txs))
    assert anomaly is not None and len(anomaly.cycle) == 2


def test_sequential_engine_histories_are_serializable() -> None:
    state = {X: 10, Y: 10}
    txs = [Transfer(1, 1, 2, 3), Transfer(2, 1, 1, 4), Transfer(1, 1, 1, 1), Transfer(2, 1, 3, 50)]
    _, result = execute(state, txs)
    assert find_anomaly(History.from_result(result)) is None
