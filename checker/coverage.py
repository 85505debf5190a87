"""What generation reached: per transaction kind, its successes and each revert reason seen,
the boundary values drawn, and the behaviours (docs/coverage.md).

The pairs (kind, revert reason) the spec can produce are enumerated from the spec's own source:
each kind's registered function and every spec helper it calls, read with ``ast``, give the
string literals passed as reasons to ``require`` — including the checked-arithmetic reasons of
``models/uint.py`` and reasons handed to a helper as an argument (``sub(..., reason)``). A helper
shared between kinds counts for each kind that reaches it. A ``require`` that a constant
argument makes always true (``div`` by a non-zero constant) is left out. The block fee, which
``execute_tx`` charges before any kind's function runs, is its own row (``FEE``): a revert is
the fee's when the fee alone reverts there. Pairs no workload from the world's genesis can
produce are declared in ``UNREACHABLE``, each with why.

:class:`Coverage` is a campaign listener (or is fed workloads): it runs each example's workload
through the sequential reference, block after block, and counts.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from txlanes.executor.result import PRE_STATE, apply_writes
from txlanes.executor.sequential import SequentialEngine
from txlanes.models import erc20, lending, spec
from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.tx import SPEC, TX_TYPES, Tx
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import Workload

from .campaign import Event as CampaignEvent
from .campaign import ExampleRan
from .strategies import UINT_BOUNDARIES

#: The pseudo-kind of the block fee (models/spec.py charges it before the kind's function).
FEE = "fee"

# -- the spec's pairs ---------------------------------------------------------------------------

_MODELS = "txlanes.models."
Bindings = tuple[tuple[str, str | int], ...]


@functools.cache
def _function_tree(fn: Callable[..., object]) -> ast.FunctionDef:
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{fn.__qualname__} is not a plain function")
    return node


def _resolve(expr: ast.expr, namespace: Mapping[str, object]) -> object:
    """The object a callee expression names: a global of the module, or a module's attribute."""
    if isinstance(expr, ast.Name):
        return namespace.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, namespace)
        if isinstance(base, types.ModuleType):
            return getattr(base, expr.attr, None)
    return None


def _constant(expr: ast.expr, namespace: Mapping[str, object], env: Mapping[str, object]) -> object:
    """A string or int the expression is at the call site, or None."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str | int):
        return expr.value
    if isinstance(expr, ast.Name) and expr.id in env:
        return env[expr.id]
    value = _resolve(expr, namespace)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _spec_helper(obj: object) -> types.FunctionType | None:
    fn = inspect.unwrap(obj) if callable(obj) else None  # @read_only wraps its helper
    if isinstance(fn, types.FunctionType) and fn.__module__.startswith(_MODELS):
        return fn
    return None


def _bind(call: ast.Call, callee: types.FunctionType, namespace: Mapping[str, object],
          env: Mapping[str, object]) -> Bindings:  # fmt: skip
    """The callee's parameters that are constants at this call (or by default)."""
    params = list(inspect.signature(callee).parameters.values())
    bound: dict[str, str | int] = {
        p.name: p.default for p in params if isinstance(p.default, str | int)
    }
    values = [*zip((p.name for p in params), call.args, strict=False)]
    values += [(kw.arg, kw.value) for kw in call.keywords if kw.arg is not None]
    for name, expr in values:
        value = _constant(expr, namespace, env)
        if isinstance(value, str | int):
            bound[name] = value
        else:
            bound.pop(name, None)
    return tuple(sorted(bound.items()))


