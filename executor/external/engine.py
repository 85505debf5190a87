"""``ExternalEngine``: an engine in any language, as an ordinary :class:`Engine`.

It starts the command once, shakes hands (protocol version, engine name, the transaction kinds it
supports, whether it reports traces) and then sends one request per block. One process serves
every block — spawning one per block would cost more than the checks. Whatever the engine does
wrong ends in one :class:`ExternalEngineError` that says what it did and where the transcript of
the exchange was saved; the engine is killed and every later call repeats that error, so a
verdict is never drawn from an engine that was not heard.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from txlanes.executor.result import BlockResult
from txlanes.models.context import Key
from txlanes.models.workload import Block, shown

from .process import EngineFailure, EngineProcess, Transcript
from .protocol import (
    ProtocolError,
    execute_request,
    hello_request,
    parse_hello,
    parse_result,
)

#: The longest engine name a transcript's file name spells out (file names stop at 255 bytes).
_SLUG_CHARS = 64


class ExternalEngineError(ValueError):
    """An external engine that could not be used: what it did, and the saved transcript."""


def transcript_name(engine: str) -> str:
    """``external-<engine>-transcript.jsonl``, safe as a file name whatever the engine calls
    itself: other characters than ``[A-Za-z0-9_.-]`` become ``_``, and a name longer than
    ``_SLUG_CHARS`` is cut and told apart from other such names by a hash of the whole."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", engine)
    if len(slug) > _SLUG_CHARS:
        digest = hashlib.sha256(engine.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        slug = f"{slug[:_SLUG_CHARS]}-{digest}"
    return f"external-{slug}-transcript.jsonl"


class ExternalEngine:
    """The engine a command runs, driven over the external-engine protocol."""

    def __init__(
        self,
        cmd: str | Sequence[str],
        *,
        timeout: float = 10.0,
        transcript_dir: Path = Path("reports"),
    ) -> None:
        self.argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if not self.argv:
            raise ExternalEngineError("the engine command is empty")
        self.command = shlex.join(self.argv)
        self.timeout = timeout
        self.name = Path(self.argv[0]).name  # until the engine names itself
        #: where the transcript goes: ``--reports`` as the registry hands it in
        self._transcript_dir = transcript_dir
        self._transcript = Transcript()
        self._requests = 0
        self._error: ExternalEngineError | None = None
        try:
            self._process = EngineProcess(self.argv, self._transcript)
        except EngineFailure as failure:
            raise self._fail(f": {failure}", save=False) from None
        weakref.finalize(self, self._process.close)
        try:
            hello = parse_hello(self._process.exchange(hello_request(), timeout))
        except (EngineFailure, ProtocolError) as err:
            raise self._fail(f", handshake: {err}") from None
        self.name = hello.engine
        self.capabilities = hello.kinds
        self.reports_traces = hello.traces

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        if self._error is not None:
            raise self._error
        unsupported = sorted({tx.KIND for tx in block.txs} - self.capabilities)
        if unsupported:  # txlanes' mistake, not the engine's: it declared what it runs
            raise ExternalEngineError(
                f"engine {self.name!r} does not support {', '.join(unsupported)} "
                f"(it declared {', '.join(sorted(self.capabilities))})"
            )
        self._requests += 1
        request = execute_request(self._requests, block, state)
        try:
            answer = self._process.exchange(request, self.timeout)
            return parse_result(answer, self._requests, len(block.txs), traces=self.reports_traces)
        except EngineFailure as failure:
            raise self._fail(f", block request {self._requests}: {failure}") from None
        except ProtocolError as err:
            what = f", block request {self._requests}: broke the protocol: {err}"
            raise self._fail(what) from None

    def close(self) -> None:
        """Close the engine's stdin, its cue to exit; kill it if it does not."""
        self._process.close()

    def __enter__(self) -> ExternalEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _fail(self, what: str, *, save: bool = True) -> ExternalEngineError:
        """The error for what the engine did; the process is killed and the transcript saved."""
        message = f"engine {shown(self.name, 80)} ({self.command}){what}"
        if save:
            self._process.kill()
            path = self._transcript_dir / transcript_name(self.name)
            try:
                message += f"; transcript: {self._transcript.save(path)}"
            except OSError as err:  # the engine's failure is the news, not the reports folder
                message += f"; the transcript could not be saved as {path}: {err.strerror or err}"
        self._error = ExternalEngineError(message)
        return self._error
