"""Seeded bugs from public incidents: the second catalogue (docs/mutants.md, "Incident mutants").

Each mutant stands for a bug that shipped, or was found in review, in a real parallel or sharded
execution engine or DeFi implementation, and its docstring cites the incident in one line. Each
is one changed method (or function) of a correct txlanes engine: Block-STM's memory, incarnation
context, worker or engine; the multi-core engine's parent or validation; the sharded engine's
shard, block run or reconnaissance; or the spec as an engine re-implements it (the sequential
engine's ``apply``). tests/test_incident_mutants.py holds the default campaign to killing each.

Where the changed method is a collaborator the correct code builds by name (the incarnation
context inside ``try_execute``, the block run inside ``execute``), the correct method's own code
runs with that one name bound to the mutant (:func:`_rebound`): the mutant is the one change,
with no copy of the engine's code beside it to drift.

The catalogue is plain data (:class:`Incident`); ``txlanes.executor.mutants`` turns it into
its ``Mutant`` entries, so ``mutant:NAME`` resolves these like the first catalogue's.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple, TypeVar, cast
from weakref import WeakKeyDictionary

from txlanes.models import erc20
from txlanes.models.context import BlockEnv, Context, Event, Key, Revert
from txlanes.models.spec import charge_fee, execute_tx
from txlanes.models.tx import Tx
from txlanes.models.workload import Block

from .blockstm import BlockSTMEngine, Runtime, Schedule
from .blockstm.engine import _BlockRun, _IncarnationCtx
from .blockstm.mvmemory import MVMemory, Version
from .multicore import MultiCoreEngine
from .multicore.chunks import Chunk, RawTrace, Runner, Validate, Validated, validate
from .multicore.engine import _Parent
from .result import BlockResult, Engine
from .sequential import SequentialEngine
from .sharded.engine import ShardedEngine, _SimBlock
from .sharded.node import TxnId
from .sharded.shard import Report, ShardActor, TxCtx, Versioned, run_tx
from .sharded.simnet import healing_faults


class Incident(NamedTuple):
    """A seeded bug of this catalogue: the fields of ``mutants.Mutant``, in its order."""

    name: str
    bug: str
    #: (workers, schedule) → the buggy engine (deterministic: the schedule decides every choice)
    build: Callable[[int, Schedule], Engine]
    #: what the worker count counts in this engine
    counts: str = "workers"


_F = TypeVar("_F", bound=Callable[..., object])


def _names_looked_up(code: types.CodeType) -> set[str]:
    """The names ``code`` looks up, its comprehensions' and nested functions' included."""
    nested = (c for c in code.co_consts if isinstance(c, types.CodeType))
    return set(code.co_names).union(*map(_names_looked_up, nested))


def _rebound(function: _F, **names: object) -> _F:
    """``function`` — its own code, defaults and closure — with some of the global names it
    looks up bound to something else. A name the code does not look up is refused, so a
    renamed collaborator fails loudly here instead of leaving a mutant that is the correct
    engine."""
    original = cast(types.FunctionType, function)
    code = original.__code__
    unknown = sorted(set(names) - _names_looked_up(code))
    if unknown:
        raise TypeError(f"{original.__qualname__} looks up no global named {unknown}")
    scope = {**original.__globals__, **names}
    clone = types.FunctionType(
        code, scope, code.co_name, original.__defaults__, original.__closure__
    )
    clone.__kwdefaults__ = original.__kwdefaults__
    clone.__qualname__, clone.__doc__ = original.__qualname__, original.__doc__
    return cast(_F, clone)


# -- Block-STM --------------------------------------------------------------------------------

_Reads = dict[Key, Version | None]
_Writes = dict[Key, int]


class _StaleWriteLeftPublished(MVMemory):
    """erigon #21667: writes of an incarnation that failed validation stayed in the version map
    as final, so later readers took a phantom value that version-only validation accepted."""

    def record(self, txn_idx: int, incarnation: int, reads: _Reads, writes: _Writes) -> bool:
        # a key the previous incarnation wrote and this one does not stays published
        previous = self.last_written[txn_idx]
        stale = {key: value for key, value in previous.items() if key not in writes}
        wrote_new = super().record(txn_idx, incarnation, reads, {**stale, **writes})
        self.last_written[txn_idx] = writes
        return wrote_new


class _NonRepeatableReadCtx(_IncarnationCtx):
    """bor #2270 (CodePath read snapshot-consistency): two reads of one key in one transaction
    each went back to the multi-version store, so a writer landing between them was seen by
    only the second."""

    __slots__ = ()

    def read(self, key: Key) -> int:
        self.values.pop(key, None)  # no per-incarnation read cache: every read is a fresh one
        if key not in self.reads:
            return super().read(key)
        earlier = self.reads[key]
        value = super().read(key)
        self.rereads = (*self.rereads, (key, earlier))  # the engine reports every read it made
        return value


class _OwnWriteFromMemoryCtx(_IncarnationCtx):
    """The rule blockifier #1718 restored: a transaction's read of a key it wrote is served by
    its own writes (the state's), never by the versioned storage, where its own entry may be a
    previous incarnation's value or an ESTIMATE."""

    __slots__ = ()

    def read(self, key: Key) -> int:
        own, self.writes = self.writes, {}  # the incarnation's write set is not consulted
        try:
            return super().read(key)
        finally:
            self.writes = own


#: Per block (its multi-version memory), the first revert of each transaction.
_VERDICTS: WeakKeyDictionary[MVMemory, dict[int, Revert]] = WeakKeyDictionary()


def _reusing_verdicts(tx: Tx, ctx: _IncarnationCtx) -> None:
    """cosmos-sdk #25912: the SigVerificationDecorator's incarnation cache replayed a check's
    verdict, computed on a stale read, when Block-STM re-executed the transaction."""
    verdicts = _VERDICTS.setdefault(ctx.mv, {})
    try:
        execute_tx(tx, ctx)
    except Revert as revert:
        verdicts.setdefault(ctx.txn_idx, revert)
        raise
    cached = verdicts.get(ctx.txn_idx)
    if cached is not None:
        raise cached  # an earlier incarnation reverted: its verdict is served from the cache


class _ReadThrough(Mapping[Key, int]):
    """The pre-state seen through a cache the engine keeps: a key's first value stays."""

    def __init__(self, cache: dict[Key, int], state: Mapping[Key, int]) -> None:
        self.cache, self.state = cache, state

    def __getitem__(self, key: Key) -> int:
        if key not in self.cache:
            self.cache[key] = self.state[key]
        return self.cache[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self.state)

    def __len__(self) -> int:
        return len(self.state)


class _StateCacheAcrossBlocks(BlockSTMEngine):
    """erigon #20515: the parallel executor skipped the state cache's per-block
    ValidateAndPrepare, so values cached from an earlier block were served in the next one."""

    def __init__(self, workers: int = 4, runtime: Runtime | None = None) -> None:
        super().__init__(workers, runtime)
        self.cache: dict[Key, int] = {}  # kept for the engine's life: blocks share it

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        return super().execute(block, _ReadThrough(self.cache, state))


def _blockstm(
    name: str,
    bug: str,
    *,
    memory: type[MVMemory] = MVMemory,
    engine: type[BlockSTMEngine] = BlockSTMEngine,
    **try_execute_names: object,
) -> Incident:
    """Block-STM on the deterministic runtime with a buggy memory, engine, or names bound in
    the worker's ``try_execute`` (the incarnation context, the spec's entry point)."""
    if try_execute_names:
        run = type("_MutantRun", (_BlockRun,), {
            "try_execute": _rebound(_BlockRun.try_execute, **try_execute_names)
        })  # fmt: skip
        engine = type("_MutantBlockSTM", (engine,), {
            "execute": _rebound(BlockSTMEngine.execute, _BlockRun=run)
        })  # fmt: skip

    def build(workers: int, schedule: Schedule) -> Engine:
        built = engine.deterministic(workers, schedule, max_steps=200_000)
        built.name, built.memory_type = f"mutant:{name}", memory
        return built

    return Incident(name, bug, build)


# -- the multi-core engine ----------------------------------------------------------------------


class _StaleDirtyParent(_Parent):
    """erigon #23967 (review, finding 7): dirty tracking kept a superseded write set, so a
    reader of what a re-execution changed was sealed as clean against a stale version."""

    def _dirty(self, index: int) -> set[Key]:
        others, _ = self.schedule.missed(index)  # the child's own previous chunk's fixes: lost
        return set().union(*(self.written[i] for i in others))


def _merge_dropping_deletions(
    runner: Runner, chunk: Chunk, traces: list[RawTrace], dirty: set[Key]
) -> Validated:
    """erigon #22147: the parallel commitment applied only the deletions it was told of, so
    zeroed slots of a pre-existing contract survived into the state root."""
    kept = [(reads, {k: v for k, v in writes.items() if v}, n) for reads, writes, n in traces]
    return validate(runner, chunk, kept, dirty)


def _multicore(
    name: str, bug: str, parent: type[_Parent] = _Parent, fold: Validate = validate
) -> Incident:
    """The multi-core engine with chunks of two (so that the campaign's small blocks spread over
    the processes), its parent or its validation replaced."""
    engine = type("_MutantMultiCore", (MultiCoreEngine,), {
        "execute": _rebound(MultiCoreEngine.execute, _Parent=parent),
        "validate": staticmethod(fold),
    })  # fmt: skip

    def build(processes: int, schedule: Schedule) -> Engine:
        built: MultiCoreEngine = engine(processes, chunk=2)
        built.name = f"mutant:{name}"
        return built

    return Incident(name, bug, build, "processes")


# -- the sharded engine ------------------------------------------------------------------------


class _AnswersForOtherShards(ShardActor):
    """nearcore #4869: receipts were sorted into outgoing shards by the wrong shard layout, so
    work for an account went to a shard that does not hold it."""

    def values(self, t: TxnId) -> Versioned:
        # every key of the transaction, looked up here: another shard's keys come back stale
        keys = self.node.txns[t].keys
        return {key: self.lookup(key) for part in keys.values() for key in part}


class _LosesDeferrals(_SimBlock):
    """nearcore #2216: a transaction forwarded at an epoch boundary was dropped, because the
    forwarding node assumed the epoch would not change."""

    def report(self, source: int, r: Report) -> None:
        if r.kind == "deferred":
            self.done.append(r.index)  # the round closes as if the deferred one had finished
            return
        super().report(source, r)


class _ReconnaissanceWritesLeak(_SimBlock):
    """FISCO-BCOS #5495 (review): the diff of a simulated call was applied to storage
    unconditionally, like a committed transaction's."""

    def reconnoitre(self, i: int) -> frozenset[Key]:
        ctx = TxCtx(self.block.env, self.value, None)
        self.stats["executions"] += 1
        _, trace = run_tx(self.block.txs[i], ctx)
        for key, value in trace.writes.items():  # the dry run's writes are kept
            self.shards[self.shard_of(key, self.S)].data[key] = (i, value)
        return frozenset(ctx.reads) | frozenset(ctx.writes)


def _sharded(name: str, bug: str, run: type[_SimBlock]) -> Incident:
    """The sharded engine on the simulated network, as ``simulated_sharded`` builds it (the
    worker count is the shard count, the schedule names the healing fault plan), running
    blocks with ``run``."""
    engine = type("_MutantSharded", (ShardedEngine,), {
        "execute": _rebound(ShardedEngine.execute, _SimBlock=run)
    })  # fmt: skip

    def build(shards: int, schedule: Schedule) -> Engine:
        faults = healing_faults(schedule.as_seed(), shards)
        built: ShardedEngine = engine(shards, "account", None, faults, max_time=200_000)
        built.name = f"mutant:{name}"
        return built

    return Incident(name, bug, build, "shards")


def _answering_for_other_shards() -> type[_SimBlock]:
    init = _rebound(_SimBlock.__init__, ShardActor=_AnswersForOtherShards)
    return type("_WrongShardBlock", (_SimBlock,), {"__init__": init})


# -- the spec, as an engine re-implements it ------------------------------------------------------

_OVERFLOW = frozenset({"arithmetic overflow", "arithmetic underflow"})
_WORD = 2**256


class _Unchecked:
    """BEC batchOverflow (CVE-2018-10299): unchecked uint256 arithmetic wrapped a product to a
    small number, so a balance check passed and tokens were minted from nothing."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def block(self) -> BlockEnv:
        return self.ctx.block

    def read(self, key: Key) -> int:
        return self.ctx.read(key)

    def write(self, key: Key, value: int) -> None:
        self.ctx.write(key, value % _WORD)  # results wrap modulo 2**256

    def require(self, condition: bool, reason: str) -> None:
        if reason not in _OVERFLOW:  # the overflow checks are gone
            self.ctx.require(condition, reason)

    def emit(self, event: Event) -> None:
        self.ctx.emit(event)


def _unchecked_arithmetic(tx: Tx, ctx: Context) -> None:
    execute_tx(tx, _Unchecked(ctx))


def _native(kind: type[Tx], native: Callable[..., None]) -> Callable[[Tx, Context], None]:
    """The spec, except for ``kind``: charged the block's fee as the spec does, then run by the
    engine's own ``native`` implementation."""

    def apply(tx: Tx, ctx: Context) -> None:
        if not isinstance(tx, kind):
            execute_tx(tx, ctx)
            return
        charge_fee(tx, ctx)
        native(tx, ctx)

    return apply


def _self_transfer_doubles(tx: erc20.Transfer, ctx: Context) -> None:
    """Token-0x (CodeHawks First Flight #54, 2025-12): _transfer loaded the receiver's balance
    before storing the sender's, so a self-transfer added the amount to the old balance."""
    sender_key, receiver_key = (erc20.BAL, tx.token, tx.sender), (erc20.BAL, tx.token, tx.to)
    ctx.require(tx.sender != erc20.ZERO_ADDRESS, "ERC20: transfer from the zero address")
    ctx.require(tx.to != erc20.ZERO_ADDRESS, "ERC20: transfer to the zero address")
    held = ctx.read(sender_key)
    ctx.require(held >= tx.amount, "ERC20: transfer amount exceeds balance")
    credited = ctx.read(receiver_key) + tx.amount  # loaded before the debit is stored
    ctx.write(sender_key, held - tx.amount)
    ctx.write(receiver_key, credited)
    ctx.emit(("Transfer", tx.token, tx.sender, tx.to, tx.amount))


def _infinite_allowance_spent(tx: erc20.TransferFrom, ctx: Context) -> None:
    """OpenZeppelin #3085: since 4.5 an allowance of 2**256-1 is infinite and transferFrom
    leaves it alone (as WETH does); an implementation of the older semantics decrements it."""
    allowance = ctx.read((erc20.ALLOWANCE, tx.token, tx.owner, tx.sender))
    ctx.require(allowance >= tx.amount, "ERC20: insufficient allowance")
    erc20.approve(ctx, tx.token, tx.owner, tx.sender, allowance - tx.amount)
    erc20.move(ctx, tx.token, tx.owner, tx.to, tx.amount)


def _zero_checks_swapped(tx: erc20.Transfer, ctx: Context) -> None:
    """base #3044: a native (Rust) transfer checked the zero sender and the zero receiver in
    the other order than the contract it re-implements, so a transfer from the zero address
    to the zero address reverted with the other reason."""
    ctx.require(tx.to != erc20.ZERO_ADDRESS, "ERC20: transfer to the zero address")
    erc20.move(ctx, tx.token, tx.sender, tx.to, tx.amount)  # the sender is checked here, second


def _decoding_amounts(decode: Callable[[int], int]) -> Callable[[Tx, Context], None]:
    """The spec, on transactions whose ``amount`` the engine decoded with ``decode``."""

    def apply(tx: Tx, ctx: Context) -> None:
        amount = getattr(tx, "amount", None)
        if isinstance(amount, int):
            tx = dataclasses.replace(tx, amount=decode(amount))  # type: ignore[call-arg]
        execute_tx(tx, ctx)

    return apply


def _to_u64(amount: int) -> int:
    """renproject/multichain #164: Cosmos transaction amounts were cast to uint64, so amounts of
    18-decimal tokens overflowed into other amounts."""
    return amount & (2**64 - 1)


def _through_float(amount: int) -> int:
    """smartcontractkit/chainlink #7369: JSONPARSE decoded a uint256 through a float64, so
    1565616210741547008 came out as 1565616210741547000."""
    return int(float(amount))


def _spec(name: str, bug: str, apply: Callable[[Tx, Context], None]) -> Incident:
    def build(workers: int, schedule: Schedule) -> Engine:
        return SequentialEngine.running(apply, f"mutant:{name}")

    return Incident(name, bug, build)


#: The whole catalogue, in the order docs/mutants.md lists it.
CATALOGUE: tuple[Incident, ...] = (
    _blockstm(
        "stale-write-left-published",
        "the writes of an incarnation that failed validation stay published as final where "
        "its re-execution does not write again (erigon #21667)",
        memory=_StaleWriteLeftPublished,
    ),
    _blockstm(
        "non-repeatable-read",
        "a key read twice in one incarnation is read from the multi-version memory twice, "
        "and may be two versions (bor #2270)",
        _IncarnationCtx=_NonRepeatableReadCtx,
    ),
    _blockstm(
        "incarnation-verdict-cache",
        "a re-execution replays the revert an earlier incarnation computed on a stale read "
        "(cosmos-sdk #25912)",
        execute_tx=_reusing_verdicts,
    ),
    _blockstm(
        "own-write-from-mvmemory",
        "a read of a key the incarnation wrote is served by the multi-version memory, not by "
        "its write set (the rule of blockifier #1718)",
        _IncarnationCtx=_OwnWriteFromMemoryCtx,
    ),
    _blockstm(
        "state-cache-across-blocks",
        "the engine's cache of pre-state reads is not invalidated between blocks (erigon #20515)",
        engine=_StateCacheAcrossBlocks,
    ),
    _multicore(
        "multicore-stale-dirty-set",
        "multi-core engine: a child's chunk is validated without the fixes of its previous "
        "chunk, which it had not heard of (erigon #23967, review)",
        parent=_StaleDirtyParent,
    ),
    _multicore(
        "multicore-merge-drops-deletions",
        "multi-core engine: a child's writes of zero (deletions) are lost when the parent "
        "merges its chunk (erigon #22147)",
        fold=_merge_dropping_deletions,
    ),
    _sharded(
        "sharded-read-from-wrong-shard",
        "sharded engine: a participant answers for another shard's keys from its own store, "
        "where they are stale (nearcore #4869)",
        _answering_for_other_shards(),
    ),
    _sharded(
        "sharded-deferral-lost",
        "sharded engine: a transaction deferred to the next round is counted as finished, "
        "and never runs (nearcore #2216)",
        _LosesDeferrals,
    ),
    _sharded(
        "sharded-reconnaissance-leaks",
        "sharded engine: the reconnaissance run's writes are applied, not discarded "
        "(FISCO-BCOS #5495, review)",
        _ReconnaissanceWritesLeak,
    ),
    _spec(
        "unchecked-arithmetic",
        "an engine's native arithmetic wraps modulo 2**256 instead of reverting on overflow "
        "(CVE-2018-10299, BEC batchOverflow)",
        _unchecked_arithmetic,
    ),
    _spec(
        "self-transfer-doubles",
        "an engine's native transfer loads the receiver's balance before storing the "
        "sender's: a self-transfer credits the amount (Token-0x, CodeHawks)",
        _native(erc20.Transfer, _self_transfer_doubles),
    ),
    _spec(
        "infinite-allowance-spent",
        "an engine's native transferFrom decrements an infinite (2**256-1) allowance "
        "(OpenZeppelin #3085)",
        _native(erc20.TransferFrom, _infinite_allowance_spent),
    ),
    _spec(
        "zero-checks-swapped",
        "an engine's native transfer checks the zero receiver before the zero sender, and a "
        "transfer from and to the zero address reverts with the other reason (base #3044)",
        _native(erc20.Transfer, _zero_checks_swapped),
    ),
    _spec(
        "amounts-as-u64",
        "an engine decodes amounts into 64 bits, dropping the higher ones "
        "(renproject/multichain #164)",
        _decoding_amounts(_to_u64),
    ),
    _spec(
        "amounts-through-float",
        "an engine decodes amounts through a float64, rounding those above 2**53 (chainlink #7369)",
        _decoding_amounts(_through_float),
    ),
)

#: The catalogue's mutants, every one killed by the default campaign
#: (tests/test_incident_mutants.py).
INCIDENT_MUTANTS = CATALOGUE