def _always_true(test: ast.expr, env: Mapping[str, object]) -> bool:
    """``param != 0`` (and the like) for a parameter bound to a constant that satisfies it."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, right = test.left, test.comparators[0]
    if not (isinstance(left, ast.Name) and isinstance(right, ast.Constant)):
        return False
    value, other = env.get(left.id), right.value
    if not isinstance(value, int) or not isinstance(other, int):
        return False
    compare = {ast.NotEq: value != other, ast.Gt: value > other, ast.GtE: value >= other}
    return compare.get(type(test.ops[0]), False)


@functools.cache
def _reasons(fn: types.FunctionType, bindings: Bindings = ()) -> frozenset[str]:
    node, env = _function_tree(fn), dict(bindings)
    found: set[str] = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        callee = call.func
        name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
        if name == "require" and len(call.args) == 2:
            reason = _constant(call.args[1], fn.__globals__, env)
            if not isinstance(reason, str):
                raise TypeError(f"{fn.__qualname__}: a require whose reason is not a constant")
            if not _always_true(call.args[0], env):
                found.add(reason)
            continue
        helper = _spec_helper(_resolve(callee, fn.__globals__))
        if helper is not None and helper is not fn:
            found |= _reasons(helper, _bind(call, helper, fn.__globals__, env))
    return frozenset(found)


@functools.cache
def spec_reasons() -> dict[str, tuple[str, ...]]:
    """kind → every revert reason its spec function (and the helpers it calls) can give;
    ``FEE`` → the block fee's."""
    kinds = {
        kind: _reasons(_spec_helper(SPEC[cls]) or _no_spec(kind)) for kind, cls in TX_TYPES.items()
    }
    kinds[FEE] = _reasons(spec.execute_tx)
    return {kind: tuple(sorted(kinds[kind])) for kind in sorted(kinds)}


def _no_spec(kind: str) -> types.FunctionType:
    raise TypeError(f"the spec function of {kind} is not a function of txlanes.models")


