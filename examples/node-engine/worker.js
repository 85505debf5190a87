'use strict';
// An execution worker: runs its share of a block optimistically, every transaction against the
// block's pre-state as if it came first; the main thread validates and commits in block order.
const { parentPort } = require('node:worker_threads');
const { run } = require('./spec.js');

parentPort.on('message', ({ env, state, txs }) => {
  const lookup = (key) => ({ value: state.get(key) ?? 0n, writer: -1 });
  parentPort.postMessage(txs.map(([index, tx]) => ({ index, ...run(tx, env, lookup) })));
});
