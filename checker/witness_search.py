"""The search that grows the spec's witnesses (checker/witnesses.py): coverage-guided, in the
manner of AFL. A corpus of workloads, each kept because it reached something no earlier one had
— a (kind, revert reason) pair, a kind succeeding, a state value of a new magnitude (the
stepping stones to overflows) — is mutated into new candidates: a transaction added, a field
set to a boundary value, to an address, or to a value (±1) the state holds at that point, a
block added after a gap, a block's number or fee changed. Each witness found is then shrunk to
the fewest transactions that still reach its pair. ``python -m txlanes.checker.witness_search``
(``make witnesses``) runs it and saves the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

from txlanes.executor.result import apply_writes
from txlanes.executor.sequential import SequentialEngine
from txlanes.models import world as w
from txlanes.models.context import BlockEnv
from txlanes.models.tx import Tx
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import Block, Workload

from .coverage import UNREACHABLE, Coverage, expected
from .invariants import check_invariants
from .strategies import BLOCK_GAPS, CONTRACTS, FRESH_ACCOUNTS, UINT_BOUNDARIES, workloads
from .witnesses import ACCOUNTS, PATH, Pair, Witness, genesis, load, save

Feature = tuple[str, str | int]


def reached(blocks: Sequence[Block]) -> set[Pair]:
    """The (kind, revert reason) pairs these blocks reach from the witnesses' genesis."""
    coverage = Coverage()
    coverage.add(Workload(genesis(), list(blocks)))
    return coverage.reached()


# -- the search ---------------------------------------------------------------------------------


def _seeds(count: int, seed_: int) -> list[list[Block]]:
    """Generated workloads' blocks (every kind, the spec's special values boosted, multi-block,
    varying environments and fees): the first corpus, and the transactions mutations add."""
    seeds: list[list[Block]] = []
    generated = workloads(
        accounts=ACCOUNTS, block_size=(1, 12), blocks=(1, 3), fee=1, vary_env=True, edges=6
    )

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_)
    @given(generated)
    def draw(workload: Workload) -> None:
        seeds.append(list(workload.blocks))

    draw()
    return seeds