#: (kind, reason) pairs the enumeration finds that no workload from the world's genesis can
#: produce, each with why. Kept to what the spec's own logic rules out (docs/coverage.md).
_FROM_ZERO, _TO_ZERO = (
    "ERC20: transfer from the zero address",
    "ERC20: transfer to the zero address",
)
_FEE_UNDERFLOW = (
    "the only checked sub is fee_adjusted's, and amount_in <= balance: 1000*balance >= 3*amount_in"
)
_GOVERNOR = "the governor moving tokens must have a voting token: only 7000 has one, never written"
_MARKET = "the listed markets' addresses (3000, 3001) are non-zero and never written"
_LEND_PRICE = (
    "only listed markets (underlyings 1000, 1001) are priced here; their genesis prices are"
    " non-zero and set_price refuses 0"
)
_PERP_PRICE = "the only perp market's asset 1001 is priced at genesis and set_price refuses 0"
_CHEF_MINT = "rewards are minted to the chef, and only chef 4000 (non-zero) has pools"
_EMPTY_RESERVE = (
    "needs a pair with an empty reserve and LP shares out: burns are pro rata above the locked"
    " minimum and swaps leave reserves > 0; only the pair sending its reserve away empties one,"
    " which breaks the amm-share-value invariant (no engine can be judged on it)"
)
_CHEF_DIV = (
    "update_pool divides by the chef's LP balance, checked non-zero, and by its total alloc"
    " points, 4 at genesis and never written (only chef 4000 has pools)"
)
_CHEF_DEBT = (
    "reward debt is floor(amount*acc/1e12) for the same amount at an earlier acc, and acc only"
    " grows (checked add): the pending sub never underflows"
)
_PERP_LOCKED = (
    "perp.locked is kept the sum of the positions' collateral by every write, so it is never"
    " below the one collateral (or part of it) subtracted"
)
_PERP_DIV = (
    "it divides by BPS, by a size checked non-zero, and by the average price of a non-empty"
    " position: the price (non-zero) or a size-weighted floor of prices >= 1"
)
UNREACHABLE: dict[tuple[str, str], str] = {
    ("amm.add_liquidity", _TO_ZERO): "the router pays only into the pair, non-zero by pair_for",
    ("amm.add_liquidity", "assert"): (
        "floor(a*rB/rA) > b implies a*rB > b*rA, so floor(b*rA/rB) <= a: the assert holds"
    ),
    ("amm.pair_swap", "arithmetic underflow"): _FEE_UNDERFLOW,
    ("amm.swap_exact_in", "arithmetic underflow"): _FEE_UNDERFLOW,
    ("amm.swap_exact_out", "arithmetic underflow"): _FEE_UNDERFLOW,
    ("amm.remove_liquidity", "ERC20: burn amount exceeds balance"): (
        "pair_burn burns exactly the pair's own LP balance it has just read"
    ),
    ("amm.remove_liquidity", "ERC20: burn from the zero address"): (
        "pair_burn burns from the pair, non-zero by pair_for"
    ),
    ("amm.swap_exact_in", "UniswapV2: INSUFFICIENT_LIQUIDITY"): (
        "getAmountOut = 997a*rOut // (1000rIn + 997a) < rOut"
    ),
    ("amm.swap_exact_in", "division by zero"): (
        "the only division is getAmountOut's, by 1000*reserve_in + 997a > 0 (reserve_in > 0)"
    ),
    ("amm.swap_exact_out", "UniswapV2: INSUFFICIENT_LIQUIDITY"): (
        "getAmountIn reverts (sub or division by zero) unless amount_out < reserve_out"
    ),
    ("amm.swap_exact_out", "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"): (
        "getAmountIn requires amount_out > 0 first, with the library's own reason"
    ),
    ("erc20.transfer_from", _FROM_ZERO): (
        "the zero owner's allowance is always 0 (approve from 0 reverts), so spending it"
        " reverts 'approve from the zero address' first"
    ),
    ("gov.deposit", _TO_ZERO): _GOVERNOR,
    ("gov.withdraw", _FROM_ZERO): _GOVERNOR,
    ("gov.execute", _FROM_ZERO): _GOVERNOR,
    ("lend.borrow", _FROM_ZERO): _MARKET,
    ("lend.redeem", _FROM_ZERO): _MARKET,
    ("lend.supply", _TO_ZERO): _MARKET,
    ("lend.repay", _TO_ZERO): _MARKET,
    ("lend.liquidate", _TO_ZERO): _MARKET,
    ("lend.borrow", "ERC20: transfer amount exceeds balance"): (
        "borrow requires cash >= amount, then moves that amount out of that cash"
    ),
    ("lend.redeem", "ERC20: transfer amount exceeds balance"): (
        "redeem requires cash >= amount, then moves that amount out of that cash"
    ),
    ("lend.borrow", "oracle: no price"): _LEND_PRICE,
    ("lend.exit_market", "oracle: no price"): _LEND_PRICE,
    ("lend.redeem", "oracle: no price"): _LEND_PRICE,
    ("lend.liquidate", "oracle: no price"): _LEND_PRICE,
    ("lend.liquidate", "repay amount exceeds borrow balance"): (
        "TOO_MUCH_REPAY first requires amount <= floor(owed / 2) <= owed, and amount != 2**256-1"
    ),
    ("lend.redeem", "redeemTokens zero"): (
        "the amount redeemed is rate * tokens // 1e18, always 0 when tokens is 0"
    ),
    ("lend.exit_market", "division by zero"): (
        "it divides by 1e18, by a cToken supply checked non-zero, and by an interest index"
        " (>= 1e18) that is set whenever the principal is non-zero"
    ),
    ("perp.increase", "oracle: no price"): _PERP_PRICE,
    ("perp.decrease", "oracle: no price"): _PERP_PRICE,
    ("perp.liquidate", "oracle: no price"): _PERP_PRICE,
    ("perp.increase", _TO_ZERO): "collateral goes to the vault 5000 of the only perp market",
    ("perp.decrease", _FROM_ZERO): "payouts come from the vault 5000 of the only perp market",
    ("perp.liquidate", _FROM_ZERO): "payouts come from the vault 5000 of the only perp market",
    ("perp.decrease", _TO_ZERO): (
        "the zero address never holds a position: its increase reverts moving from zero"
    ),
    ("opt.write", _FROM_ZERO): "the zero writer reverts 'options: invalid writer' first",
    ("opt.write", _TO_ZERO): "collateral goes to the book, which must have a quote token (6000)",
    ("opt.buy", _TO_ZERO): "the premium goes to the writer, non-zero by _option",
    ("opt.settle", _FROM_ZERO): "payouts come from the book, which must have a quote token (6000)",
    ("opt.settle", _TO_ZERO): "payouts go to a non-zero holder (checked) or the writer (non-zero)",
    ("opt.settle", "oracle: no price"): (
        "options are written only on priced assets (genesis ones on 1001), and set_price refuses 0"
    ),
    ("stake.deposit", "ERC20: mint to the zero address"): _CHEF_MINT,
    ("stake.harvest", "ERC20: mint to the zero address"): _CHEF_MINT,
    ("stake.update_pool", "ERC20: mint to the zero address"): _CHEF_MINT,
    ("stake.withdraw", "ERC20: mint to the zero address"): _CHEF_MINT,
    ("stake.emergency_withdraw", _FROM_ZERO): "the stake is paid out of the chef, non-zero",
    ("stake.harvest", "ERC20: transfer amount exceeds balance"): (
        "harvest moves 0 LP from the staker and pays min(pending, the chef's reward balance)"
    ),
    ("stake.withdraw", _FROM_ZERO): "the stake and rewards are paid out of the chef, non-zero",
    ("stake.deposit", _TO_ZERO): (
        "LP goes to the chef; rewards go to a staker, and the zero address can never stake"
    ),
    ("stake.harvest", _TO_ZERO): (
        "rewards go to a staker, and the zero address can never stake (its move reverts)"
    ),
    ("stake.deposit", "division by zero"): _CHEF_DIV,
    ("stake.harvest", "division by zero"): _CHEF_DIV,
    ("stake.update_pool", "division by zero"): _CHEF_DIV,
    ("stake.withdraw", "division by zero"): _CHEF_DIV,
    ("stake.deposit", "arithmetic underflow"): _CHEF_DEBT,
    ("stake.harvest", "arithmetic underflow"): _CHEF_DEBT,
    ("stake.withdraw", "arithmetic underflow"): _CHEF_DEBT,
    ("perp.increase", "arithmetic underflow"): _PERP_LOCKED,
    ("perp.decrease", "arithmetic underflow"): _PERP_LOCKED,
    ("perp.liquidate", "arithmetic underflow"): _PERP_LOCKED,
    ("perp.increase", "division by zero"): _PERP_DIV,
    ("perp.decrease", "division by zero"): _PERP_DIV,
    ("perp.liquidate", "division by zero"): _PERP_DIV,
    ("amm.add_liquidity", "UniswapV2Library: INSUFFICIENT_LIQUIDITY"): _EMPTY_RESERVE,
    ("amm.add_liquidity", "division by zero"): _EMPTY_RESERVE,
    ("perp.decrease", "ERC20: transfer amount exceeds balance"): (
        "decrease requires the vault's balance >= payout + locked, then moves that payout out"
    ),
}


