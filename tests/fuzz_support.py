"""The fuzz harness of tests/test_fuzz_inputs.py: structural mutations of JSON seed files, the
oracle that says which mutations a strict reader must reject, a guarded in-process CLI runner,
and the tally the session-end summary prints.

A mutated file is built as text, not through ``json.dumps``: the inputs that break readers
(5,000-digit integers, ``-0``, ``NaN``, duplicate keys, nesting 10,000 deep, bytes that are not
UTF-8) cannot be written by ``json.dumps`` at all.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any
from unittest import mock

from hypothesis import strategies as st

from txlanes import cli
from txlanes.models.uint import MAX_UINT256

#: A CLI input gets this long; a correct txlanes rejects a bad value before any work starts and
#: runs the tiny valid ones in well under a second, so only a hang or an unbounded size hits it.
DEADLINE_SECONDS = 20.0
#: ... and this much more address space than the process had: a size the machine cannot hold
#: becomes a MemoryError (exit 3, a finding) instead of exhausting the machine.
MEMORY_HEADROOM = 4 * 2**30


# -- the tally ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Inputs tried and mishandled over the session, printed as ``fuzz: N inputs, M mishandled``."""

    inputs: int = 0
    mishandled: int = 0
    first: list[str] = field(default_factory=list)

    def record(self, problems: Sequence[str], what: str) -> None:
        self.inputs += 1
        if problems:
            self.mishandled += 1
            if len(self.first) < 20:
                self.first.append(f"{what}: {'; '.join(problems)}")

    def line(self) -> str:
        return f"fuzz: {self.inputs} inputs, {self.mishandled} mishandled"


TALLY = Tally()


# -- JSON text with values json.dumps cannot write -----------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: a huge integer, ``NaN``, nesting deeper than any recursion."""

    text: str

    def __repr__(self) -> str:  # a falsifying example shows the label, not 20,000 brackets
        return f"Raw({self.text[:20]!r}...{len(self.text)} chars)"


@dataclass(frozen=True)
class Pairs:
    """An object written pair by pair, so that a key can occur twice."""

    items: tuple[tuple[str, Any], ...]


