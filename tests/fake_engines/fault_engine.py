"""A correct protocol-speaking engine (the sequential reference) with one fault, for
tests/test_engine_faults.py.

``fault_engine.py [--name NAME] [--pad-name N] MODE [ARG]`` (the engine names itself N times
``x`` then NAME, so a long name need not be on the command line) where MODE is:

- ``pad BYTES``: every answer carries an unknown field of BYTES characters (a huge answer);
- ``splice TEXT``: the first write's value in the answer is replaced by TEXT, raw — argv's bytes
  as given, so a malformed number, NaN, deep nesting or bytes that are not UTF-8;
- ``crash``: exits 3 at the first block request (to make txlanes save a transcript);
- ``spawn FILE``: starts a helper in its process group and one in a session of its own (stdio
  on /dev/null, so nothing but its parent ties it to the engine), writes their pids to FILE,
  then serves blocks and exits when its stdin closes, leaving the helpers behind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from txlanes.executor.result import block_result_to_json
from txlanes.executor.sequential import SequentialEngine
from txlanes.models.tx import TX_TYPES
from txlanes.models.workload import block_from_json, state_from_json

_SPLICED = '"@splice@"'
_SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def spawn_helpers(pid_file: Path) -> None:
    grouped = subprocess.Popen(_SLEEPER)
    escaped = subprocess.Popen(
        _SLEEPER,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid_file.write_text(f"{grouped.pid}\n{escaped.pid}\n")


def answer(request: dict[str, object], mode: str, arg: str) -> bytes:
    engine = SequentialEngine()
    block = block_from_json(request["block"], "block")
    result = engine.execute(block, state_from_json(request["state"]))
    message = {"type": "result", "id": request["id"], **block_result_to_json(result)}
    if mode == "pad":
        message["padding"] = "x" * int(arg)
    if mode == "splice":
        writes = message["writes"]
        writes[next(iter(writes), "erc20.bal:1:1")] = _SPLICED[1:-1]
        text = json.dumps(message).encode()
        return text.replace(_SPLICED.encode(), os.fsencode(arg), 1)
    return json.dumps(message).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="fault")
    parser.add_argument("--pad-name", type=int, default=0)
    parser.add_argument("mode", choices=["pad", "splice", "crash", "spawn"])
    parser.add_argument("arg", nargs="?", default="")
    args = parser.parse_args()
    if args.mode == "spawn":
        spawn_helpers(Path(args.arg))
    out = sys.stdout.buffer
    for line in sys.stdin:
        request = json.loads(line)
        if request["type"] == "hello":
            caps = {"kinds": sorted(TX_TYPES), "traces": False}
            hello = {
                "type": "hello",
                "version": 1,
                "engine": "x" * args.pad_name + args.name,
                "capabilities": caps,
            }
            out.write(json.dumps(hello).encode() + b"\n")
        elif args.mode == "crash":
            sys.exit(3)
        else:
            out.write(answer(request, args.mode, args.arg) + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