def expected() -> list[tuple[str, str]]:
    """Every (kind, reason) pair generation must reach: the enumeration less ``UNREACHABLE``."""
    return [
        (kind, reason)
        for kind, reasons in spec_reasons().items()
        for reason in reasons
        if (kind, reason) not in UNREACHABLE
    ]


# -- what generation reached --------------------------------------------------------------------

#: The boundary classes of a uint field (``strategies.UINT_BOUNDARIES``), by value.
_BOUNDARY_NAMES = {
    0: "0", 1: "1", 2**53 - 1: "2**53-1", 2**53: "2**53", 2**53 + 1: "2**53+1",
    2**64 - 1: "2**64-1", 2**64: "2**64", 2**128: "2**128", 2**255: "2**255",
    MAX_UINT256 - 1: "2**256-2", MAX_UINT256: "2**256-1",
}  # fmt: skip
assert tuple(_BOUNDARY_NAMES) == UINT_BOUNDARIES
#: Fields that name an account, and the address classes they are counted in.
ADDRESS_FIELDS = ("sender", "to", "spender", "owner", "account", "borrower", "recipient")
ADDRESS_CLASSES = ("zero address", "self", "unfunded")
BOUNDARY_CLASSES = (*_BOUNDARY_NAMES.values(), *ADDRESS_CLASSES)

