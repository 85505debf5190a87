"""Cross-shard commit — two-phase commit with two-phase locking and escrow — as one transition
system.

The protocol is a set of guarded actions (TLA+/Stateright style) written against a `View`, the
only door to state, as ``ctx`` is for the spec. A concrete view runs it (executor/sharded/
explore.py explores it state by state); a symbolic view (checker/protocol_proofs.py) turns the
very same actions into z3 formulas for bounded model checking and for an inductive invariant over
any number of shards. Actions therefore combine state values with the view's logic (``v.and_``,
``v.forall``, ``v.ite``), never with Python's ``and``/``if``: a symbolic value in a Python
condition raises, loudly, instead of being silently decided.

The network is the set of messages ever sent (as in Ivy): receiving does not consume, so every
delivery order, duplicate, delay and loss (a message never received) is one of the system's
behaviours, and a safety property proved here holds under all of them. A crash is a crash
followed by recovery from the write-ahead log; downtime adds no behaviour that safety can see.

Value moves by escrow: a participant that votes yes takes its debit out of the balance into
escrow for the transaction; a commit turns escrow into the credits the other participants add,
an abort returns it. "balances + escrow" is conserved, where the escrow of a committed
transaction is the credits not yet applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

#: Votes of a participant.
NONE, YES, NO = 0, 1, 2
#: The coordinator's decision, and what a participant applied.
UNDECIDED, COMMIT, ABORT = 0, 1, 2

#: Index sorts: transactions, shards, accounts (an account lives on one shard).
TXN, SHARD, ACCOUNT = "txn", "shard", "account"

#: State variables: name → (index sorts, value kind). Initially every flag is false, every
#: vote/decision 0, every escrow 0; balances are the instance's.
STATE: dict[str, tuple[tuple[str, ...], str]] = {
    "started": ((TXN,), "bool"),  # the coordinator has sent PREPARE
    "decision": ((TXN,), "int"),  # the coordinator's logged decision
    "vote": ((TXN, SHARD), "int"),  # the participant's logged vote
    "applied": ((TXN, SHARD), "int"),  # the decision the participant applied
    "locked": ((TXN, SHARD), "bool"),  # the participant holds the transaction's key lock
    "escrow": ((TXN, SHARD), "int"),  # value the participant holds for the transaction
    "balance": ((ACCOUNT,), "int"),
    "prepare_sent": ((TXN, SHARD), "bool"),
    "yes_sent": ((TXN, SHARD), "bool"),
    "no_sent": ((TXN, SHARD), "bool"),
    "commit_sent": ((TXN,), "bool"),
    "abort_sent": ((TXN,), "bool"),
}
#: The instance: which shards a transaction touches, the account it touches there, the value it
#: takes out (debit) and puts in (credit) there, and which transactions conflict (share a key)
#: on a shard. A transaction's debits sum to its credits.
RIGID: dict[str, tuple[tuple[str, ...], str]] = {
    "part": ((TXN, SHARD), "bool"),
    "account": ((TXN, SHARD), ACCOUNT),
    "debit": ((TXN, SHARD), "int"),
    "credit": ((TXN, SHARD), "int"),
    "conflict": ((TXN, TXN, SHARD), "bool"),  # a and b touch a common key on shard p
}


class View(Protocol):
    """What an action may do: read and write state, read the instance, guard, and combine."""

    def get(self, var: str, *index: Any) -> Any: ...
    def set(self, var: str, index: tuple[Any, ...], value: Any) -> None: ...
    def update(self, var: str, fn: Callable[..., Any]) -> None:
        """Rewrite every entry: ``fn(*index, old) -> new`` (a crash's loss)."""

    def update_row(self, var: str, t: Any, fn: Callable[[Any, Any], Any]) -> None:
        """Rewrite transaction t's entry on every shard: ``fn(p, old) -> new`` (a broadcast)."""

    def rigid(self, name: str, *index: Any) -> Any: ...
    def require(self, *conditions: Any) -> None:
        """The action is enabled only where every condition holds."""

    def and_(self, *conditions: Any) -> Any: ...
    def or_(self, *conditions: Any) -> Any: ...
    def not_(self, condition: Any) -> Any: ...
    def implies(self, a: Any, b: Any) -> Any: ...
    def ite(self, condition: Any, then: Any, other: Any) -> Any: ...
    def forall(self, sort: str, fn: Callable[[Any], Any]) -> Any: ...
    def exists(self, sort: str, fn: Callable[[Any], Any]) -> Any: ...
    def sum(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        """Only over a finite instance: a symbolic view over unbounded sorts refuses it."""


Action = Callable[..., None]
Property = Callable[[View], Any]


class TwoPhaseCommit:
    """The correct protocol. A seeded bug is a subclass overriding one small method."""

    name = "2pc"
    #: action name → the sorts of its parameters.
    ACTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "begin": (TXN,),
        "vote_yes": (TXN, SHARD),
        "vote_no": (TXN, SHARD),
        "commit": (TXN,),
        "abort": (TXN,),
        "apply_commit": (TXN, SHARD),
        "apply_abort": (TXN, SHARD),
        "crash": (SHARD,),
        "crash_coordinator": (),
    }

    # -- coordinator ------------------------------------------------------------------------

    def begin(self, v: View, t: Any) -> None:
        v.require(v.not_(v.get("started", t)))
        v.set("started", (t,), True)
        v.update_row("prepare_sent", t, lambda p, old: v.or_(old, v.rigid("part", t, p)))

    def commit(self, v: View, t: Any) -> None:
        v.require(v.get("started", t), v.get("decision", t) == UNDECIDED, self.votes_allow(v, t))
        v.set("decision", (t,), COMMIT)
        v.set("commit_sent", (t,), True)

    def votes_allow(self, v: View, t: Any) -> Any:
        """Commit only on a yes from every participant."""
        return v.forall(SHARD, lambda p: v.implies(v.rigid("part", t, p), v.get("yes_sent", t, p)))

    def abort(self, v: View, t: Any) -> None:
        """On a no, or a timeout: enabled whenever undecided (presumed abort)."""
        v.require(v.get("started", t), v.get("decision", t) == UNDECIDED)
        v.set("decision", (t,), ABORT)
        v.set("abort_sent", (t,), True)

    def crash_coordinator(self, v: View) -> None:
        """Crash and recover: decisions are logged before they are sent, so nothing is lost."""

    # -- participants -----------------------------------------------------------------------

    def vote_yes(self, v: View, t: Any, p: Any) -> None:
        """Lock the key, move the debit into escrow, vote yes — only with the lock free and
        the balance sufficient."""
        account, debit = v.rigid("account", t, p), v.rigid("debit", t, p)
        v.require(
            v.get("prepare_sent", t, p),
            v.get("vote", t, p) == NONE,
            v.get("applied", t, p) == UNDECIDED,
            v.forall(
                TXN,
                lambda o: v.implies(
                    v.and_(o != t, v.rigid("conflict", o, t, p)), v.not_(v.get("locked", o, p))
                ),
            ),
            v.get("balance", account) >= debit,
        )
        v.set("vote", (t, p), YES)
        v.set("locked", (t, p), self.holds_lock_until_decided())
        v.set("balance", (account,), v.get("balance", account) - debit)
        v.set("escrow", (t, p), debit)
        v.set("yes_sent", (t, p), True)

    def holds_lock_until_decided(self) -> bool:
        return True

    def vote_no(self, v: View, t: Any, p: Any) -> None:
        """A participant may always refuse (a busy lock, too little balance, a failed check)."""
        v.require(
            v.get("prepare_sent", t, p),
            v.get("vote", t, p) == NONE,
            v.get("applied", t, p) == UNDECIDED,
        )
        v.set("vote", (t, p), NO)
        v.set("no_sent", (t, p), True)

    def apply_commit(self, v: View, t: Any, p: Any) -> None:
        self._apply(v, t, p, COMMIT, v.rigid("credit", t, p))

    def apply_abort(self, v: View, t: Any, p: Any) -> None:
        self._apply(v, t, p, ABORT, v.get("escrow", t, p))

    def _apply(self, v: View, t: Any, p: Any, decision: int, paid: Any) -> None:
        """Apply a decision the coordinator sent: pay out (the credit, or the escrow back),
        clear the escrow, release the lock."""
        account = v.rigid("account", t, p)
        sent = "commit_sent" if decision == COMMIT else "abort_sent"
        v.require(v.rigid("part", t, p), v.get(sent, t), v.get("applied", t, p) == UNDECIDED)
        v.set("applied", (t, p), decision)
        v.set("balance", (account,), v.get("balance", account) + paid)
        v.set("escrow", (t, p), 0)
        v.set("locked", (t, p), False)

    def crash(self, v: View, p: Any) -> None:
        """Crash and recover: votes, locks and escrow are logged before the vote is sent."""


def _each(v: View, fn: Callable[[Any, Any], Any]) -> Any:
    """For every transaction and shard."""
    return v.forall(TXN, lambda t: v.forall(SHARD, lambda p: fn(t, p)))


def prepared(v: View, t: Any, p: Any) -> Any:
    """Voted yes and not yet applied a decision: the participant owes the transaction its key."""
    return v.and_(v.get("vote", t, p) == YES, v.get("applied", t, p) == UNDECIDED)


def in_flight(v: View, t: Any, p: Any) -> Any:
    """The value of transaction t held at p: its escrow, or once committed its unapplied credit."""
    return v.ite(
        v.get("decision", t) == COMMIT,
        v.ite(
            v.and_(v.rigid("part", t, p), v.get("applied", t, p) != COMMIT),
            v.rigid("credit", t, p),
            0,
        ),
        v.get("escrow", t, p),
    )


def value(v: View) -> Any:
    """Balances plus escrow: what conservation keeps constant."""
    return v.sum(ACCOUNT, lambda a: v.get("balance", a)) + v.sum(
        TXN, lambda t: v.sum(SHARD, lambda p: in_flight(v, t, p))
    )


# -- safety properties (over one state) -------------------------------------------------------


def atomicity(v: View) -> Any:
    """No shard commits a transaction that another shard aborts."""
    return v.forall(
        TXN,
        lambda t: v.not_(
            v.and_(
                v.exists(SHARD, lambda p: v.get("applied", t, p) == COMMIT),
                v.exists(SHARD, lambda p: v.get("applied", t, p) == ABORT),
            )
        ),
    )


def lock_safety(v: View) -> Any:
    """No two undecided prepared transactions on one key: what the locks are for."""
    return _each(
        v,
        lambda a, p: v.forall(
            TXN,
            lambda b: v.implies(
                v.and_(a != b, v.rigid("conflict", a, b, p)),
                v.not_(v.and_(prepared(v, a, p), prepared(v, b, p))),
            ),
        ),
    )


def no_double_spend(v: View) -> Any:
    """Escrow is held exactly while prepared, and a committed transaction's participants all
    hold theirs until they apply the commit: value is neither released twice nor conjured."""
    return v.forall(
        TXN,
        lambda t: v.forall(
            SHARD,
            lambda p: v.and_(
                v.get("escrow", t, p) == v.ite(prepared(v, t, p), v.rigid("debit", t, p), 0),
                v.implies(
                    v.and_(v.get("decision", t) == COMMIT, v.rigid("part", t, p)),
                    v.or_(prepared(v, t, p), v.get("applied", t, p) == COMMIT),
                ),
            ),
        ),
    )


#: Properties of one state, meaningful for any number of shards.
SAFETY: dict[str, Property] = {
    "atomicity": atomicity,
    "lock safety": lock_safety,
    "no double spend": no_double_spend,
}
#: Conservation compares with the initial state, and sums: only over a finite instance.
CONSERVATION = "conservation"


# -- the inductive invariant (any number of shards) -------------------------------------------


#: Named clauses; their conjunction holds initially, is preserved by every action, and implies
#: SAFETY. Each clause is a fact of the protocol's design, stated so a failure names it.
INVARIANT: dict[str, Property] = {
    "votes and decisions take their declared values": lambda v: _each(
        v,
        lambda t, p: v.and_(
            *(
                v.or_(*(v.get(var, *i) == x for x in (0, 1, 2)))
                for var, i in (("decision", (t,)), ("vote", (t, p)), ("applied", (t, p)))
            )
        ),
    ),
    "prepare goes to participants of started txns": lambda v: _each(
        v,
        lambda t, p: v.implies(
            v.get("prepare_sent", t, p), v.and_(v.get("started", t), v.rigid("part", t, p))
        ),
    ),
    "a vote answers a prepare": lambda v: _each(
        v, lambda t, p: v.implies(v.get("vote", t, p) != NONE, v.get("prepare_sent", t, p))
    ),
    "vote messages match votes": lambda v: _each(
        v,
        lambda t, p: v.and_(
            v.get("yes_sent", t, p) == (v.get("vote", t, p) == YES),
            v.get("no_sent", t, p) == (v.get("vote", t, p) == NO),
        ),
    ),
    "decision messages match the decision": lambda v: v.forall(
        TXN,
        lambda t: v.and_(
            v.get("commit_sent", t) == (v.get("decision", t) == COMMIT),
            v.get("abort_sent", t) == (v.get("decision", t) == ABORT),
            v.implies(v.get("decision", t) != UNDECIDED, v.get("started", t)),
        ),
    ),
    "commit follows a yes from every participant": lambda v: _each(
        v,
        lambda t, p: v.implies(
            v.and_(v.get("decision", t) == COMMIT, v.rigid("part", t, p)),
            v.get("vote", t, p) == YES,
        ),
    ),
    "a participant applies the decision": lambda v: _each(
        v,
        lambda t, p: v.and_(
            v.implies(
                v.get("applied", t, p) == COMMIT,
                v.and_(v.get("decision", t) == COMMIT, v.rigid("part", t, p)),
            ),
            v.implies(
                v.get("applied", t, p) == ABORT,
                v.and_(v.get("decision", t) == ABORT, v.rigid("part", t, p)),
            ),
        ),
    ),
    "locked exactly while prepared": lambda v: _each(
        v, lambda t, p: v.get("locked", t, p) == prepared(v, t, p)
    ),
    **SAFETY,
}


#: The protocol's rigid facts, assumed of every instance: amounts are non-negative, an account
#: lives on a single shard, and conflict is symmetric, between participants.
def well_formed(v: View) -> Any:
    return _each(
        v,
        lambda t, p: v.and_(
            v.rigid("debit", t, p) >= 0,
            v.rigid("credit", t, p) >= 0,
            _each(
                v,
                lambda o, q: v.implies(
                    v.rigid("account", t, p) == v.rigid("account", o, q), p == q
                ),
            ),
            v.forall(
                TXN,
                lambda o: v.implies(
                    v.rigid("conflict", t, o, p),
                    v.and_(
                        v.rigid("conflict", o, t, p), v.rigid("part", t, p), v.rigid("part", o, p)
                    ),
                ),
            ),
        ),
    )


# -- seeded protocol bugs -----------------------------------------------------------------------


class CommitOnPartialVote(TwoPhaseCommit):
    """The coordinator commits once any participant has voted yes."""

    name = "commit-on-partial-vote"

    def votes_allow(self, v: View, t: Any) -> Any:
        return v.exists(SHARD, lambda p: v.and_(v.rigid("part", t, p), v.get("yes_sent", t, p)))


class ReleaseLocksBeforeDecision(TwoPhaseCommit):
    """A participant releases its lock as soon as it has voted, not when the decision comes."""

    name = "release-locks-before-decision"

    def holds_lock_until_decided(self) -> bool:
        return False


class ForgetVoteAfterCrash(TwoPhaseCommit):
    """A participant does not log its vote: after a crash it has forgotten the vote and the lock
    (the escrowed debit, written to the balance store, survives), so a duplicate PREPARE makes
    it vote again."""

    name = "forget-vote-after-crash"

    def crash(self, v: View, p: Any) -> None:
        def forget(t: Any, q: Any, old: Any, lost: Any) -> Any:
            return v.ite(v.and_(q == p, v.get("applied", t, q) == UNDECIDED), lost, old)

        v.update("vote", lambda t, q, old: forget(t, q, old, NONE))
        v.update("locked", lambda t, q, old: forget(t, q, old, False))


class CoordinatorDecidesTwice(TwoPhaseCommit):
    """The coordinator sends its decision before logging it: after a crash it has forgotten it,
    and may decide again, differently."""

    name = "coordinator-decides-twice"

    def crash_coordinator(self, v: View) -> None:
        v.update("decision", lambda t, old: UNDECIDED)


PROTOCOL_MUTANTS: dict[str, type[TwoPhaseCommit]] = {
    cls.name: cls
    for cls in (
        CommitOnPartialVote,
        ReleaseLocksBeforeDecision,
        ForgetVoteAfterCrash,
        CoordinatorDecidesTwice,
    )
}
