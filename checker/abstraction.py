"""The linear-abstraction tactic: how the prover decides nonlinear integer claims.

z3's exact nonlinear arithmetic is slow or gives up on the spec's products and divisions, so
every product of two non-constant terms, and every ``//``/``%`` with a non-constant operand,
becomes a fresh integer constrained only by facts that hold for the exact operation
(:class:`Abstraction`). That over-approximates, so an unsatisfiable abstraction is a proof.
:class:`PathCheck` applies it to one path's condition in stages (the facts, then exact
identities and order facts between products, then monotonicity lemmas); the explorer
(checker/symbolic_explorer.py) uses the same abstraction to drop infeasible branches.
docs/proofs.md explains which stage proves what.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import z3

from .symbolic_values import Term, Uninterpretable

_NONLINEAR = (z3.Z3_OP_MUL, z3.Z3_OP_IDIV, z3.Z3_OP_MOD)


@dataclass
class _Atom:
    """A fresh integer standing for one nonlinear subterm, and the sound facts about it."""

    var: Term
    facts: list[z3.BoolRef]
    deps: frozenset[int]  # atoms whose facts these facts mention
    factors: tuple[Term, Term] | None = None  # a product's two (abstracted) factors


class Abstraction:
    """Replaces every product of two non-constant terms, and every ``div``/``mod`` with a
    non-constant operand, by a fresh integer constrained only by facts that hold for the exact
    operation (signs, zeros, ones, bounds; ``x // c`` and ``x % c`` with a constant ``c > 0``
    exactly). Identical subterms get the same integer. Every model of the exact formula extends
    to one of the abstracted formula, so an unsatisfiable abstraction proves the exact formula
    unsatisfiable; a satisfiable one proves nothing.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Term, frozenset[int]]] = {}
        self._keep: list[Term] = []  # keeps memoized ASTs alive, so their ids stay unique
        self._atoms: dict[int, _Atom] = {}  # by the atom var's id
        self._products: dict[tuple[int, int], Term] = {}
        self._orders_made: dict[tuple[int, ...], list[z3.BoolRef]] = {}  # by the atoms' ids
        self._count = 0

    def _fresh(self, name: str) -> Term:
        self._count += 1
        return z3.Int(f"abs.{name}!{self._count}")

    def _atom(self, var: Term, facts: list[z3.BoolRef], deps: frozenset[int] = frozenset(),
              factors: tuple[Term, Term] | None = None) -> tuple[Term, frozenset[int]]:  # fmt: skip
        self._keep.append(var)
        self._atoms[var.get_id()] = _Atom(var, facts, deps, factors)
        return var, frozenset({var.get_id()}) | deps

    def product(self, x: Term, y: Term) -> tuple[Term, frozenset[int]]:
        """The atom of ``x * y`` for two abstracted (linear) factors, commutatively shared."""
        ids = sorted((x.get_id(), y.get_id()))
        key = (ids[0], ids[1])
        if key in self._products:
            var = self._products[key]
            return var, frozenset({var.get_id()}) | self._atoms[var.get_id()].deps
        var = self._fresh("mul")
        self._products[key] = var
        self._keep += [x, y]
        facts = [
            z3.Implies(z3.Or(x == 0, y == 0), var == 0),
            z3.Implies(x == 1, var == y),
            z3.Implies(y == 1, var == x),
            z3.Implies(z3.And(x >= 0, y >= 0), var >= 0),
            z3.Implies(z3.And(x >= 1, y >= 0), var >= y),
            z3.Implies(z3.And(y >= 1, x >= 0), var >= x),
        ]
        if x.eq(y):
            facts += [var >= 0, var >= x]
        return self._atom(var, facts, factors=(x, y))

    def term(self, t: Term) -> tuple[Term, frozenset[int]]:
        """``t`` abstracted, and the atoms it mentions (with their dependencies)."""
        key = t.get_id()
        found = self._memo.get(key)
        if found is not None:
            return found
        result = self._abstract(t)
        self._memo[key] = result
        self._keep.append(t)
        return result

    def _abstract(self, t: Term) -> tuple[Term, frozenset[int]]:
        if not z3.is_app(t) or t.num_args() == 0:
            return t, frozenset()
        kind = t.decl().kind()
        children = t.children()
        parts = [self.term(c) for c in children]
        atoms = frozenset().union(*(a for _, a in parts))
        args = [p for p, _ in parts]
        if kind not in _NONLINEAR and all(a is c for a, c in zip(args, children, strict=True)):
            return t, atoms  # nothing below was abstracted
        if kind == z3.Z3_OP_MUL:
            constant = [a for a in args if z3.is_int_value(a)]
            symbolic = [a for a in args if not z3.is_int_value(a)]
            if len(symbolic) <= 1:
                return _rebuild(t, args) if len(args) > 1 else args[0], atoms
            acc = symbolic[0]
            for factor in symbolic[1:]:
                acc, more = self.product(acc, factor)
                atoms |= more
            for c in constant:
                acc = acc * c
            return acc, atoms
        if kind in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD):
            x, y = args
            if z3.is_int_value(y) and y.as_long() > 0:
                c = y.as_long()
                q, r = self._fresh("div"), self._fresh("mod")
                var, own = self._atom(
                    q if kind == z3.Z3_OP_IDIV else r, [x == c * q + r, r >= 0, r < c]
                )
                self._keep += [q, r]
                return var, atoms | own
            if kind == z3.Z3_OP_IDIV:
                q = self._fresh("div")
                m, more = self.product(q, y)
                facts = [
                    z3.Implies(y >= 1, z3.And(m <= x, x < m + y)),
                    z3.Implies(z3.And(x >= 0, y >= 1), z3.And(q >= 0, q <= x)),
                    z3.Implies(z3.And(x >= 0, x < y), q == 0),
                    z3.Implies(z3.And(y >= 1, x >= y), q >= 1),
                    z3.Implies(y == 1, q == x),
                ]
                var, own = self._atom(q, facts, deps=more)
                return var, atoms | own
            r = self._fresh("mod")
            facts = [
                z3.Implies(y >= 1, z3.And(r >= 0, r < y)),
                z3.Implies(z3.And(x >= 0, y >= 1), r <= x),
                z3.Implies(z3.And(x >= 0, x < y), r == x),
            ]
            var, own = self._atom(r, facts)
            return var, atoms | own
        if kind in _NONLINEAR or kind in (z3.Z3_OP_POWER, z3.Z3_OP_REM):
            raise Uninterpretable(f"cannot abstract {t.decl()}")  # pragma: no cover
        return _rebuild(t, args), atoms

    def facts(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        return [f for a in sorted(atoms) for f in self._atoms[a].facts]

    def monotonicity(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """``0 <= x <= k*u and 0 <= y <= m*v`` implies ``x*y <= k*m*(u*v)``, for every pair of
        products among ``atoms`` and scales ``k``, ``m`` from 1 and the coefficients of ``x``,
        ``y`` (any scale is sound; these are the ones a proof is likely to need)."""
        products = [self._atoms[a] for a in sorted(atoms) if self._atoms[a].factors is not None]
        lemmas: list[z3.BoolRef] = []
        for p, q in itertools.permutations(products, 2):
            assert p.factors is not None and q.factors is not None
            x, y = p.factors
            for u, v in (q.factors, q.factors[::-1]):
                for k in _scales(x):
                    for m in _scales(y):
                        lemmas.append(
                            z3.Implies(
                                z3.And(x >= 0, x <= k * u, y >= 0, y <= m * v),
                                p.var <= k * m * q.var,
                            )
                        )
        return lemmas

    def structure(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """Exact identities and order facts between the products among ``atoms``, with the
        facts of the atoms they introduce. All hold for every integer value of the factors:

        - a factor that is an ``If(c, a, b)``: ``c ⇒ p == a·y``, ``¬c ⇒ p == b·y``;
        - a factor that is a linear sum: ``p`` equals the sum of the products of its terms
          (distributivity), each an atom shared with the rest of the abstraction;
        - products with a common factor ``y``: ``x == u ⇒ x·y == u·y``, and
          ``x >= u + 1 ⇒ x·y >= u·y + y`` for ``y >= 0`` (``<=`` for ``y <= 0``);
        - four products ``x·y, x·v, u·y, u·v``: ``(x - u)·(y - v)`` has the sign of its
          factors' product (a rectangle).
        """
        known = set(atoms)
        lemmas: list[z3.BoolRef] = []
        todo = [a for a in sorted(atoms) if self._atoms[a].factors is not None]
        while todo and len(known) - len(atoms) < _MAX_STRUCTURE_ATOMS:
            atom = self._atoms[todo.pop()]
            assert atom.factors is not None
            x, y = atom.factors
            made: frozenset[int] = frozenset()
            for f, other in ((x, y), (y, x)):
                if z3.is_app(f) and f.decl().kind() == z3.Z3_OP_ITE:
                    c, a, b = f.children()
                    then, more = self._times(a, other)
                    made |= more
                    other_, more = self._times(b, other)
                    made |= more
                    lemmas += [z3.Implies(c, atom.var == then),
                               z3.Implies(z3.Not(c), atom.var == other_)]  # fmt: skip
                    break
            else:
                lx, ly = _linear(x), _linear(y)
                if max(len(lx), len(ly)) > 1 and len(lx) * len(ly) <= _MAX_DISTRIBUTED:
                    total: list[Term] = []
                    for (u, k), (v, m) in itertools.product(lx, ly):
                        term, more = self._times(u, v)
                        made |= more
                        total.append(term * (k * m) if k * m != 1 else term)
                    lemmas.append(atom.var == z3.Sum(total))
            for a in sorted(made - known):
                known.add(a)
                lemmas += self._atoms[a].facts
                if self._atoms[a].factors is not None:
                    todo.append(a)
        lemmas += self._orders(frozenset(known))
        return lemmas

    def _times(self, a: Term, b: Term) -> tuple[Term, frozenset[int]]:
        """``a * b`` as the abstraction writes it: linear when a factor is a constant."""
        if z3.is_int_value(a) or z3.is_int_value(b):
            return a * b, frozenset()
        return self.product(a, b)

    def _orders(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """The common-factor and rectangle facts of :meth:`structure`."""
        partners: dict[int, dict[int, tuple[Term, Term]]] = {}  # factor → partner → (it, p)
        for a in sorted(atoms):
            atom = self._atoms[a]
            if atom.factors is None:
                continue
            x, y = atom.factors
            partners.setdefault(y.get_id(), {})[x.get_id()] = (x, atom.var)
            partners.setdefault(x.get_id(), {})[y.get_id()] = (y, atom.var)
        factor = {f: t for group in partners.values() for f, (t, _) in group.items()}
        lemmas: list[z3.BoolRef] = []
        for f, group in partners.items():
            y = factor.get(f)
            if y is None:
                continue
            for (x, p), (u, q) in itertools.permutations(group.values(), 2):
                key: tuple[int, ...] = (p.get_id(), q.get_id(), f)
                found = self._orders_made.get(key)
                if found is None:
                    found = self._orders_made[key] = [
                        z3.Implies(x == u, p == q),
                        z3.Implies(z3.And(y >= 0, x >= u + 1), p >= q + y),
                        z3.Implies(z3.And(y <= 0, x >= u + 1), p <= q + y),
                    ]
                lemmas += found
        for (f, fs), (g, gs) in itertools.combinations(partners.items(), 2):
            common = sorted(fs.keys() & gs.keys())
            for i, j in itertools.combinations(common, 2):
                (y, xy), (v, xv) = fs[i], fs[j]
                uy, uv = gs[i][1], gs[j][1]
                key = (xy.get_id(), xv.get_id(), uy.get_id(), uv.get_id())
                found = self._orders_made.get(key)
                if found is None:
                    x, u = factor[f], factor[g]
                    same = z3.Or(z3.And(x >= u, y >= v), z3.And(x <= u, y <= v))
                    differ = z3.Or(z3.And(x >= u, y <= v), z3.And(x <= u, y >= v))
                    found = self._orders_made[key] = [
                        z3.Implies(same, xy + uv >= xv + uy),
                        z3.Implies(differ, xy + uv <= xv + uy),
                    ]
                lemmas += found
                if len(lemmas) > _MAX_ORDER_LEMMAS:
                    return lemmas
        return lemmas


#: bounds on what :meth:`Abstraction.structure` adds: atoms it may introduce, products one
#: distributed product may expand into, and order facts
_MAX_STRUCTURE_ATOMS = 64
_MAX_DISTRIBUTED = 6
_MAX_ORDER_LEMMAS = 5_000


def _linear(t: Term) -> list[tuple[Term, int]]:
    """``t`` as ``Σ k·leaf``: its terms that are not sums, differences, negations or constant
    multiples, with their coefficients (a constant's leaf is the literal 1)."""
    coeffs: dict[int, tuple[Term, int]] = {}

    def visit(node: Term, k: int) -> None:
        kind = node.decl().kind() if z3.is_app(node) else None
        if z3.is_int_value(node):
            one = z3.IntVal(1)
            prev = coeffs.get(one.get_id(), (one, 0))[1]
            coeffs[one.get_id()] = (one, prev + k * node.as_long())
        elif kind == z3.Z3_OP_ADD:
            for child in node.children():
                visit(child, k)
        elif kind == z3.Z3_OP_SUB:
            first, *rest = node.children()
            visit(first, k)
            for child in rest:
                visit(child, -k)
        elif kind == z3.Z3_OP_UMINUS:
            visit(node.children()[0], -k)
        elif (
            kind == z3.Z3_OP_MUL
            and node.num_args() == 2
            and any(z3.is_int_value(c) for c in node.children())
        ):
            c, leaf = sorted(node.children(), key=lambda n: not z3.is_int_value(n))
            visit(leaf, k * c.as_long())
        else:
            prev = coeffs.get(node.get_id(), (node, 0))[1]
            coeffs[node.get_id()] = (node, prev + k)

    visit(t, 1)
    return [(leaf, k) for leaf, k in coeffs.values() if k != 0]


def _scales(t: Term) -> list[int]:
    """1 and the positive constant coefficients in a linear term."""
    found = {1}
    todo = [t]
    while todo:
        node = todo.pop()
        if z3.is_app(node) and node.num_args():
            if node.decl().kind() == z3.Z3_OP_MUL:
                found |= {c.as_long() for c in node.children() if z3.is_int_value(c)}
            todo.extend(node.children())
    return sorted(c for c in found if c > 0)


def _rebuild(t: Term, args: list[Term]) -> Term:
    """``t``'s operator applied to ``args`` (z3's low-level call: this is the hot path)."""
    array = (z3.Ast * len(args))()
    for i, arg in enumerate(args):
        array[i] = arg.as_ast()
    ctx = t.ctx
    return z3.z3._to_expr_ref(z3.Z3_mk_app(ctx.ref(), t.decl().ast, len(args), array), ctx)


class PathCheck:
    """The linear abstraction of one path's condition on an incremental solver, which each
    property's negated claim is checked against: UNSAT there proves the claim on the path."""

    def __init__(
        self, condition: list[z3.BoolRef], timeout_ms: int, abstraction: Abstraction
    ) -> None:
        self.abstraction = abstraction  # shared by a case's paths: their conditions overlap
        self.solver = z3.Solver()
        self.solver.set("timeout", timeout_ms)
        self.atoms = frozenset[int]()
        for formula in condition:
            term, atoms = self.abstraction.term(formula)
            self.solver.add(term)
            self.atoms |= atoms
        self.solver.add(*self.abstraction.facts(self.atoms))

    def refutes(self, claim: z3.BoolRef) -> bool:
        """Whether the abstraction proves ``claim``: first with the facts of each product,
        division and square root, then adding exact identities and order facts between
        products (:meth:`Abstraction.structure`), then instead monotonicity lemmas."""
        term, atoms = self.abstraction.term(z3.Not(claim))
        self.solver.push()
        try:
            self.solver.add(term, *self.abstraction.facts(atoms - self.atoms))
            if self.solver.check() == z3.unsat:
                return True
            facts = self.abstraction.structure(self.atoms | atoms)
            if facts:
                self.solver.push()
                try:
                    self.solver.add(*facts)
                    if self.solver.check() == z3.unsat:
                        return True
                finally:
                    self.solver.pop()
            lemmas = self.abstraction.monotonicity(self.atoms | atoms)
            if not lemmas or len(lemmas) > 5_000:
                return False
            self.solver.add(*lemmas)
            return bool(self.solver.check() == z3.unsat)
        finally:
            self.solver.pop()