def _run(blocks: Sequence[Block]) -> tuple[set[Feature], list[int]] | None:
    """What a candidate reaches, and the values its final state holds that the genesis does
    not (the values the next mutations aim at: an exact balance, a debt, a reserve); None if
    the spec itself breaks an invariant on it — a workload no engine can be judged on (a pair
    that sends its own reserve away makes K per share fall)."""
    features: set[Feature] = set(reached(blocks))
    state, engine = genesis(), SequentialEngine()
    for block in blocks:
        result = engine.execute(block, state)
        for tx, receipt in zip(block.txs, result.receipts, strict=True):
            if receipt.ok:
                features.add((tx.KIND, "ok"))
        post = dict(state)
        apply_writes(post, result.writes.items())
        if check_invariants(state, post, result) is not None:
            return None
        state = post
    base = genesis()
    values = [v for k, v in state.items() if base.get(k) != v]
    # a state value of a new magnitude per key type: the stepping stones to overflows
    features |= {(str(key[0]), value.bit_length() // 16) for key, value in state.items()}
    return features, values


class _Search:
    def __init__(self, rng: random.Random, atoms: list[Tx]) -> None:
        self.rng, self.atoms = rng, atoms
        accounts = range(w.FIRST_ACCOUNT, w.FIRST_ACCOUNT + ACCOUNTS + FRESH_ACCOUNTS)
        self.addresses = (0, *accounts, *CONTRACTS)
        self.genesis_values = sorted(set(genesis().values()))

    def value(self, current: int, values: list[int]) -> int:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.25:
            chosen = rng.choice(UINT_BOUNDARIES)
        elif roll < 0.45:
            chosen = rng.choice(self.addresses)
        elif roll < 0.65:
            chosen = rng.choice(values or self.genesis_values)
        elif roll < 0.8:
            chosen = rng.choice(self.genesis_values)
        else:
            chosen = current + rng.choice((-2, -1, 1, 2))
        if rng.random() < 0.2:
            chosen += rng.choice((-1, 1))
        return min(max(chosen, 0), MAX_UINT256)

    def field(self, tx: Tx, values: list[int]) -> Tx:
        names = [
            f.name
            for f in dataclasses.fields(tx)
            if isinstance(getattr(tx, f.name), int) and not isinstance(getattr(tx, f.name), bool)
        ]
        if not names:
            return tx
        name = self.rng.choice(names)
        return dataclasses.replace(tx, **{name: self.value(getattr(tx, name), values)})

    def env(self, env: BlockEnv) -> BlockEnv:
        """The block's number (0, 1, a jump, a boundary value) or its fee (on, off, unpaid)."""
        rng = self.rng
        if rng.random() < 0.5:
            jump = env.number + rng.choice(BLOCK_GAPS)
            number = min(rng.choice((0, 1, jump, jump, rng.choice(UINT_BOUNDARIES))), MAX_UINT256)
            return dataclasses.replace(env, number=number, timestamp=min(12 * number, MAX_UINT256))
        if env.fee:
            return dataclasses.replace(env, fee=0, fee_recipient=0, fee_token=0)
        recipient = rng.choice((w.FIRST_ACCOUNT, 0))
        fee = rng.choice((1, *UINT_BOUNDARIES[1:]))
        return dataclasses.replace(env, fee=fee, fee_recipient=recipient, fee_token=w.TOKENS[0])

    def mutate(self, blocks: Sequence[Block], values: list[int]) -> list[Block]:
        rng = self.rng
        txs, envs = [list(b.txs) for b in blocks], [b.env for b in blocks]
        for _ in range(rng.choice((1, 1, 2, 3))):
            roll, at = rng.random(), rng.randrange(len(txs))
            if roll < 0.3:
                txs[-1].append(rng.choice(self.atoms))
            elif roll < 0.4 and len(txs) < 4:
                gap = rng.choice(BLOCK_GAPS)
                number = min(envs[-1].number + gap, MAX_UINT256)
                envs.append(BlockEnv(number=number, timestamp=min(12 * number, MAX_UINT256)))
                txs.append([rng.choice(self.atoms)])
            elif roll < 0.75 and txs[at]:
                i = rng.randrange(len(txs[at]))
                txs[at][i] = self.field(txs[at][i], values)
            elif roll < 0.8:
                envs[at] = self.env(envs[at])
            elif roll < 0.9:
                txs[at].insert(rng.randrange(len(txs[at]) + 1), rng.choice(self.atoms))
            elif len(txs[at]) > 1:
                del txs[at][rng.randrange(len(txs[at]))]
        return [Block(tuple(t[:12]), env) for t, env in zip(txs, envs, strict=True) if t]


def search(
    seconds: float,
    seed_: int = 0,
    progress: Callable[[str], None] | None = None,
    known: Iterable[Witness] = (),
    generated: int = 1_000,
) -> dict[Pair, list[Block]]:
    """Grow a corpus for ``seconds``, from ``known`` witnesses and ``generated`` workloads; the
    first workload found for each expected pair."""
    rng = random.Random(seed_)
    seeds = _seeds(generated, seed_)
    search = _Search(rng, [tx for blocks in seeds for block in blocks for tx in block.txs])
    wanted, seen = set(expected()), set[Feature]()
    corpus: list[tuple[list[Block], list[int]]] = []
    found: dict[Pair, list[Block]] = {}

    def consider(blocks: list[Block]) -> None:
        run = _run(blocks)
        if run is None:
            return
        features, values = run
        new = features - seen
        if not new:
            return
        seen.update(new)
        corpus.append((blocks, values))
        for pair in sorted(p for p in new if p in wanted):  # a Feature that is a Pair
            found[pair] = blocks
            if progress:
                progress(f"{len(found)}/{len(wanted)} pairs: {pair[0]}: {pair[1]}")
        for pair in sorted(p for p in new if p in UNREACHABLE):
            # a reason in UNREACHABLE is wrong: the pair is reached; keep it, and say so
            found[pair] = blocks
            if progress:
                progress(f"REACHED A PAIR DECLARED UNREACHABLE: {pair[0]}: {pair[1]}")

    for blocks in [*(list(witness.blocks) for witness in known), *seeds]:
        consider(blocks)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(found) < len(wanted):
        recent = corpus[-50:] if rng.random() < 0.5 else corpus
        blocks, values = rng.choice(recent)
        candidate = search.mutate(blocks, values)
        if candidate:
            consider(candidate)
    return found


def shrink(blocks: list[Block], pair: Pair) -> list[Block]:
    """The fewest transactions (dropped one at a time, last first) that still reach ``pair``
    and keep every invariant."""
    changed = True
    while changed:
        changed = False
        for b in reversed(range(len(blocks))):
            for i in reversed(range(len(blocks[b].txs))):
                txs = blocks[b].txs[:i] + blocks[b].txs[i + 1 :]
                candidate = [*blocks[:b], Block(txs, blocks[b].env), *blocks[b + 1 :]]
                candidate = [block for block in candidate if block.txs]
                run = _run(candidate) if candidate else None
                if run is not None and pair in run[0]:
                    blocks, changed = candidate, True
                    break
            if changed:
                break
    return blocks


def witnesses(found: dict[Pair, list[Block]]) -> list[Witness]:
    """One witness per distinct shrunk workload, with every pair it reaches."""
    out: dict[tuple[Block, ...], set[Pair]] = {}
    for pair, blocks in sorted(found.items()):
        out.setdefault(tuple(shrink(blocks, pair)), set()).add(pair)
    wanted = set(expected())
    return [
        Witness(tuple(sorted(reached(blocks) & wanted)), blocks)
        for blocks in sorted(out, key=lambda bs: (sum(len(b.txs) for b in bs), repr(bs)))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="grow and save the spec's witnesses")
    parser.add_argument("--seconds", type=float, default=600.0, help="search time (600)")
    parser.add_argument("--seed", type=int, default=0, help="the search's seed (0)")
    parser.add_argument("--out", type=Path, default=PATH, help="where to save them")
    parser.add_argument(
        "--keep", type=Path, action="append", default=[], help="start from these witness files"
    )
    args = parser.parse_args(argv)
    known = [witness for path in args.keep for witness in load(path)]
    found = search(args.seconds, args.seed, lambda line: print(line, file=sys.stderr), known)
    result = witnesses(found)
    save(result, args.out)
    wrong = sorted(set(found) & set(UNREACHABLE))
    for kind, reason in wrong:
        print(f"reached, though declared unreachable (fix UNREACHABLE): {kind}: {reason}")
    missing = sorted(set(expected()) - set(found))
    print(f"{len(found)} pairs reached by {len(result)} witnesses; {len(missing)} not reached:")
    for kind, reason in missing:
        print(f"  {kind}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