#: Behaviours that no revert reason shows, counted per workload or transaction.
BEHAVIOURS = (
    "infinite allowance spent",  # erc20: an allowance of 2**256-1 is never decreased
    "repay-all sentinel",  # lend.repay of 2**256-1 repays the whole debt
    "reads an earlier block's write",  # state carried over a block boundary
    "block of 1 tx",
    "block of 13-64 txs",
    "block of more than 64 txs",
    "several blocks",
    "block number jump",
    "fee on",
    "fee off",
)


@dataclass
class KindCoverage:
    ok: int = 0
    reverts: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)

    @property
    def txs(self) -> int:
        return self.ok + sum(self.reverts.values())


class _Probe:
    """A context over the state before a transaction: runs the fee alone."""

    def __init__(self, env: BlockEnv, read: Callable[[Key], int]) -> None:
        self.block, self.read = env, read

    def write(self, key: Key, value: int) -> None:
        pass

    def emit(self, event: Event) -> None:
        pass

    def require(self, condition: bool, reason: str) -> None:
        if not condition:
            raise Revert(reason)


def _fee_revert(env: BlockEnv, tx: Tx, read: Callable[[Key], int]) -> str | None:
    """The fee's revert reason when the fee alone reverts (as ``execute_tx`` charges it)."""
    try:
        spec.charge_fee(tx, _Probe(env, read))
    except Revert as revert:
        return revert.reason
    return None


