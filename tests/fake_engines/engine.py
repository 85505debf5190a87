"""A protocol-speaking engine in Python (the sequential reference) that misbehaves on demand.

``engine.py [--kinds K,K] [--no-traces] [--mode MODE]`` where MODE is what it does at its first
block request: ``good`` (answers correctly), ``crash`` (exits 3 after a word on stderr), ``hang``
(never answers), ``garbage`` (a line that is not JSON), ``missing-ok`` (a receipt without
``ok``), ``wrong-block`` (answers another request id); ``old-version`` answers the handshake
with protocol version 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from txlanes.executor.result import block_result_to_json
from txlanes.executor.sequential import SequentialEngine
from txlanes.models.tx import TX_TYPES
from txlanes.models.workload import block_from_json, key_to_str, state_from_json, state_to_json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="good")
    parser.add_argument("--kinds", default=",".join(sorted(TX_TYPES)))
    parser.add_argument("--no-traces", action="store_true")
    args = parser.parse_args()
    engine = SequentialEngine()
    for line in sys.stdin:
        request = json.loads(line)
        if request["type"] == "hello":
            version = 0 if args.mode == "old-version" else 1
            caps = {"kinds": args.kinds.split(","), "traces": not args.no_traces}
            answer = {"type": "hello", "version": version, "engine": "fake", "capabilities": caps}
            print(json.dumps(answer), flush=True)
            continue
        if args.mode == "crash":
            print("fake: out of cheese", file=sys.stderr, flush=True)
            sys.exit(3)
        if args.mode == "hang":
            time.sleep(3600)
        if args.mode == "garbage":
            print("thread 'main' panicked at src/lib.rs:1", flush=True)
            continue
        result = engine.execute(
            block_from_json(request["block"], "block"), state_from_json(request["state"])
        )
        answer = {"type": "result", "id": request["id"], **block_result_to_json(result)}
        if not args.no_traces:
            answer["traces"] = [
                {
                    "reads": {key_to_str(k): w for k, w in t.reads.items()},
                    "writes": state_to_json(t.writes, keep_zero=True),
                }
                for t in result.traces
            ]
        if args.mode == "missing-ok" and answer["receipts"]:
            del answer["receipts"][0]["ok"]
        if args.mode == "wrong-block":
            answer["id"] -= 1
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
