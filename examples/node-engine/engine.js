#!/usr/bin/env node
'use strict';
// A parallel engine for the ERC-20 subset of txlanes, speaking the external-engine protocol
// (docs/external-engine-protocol.md) on stdin/stdout.
//
// Per block: worker threads execute every transaction optimistically against the pre-state;
// then the main thread walks the block in order and commits each result whose reads no earlier
// transaction wrote, re-executing the others on the committed state. The result is exactly
// sequential execution, with traces.
//
//   node engine.js [--workers N] [--bug lost-update]
//
// --bug lost-update validates only the keys a transaction read but did not write, so a stale
// read-modify-write (two transfers from one account) commits and an update is lost.
const path = require('node:path');
const readline = require('node:readline');
const { Worker } = require('node:worker_threads');
const { KINDS, run } = require('./spec.js');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}
const WORKERS = Number(option('--workers', '2'));
const BUG = option('--bug', null);
if (BUG !== null && BUG !== 'lost-update') {
  process.stderr.write(`unknown --bug ${BUG} (known: lost-update)\n`);
  process.exit(2);
}

const workers = Array.from({ length: WORKERS }, () => new Worker(path.join(__dirname, 'worker.js')));
const ask = (worker, job) =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(job);
  });

const TX_FIELDS = ['sender', 'token', 'to', 'spender', 'owner', 'account', 'amount'];

function parseTx(obj) {
  const tx = { type: obj.type };
  for (const field of TX_FIELDS) if (field in obj) tx[field] = BigInt(obj[field]);
  return tx;
}

async function execute(request) {
  const { block } = request;
  const fee = block.fee ?? { token: 0, recipient: 0, amount: 0 };
  const env = {
    feeToken: BigInt(fee.token),
    feeRecipient: BigInt(fee.recipient),
    fee: BigInt(fee.amount),
  };
  const state = new Map(Object.entries(request.state).map(([k, v]) => [k, BigInt(v)]));
  const txs = block.txs.map(parseTx);

  const shares = workers.map(() => []);
  txs.forEach((tx, index) => shares[index % workers.length].push([index, tx]));
  const optimistic = [];
  const answers = await Promise.all(workers.map((w, i) => ask(w, { env, state, txs: shares[i] })));
  for (const results of answers) for (const r of results) optimistic[r.index] = r;

  const committed = new Map(); // key → {writer, value}
  const lookup = (key) => committed.get(key) ?? { value: state.get(key) ?? 0n, writer: -1 };
  const receipts = [];
  const traces = [];
  txs.forEach((tx, index) => {
    let result = optimistic[index];
    let incarnations = 1;
    const stale = [...result.reads.keys()].some(
      (key) => committed.has(key) && !(BUG === 'lost-update' && result.writes.has(key)),
    );
    if (stale) {
      result = run(tx, env, lookup);
      incarnations = 2;
    }
    for (const [key, value] of result.writes) committed.set(key, { writer: index, value });
    receipts.push({ ok: result.ok, reason: result.reason, events: result.events.map(strings) });
    traces.push({
      reads: Object.fromEntries(result.reads),
      writes: Object.fromEntries([...result.writes].map(([k, v]) => [k, String(v)])),
      incarnations,
    });
  });
  const writes = Object.fromEntries([...committed].map(([k, { value }]) => [k, String(value)]));
  const reexecuted = traces.filter((t) => t.incarnations > 1).length;
  return { type: 'result', id: request.id, writes, receipts, traces, stats: { reexecuted } };
}

const strings = (event) => event.map((field) => (typeof field === 'bigint' ? String(field) : field));
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function main() {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const request = JSON.parse(line);
    if (request.type === 'hello') {
      const capabilities = { kinds: KINDS, traces: true };
      send({ type: 'hello', version: 1, engine: 'node-lanes', capabilities });
    } else if (request.type === 'execute') {
      try {
        send(await execute(request));
      } catch (err) {
        send({ type: 'error', id: request.id, message: String(err && err.stack) });
      }
    }
  }
  await Promise.all(workers.map((w) => w.terminate())); // stdin closed: time to go
}

main();