@dataclass
class Coverage:
    """Counts over the distinct workloads it is given (a campaign listener, or ``add``)."""

    kinds: dict[str, KindCoverage] = field(default_factory=dict)
    behaviours: Counter[str] = field(default_factory=Counter)
    examples: int = 0
    blocks: int = 0
    _seen: set[int] = field(default_factory=set, repr=False)

    def __call__(self, event: CampaignEvent) -> None:
        if isinstance(event, ExampleRan) and event.workload is not None:
            self.add(event.workload)

    def kind(self, kind: str) -> KindCoverage:
        return self.kinds.setdefault(kind, KindCoverage())

    def add(self, workload: Workload) -> None:
        fingerprint = hash(repr(workload.blocks))  # every engine's campaign draws the same
        if fingerprint in self._seen:
            return
        self._seen.add(fingerprint)
        self.examples += 1
        engine, state = SequentialEngine(), dict(workload.state)
        funded = {key[2] for key in state if key[0] == erc20.BAL and isinstance(key[2], int)}
        earlier: set[Key] = set()
        if len(workload.blocks) > 1:
            self.behaviours["several blocks"] += 1
        previous: int | None = None
        for index, block in enumerate(workload.blocks):
            self.blocks += 1
            self._block_shape(block.env, len(block.txs), previous)
            previous = block.env.number
            result = engine.execute(block, state)
            written: dict[Key, int] = {}

            def read(key: Key, written: dict[Key, int] = written) -> int:
                return written.get(key, state.get(key, 0))

            crossed = False
            for tx, receipt, trace in zip(block.txs, result.receipts, result.traces, strict=True):
                self._transaction(tx, receipt.ok, receipt.reason, block.env, read, funded)
                crossed = crossed or any(
                    writer == PRE_STATE and key in earlier for key, writer in trace.reads.items()
                )
                written.update(trace.writes)
            if crossed and index > 0:
                self.behaviours["reads an earlier block's write"] += 1
            earlier.update(result.writes)
            apply_writes(state, result.writes.items())

    def _block_shape(self, env: BlockEnv, size: int, previous: int | None) -> None:
        for name, low, high in (
            ("block of 1 tx", 1, 1),
            ("block of 13-64 txs", 13, 64),
            ("block of more than 64 txs", 65, None),
        ):
            if low <= size and (high is None or size <= high):
                self.behaviours[name] += 1
        if previous is not None and env.number > previous + 1:
            self.behaviours["block number jump"] += 1
        self.behaviours["fee on" if env.fee else "fee off"] += 1

    def _transaction(
        self,
        tx: Tx,
        ok: bool,
        reason: str | None,
        env: BlockEnv,
        read: Callable[[Key], int],
        funded: set[int],
    ) -> None:
        fee_reason = None if ok else _fee_revert(env, tx, read)
        if fee_reason is not None and fee_reason == reason:
            self.kind(FEE).reverts[fee_reason] += 1
        else:
            counts = self.kind(tx.KIND)
            if ok:
                counts.ok += 1
            else:
                counts.reverts[reason or ""] += 1
            if env.fee:
                self.kind(FEE).ok += 1
        self._classes(tx, funded)
        if ok and tx.KIND == "erc20.transfer_from":
            allowance = read((erc20.ALLOWANCE, tx.token, tx.owner, tx.sender))  # type: ignore[attr-defined]
            if allowance == MAX_UINT256:
                self.behaviours["infinite allowance spent"] += 1
        if ok and isinstance(tx, lending.RepayBorrow) and tx.amount == MAX_UINT256:
            self.behaviours["repay-all sentinel"] += 1

    def _classes(self, tx: Tx, funded: set[int]) -> None:
        classes = self.kind(tx.KIND).classes
        for f in fields(tx):
            value = getattr(tx, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            name = _BOUNDARY_NAMES.get(value)
            if name is not None:
                classes[name] += 1
            if f.name in ADDRESS_FIELDS:
                if value == erc20.ZERO_ADDRESS:
                    classes["zero address"] += 1
                elif value not in funded:
                    classes["unfunded"] += 1
                if f.name != "sender" and value == tx.sender:
                    classes["self"] += 1

    def merge(self, workloads: Iterable[Workload]) -> Coverage:
        for workload in workloads:
            self.add(workload)
        return self

    # -- verdicts -------------------------------------------------------------------------

    def reached(self) -> set[tuple[str, str]]:
        return {(kind, reason) for kind, c in self.kinds.items() for reason in c.reverts}

    def unreached(self) -> list[tuple[str, str]]:
        """Every expected (kind, reason) pair no workload produced, in order."""
        reached = self.reached()
        return [pair for pair in expected() if pair not in reached]

    def unexpected(self) -> list[tuple[str, str]]:
        """Pairs produced that the enumeration does not know (an enumeration gap), or that
        ``UNREACHABLE`` declares unreachable."""
        known = {(kind, reason) for kind, rs in spec_reasons().items() for reason in rs}
        return sorted(p for p in self.reached() if p not in known or p in UNREACHABLE)

    @staticmethod
    def unreachable_pairs() -> list[tuple[str, str]]:
        """The enumerated pairs ``UNREACHABLE`` declares no workload can produce."""
        known = {(kind, reason) for kind, rs in spec_reasons().items() for reason in rs}
        return sorted(pair for pair in UNREACHABLE if pair in known)

    def missing_behaviours(self) -> list[str]:
        return [b for b in BEHAVIOURS if not self.behaviours[b]]

    def to_json(self) -> dict[str, Any]:
        reasons = spec_reasons()
        rows = {}
        for kind in reasons:
            c = self.kinds.get(kind, KindCoverage())
            rows[kind] = {
                "txs": c.txs,
                "ok": c.ok,
                "reverts": {
                    reason: c.reverts[reason]
                    for reason in (*reasons[kind], *sorted(set(c.reverts) - set(reasons[kind])))
                },
                "unreachable": {
                    reason: UNREACHABLE[(kind, reason)]
                    for reason in reasons[kind]
                    if (kind, reason) in UNREACHABLE
                },
                "boundary_classes": {name: c.classes[name] for name in BOUNDARY_CLASSES},
            }
        return {
            "format": "txlanes-coverage",
            "version": 1,
            "examples": self.examples,
            "blocks": self.blocks,
            "expected_pairs": len(expected()),
            "unreached": [list(pair) for pair in self.unreached()],
            "unexpected": [list(pair) for pair in self.unexpected()],
            "behaviours": {name: self.behaviours[name] for name in BEHAVIOURS},
            "kinds": rows,
        }