def to_text(value: Any) -> str:
    """JSON text of a document that may hold :class:`Raw` and :class:`Pairs`."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_text(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return to_text(Pairs(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    return json.dumps(value)


#: label → (value, whether it is a valid integer in some format): values that break readers
#: or sneak past them. Examples draw labels, so a falsifying example prints the label.
ADVERSARIAL: dict[str, tuple[Any, bool]] = {
    "2**256": (2**256, False),
    "2**64": (2**64, True),
    "2**53+1": (2**53 + 1, True),
    "-5": (-5, False),
    "-1": (-1, True),
    "0": (0, True),
    "5000 digits": (Raw("1" + "0" * 4999), False),
    "-0": (Raw("-0"), False),
    "-0.0": (Raw("-0.0"), False),
    "1.5": (1.5, False),
    "1e400": (Raw("1e400"), False),
    "NaN": (Raw("NaN"), False),
    "Infinity": (Raw("Infinity"), False),
    "true": (True, False),
    "false": (False, False),
    "null": (None, True),  # null means "absent" where a field is optional
    '""': ("", False),
    '"-0"': ("-0", False),
    '"12"': ("12", True),  # a decimal string is how the formats write a uint above 2**53
    '"1e3"': ("1e3", False),
    '"true"': ("true", False),
    '"false"': ("false", False),
    '"x"*5000': ("x" * 5000, False),
    '"5000 digit string"': ("9" * 5000, False),
    "[]": ([], False),
    "{}": ({}, False),
    "[[...10000]]": (Raw("[" * 10_000 + "]" * 10_000), False),
    '{"a":{...10000}}': (Raw('{"a":' * 10_000 + "1" + "}" * 10_000), False),
}
LABELS = st.sampled_from(sorted(ADVERSARIAL))

#: Bytes no UTF-8 reader may accept: a lone continuation byte, a truncated sequence, a surrogate.
BAD_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")


# -- mutations ----------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def paths(doc: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every position in a document, the root's children first."""
    children: Iterator[tuple[str | int, Any]]
    if isinstance(doc, dict):
        children = iter(doc.items())
    elif isinstance(doc, list):
        children = enumerate(doc)
    else:
        return
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def get(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def replaced(doc: Any, path: Path_, new: Any) -> Any:
    """A copy of ``doc`` with the value at ``path`` replaced (``new`` may be a Raw or Pairs)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: replaced(v, rest, new) if k == head else v for k, v in doc.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(doc)]


def _judged_int_or_bool(doc: Any, path: Path_, unjudged: frozenset[str]) -> Any:
    """The seed's int or bool at ``path``, or None where the oracle has nothing to say."""
    if any(part in unjudged for part in path):
        return None
    value = get(doc, path)
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class Mutant:
    """A mutated file: its bytes, what was done, and whether a strict reader must reject it."""

    data: bytes
    what: str
    must_reject: bool


def _replacement(doc: Any, unjudged: frozenset[str]) -> st.SearchStrategy[Mutant]:
    def build(path: Path_, label: str) -> Mutant:
        value, valid_int = ADVERSARIAL[label]
        seed = _judged_int_or_bool(doc, path, unjudged)
        if isinstance(seed, bool):
            reject = value is not None and not isinstance(value, bool)
        else:
            reject = seed is not None and not valid_int
        text = to_text(replaced(doc, path, value))
        return Mutant(text.encode(), f"{_show(path)} := {label}", reject)

    return st.builds(build, st.sampled_from(list(paths(doc))), LABELS)


def _objects(doc: Any) -> list[Path_]:
    return [p for p in [(), *paths(doc)] if isinstance(get(doc, p), dict) and get(doc, p)]


def _duplicate_key(doc: Any) -> st.SearchStrategy[Mutant]:
    """A key given twice, the first time with another value: json.loads keeps the last."""

    def build(path: Path_, index: int, label: str) -> Mutant:
        obj = get(doc, path)
        key = sorted(obj)[index % len(obj)]
        pairs = Pairs(((key, ADVERSARIAL[label][0]), *obj.items()))
        text = to_text(replaced(doc, path, pairs))
        return Mutant(text.encode(), f"{_show((*path, key))} given twice", True)

    return st.builds(build, st.sampled_from(_objects(doc)), st.integers(0, 50), LABELS)


def _dropped_or_extra_field(doc: Any) -> st.SearchStrategy[Mutant]:
    def build(path: Path_, index: int, add: bool, label: str) -> Mutant:
        obj = dict(get(doc, path))
        if add:
            obj["zz_extra"] = ADVERSARIAL[label][0]
            what = f"{_show((*path, 'zz_extra'))} added := {label}"
        else:
            key = sorted(obj)[index % len(obj)]
            del obj[key]
            what = f"{_show((*path, key))} removed"
        return Mutant(to_text(replaced(doc, path, obj)).encode(), what, False)

    return st.builds(
        build,
        st.sampled_from(_objects(doc)),
        st.integers(0, 50),
        st.booleans(),
        LABELS,
    )


def _bytes_level(doc: Any) -> st.SearchStrategy[Mutant]:
    """Truncation anywhere, or bytes that are not UTF-8 anywhere."""
    data = to_text(doc).encode()

    def truncate(at: int) -> Mutant:
        return Mutant(data[:at], f"truncated to {at} of {len(data)} bytes", False)

    def inject(at: int, bad: bytes) -> Mutant:
        return Mutant(data[:at] + bad + data[at:], f"byte(s) {bad!r} at {at}", True)

    return st.one_of(
        st.builds(truncate, st.integers(0, len(data) - 1)),
        st.builds(inject, st.integers(0, len(data)), st.sampled_from(BAD_UTF8)),
    )


def mutants(doc: Any, unjudged: frozenset[str] = frozenset()) -> st.SearchStrategy[Mutant]:
    """Mutations of a seed document; ``unjudged``: fields the format ignores (no oracle there)."""
    return st.one_of(
        _replacement(doc, unjudged),
        _duplicate_key(doc),
        _dropped_or_extra_field(doc),
        _bytes_level(doc),
    )


def _show(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "$"


# -- what a loaded object may hold --------------------------------------------------------------


def uint_problems(values: dict[str, object]) -> list[str]:
    """Each value (by its path) that is not an int in [0, 2**256) — a bool is not an int here."""
    return [
        f"{path} = {value!r:.60} accepted as a uint256"
        for path, value in values.items()
        if type(value) is not int or not 0 <= value <= MAX_UINT256
    ]


def bool_problems(values: dict[str, object]) -> list[str]:
    return [
        f"{path} = {v!r:.60} accepted as a bool"
        for path, v in values.items()
        if type(v) is not bool
    ]


# -- the guarded CLI runner ---------------------------------------------------------------------


class Overran(BaseException):
    """Raised into the CLI by the deadline: a BaseException, so ``main`` cannot swallow it."""


@dataclass(frozen=True)
class Ran:
    code: int | str | None
    out: str
    err: str


def _overrun(signum: int, frame: FrameType | None) -> None:
    raise Overran


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    """A deadline (SIGALRM) and an address-space cap for one CLI input."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = size + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard < 0 else min(cap, hard), hard))
    previous = signal.signal(signal.SIGALRM, _overrun)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_cli(argv: Sequence[str], cwd: str) -> Ran:
    """``txlanes ARGV`` in this process, in ``cwd``, its output captured.

    An input that overruns the deadline or leaves threads running comes back as exit code
    ``"overran"`` or ``"left threads"`` (txlanes would ``os._exit`` past such threads, which
    here would end the test session).
    """
    out, err = io.StringIO(), io.StringIO()
    left: list[int] = []
    code: int | str | None
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            mock.patch.object(cli, "_exit_past_stuck_threads", _record_threads(left)),
            _guarded(),
        ):
            try:
                code = cli.main(list(argv))
            except SystemExit as exit_:
                code = exit_.code
    except Overran:
        code = "overran"
    except BaseException as escaped:
        code = f"raised {type(escaped).__name__}: {escaped}"
    finally:
        os.chdir(here)
    return Ran("left threads" if left else code, out.getvalue(), err.getvalue())


def _record_threads(left: list[int]) -> Any:
    def record(before: set[threading.Thread], code: int) -> None:
        if any(t not in before and t.is_alive() and not t.daemon for t in threading.enumerate()):
            left.append(code)

    return record


def cli_problems(ran: Ran, *, must_reject: bool) -> list[str]:
    """What is wrong with how txlanes answered one input (empty: handled)."""
    problems = []
    text = ran.out + ran.err
    if ran.code not in (0, 1, 2):
        problems.append(f"exit {ran.code!r}")
    if "internal error" in text or "Traceback" in text:
        problems.append(f"said: {_last_line(ran.err or ran.out)}")
    if must_reject and ran.code in (0, 1):
        problems.append(f"accepted (exit {ran.code}), must be rejected with exit 2")
    return problems


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
