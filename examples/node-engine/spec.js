'use strict';
// The ERC-20 subset of the txlanes spec (models/erc20.py, models/spec.py), with the same revert
// reasons, events and — since txlanes compares traces — the same reads in the same order.
// uint256 values are BigInts; keys are the workload format's strings ("erc20.bal:1000:7").

const MAX_UINT256 = (1n << 256n) - 1n;

class Revert extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

function require(condition, reason) {
  if (!condition) throw new Revert(reason);
}

const bal = (token, account) => `erc20.bal:${token}:${account}`;
const allowance = (token, owner, spender) => `erc20.allowance:${token}:${owner}:${spender}`;
const supply = (token) => `erc20.supply:${token}`;

function move(ctx, token, from, to, amount) {
  require(from !== 0n, 'ERC20: transfer from the zero address');
  require(to !== 0n, 'ERC20: transfer to the zero address');
  const fromBalance = ctx.read(bal(token, from));
  require(fromBalance >= amount, 'ERC20: transfer amount exceeds balance');
  ctx.write(bal(token, from), fromBalance - amount);
  ctx.write(bal(token, to), ctx.read(bal(token, to)) + amount); // after the debit: self-transfers
  ctx.emit(['Transfer', token, from, to, amount]);
}

function approve(ctx, token, owner, spender, amount) {
  require(owner !== 0n, 'ERC20: approve from the zero address');
  require(spender !== 0n, 'ERC20: approve to the zero address');
  ctx.write(allowance(token, owner, spender), amount);
  ctx.emit(['Approval', token, owner, spender, amount]);
}

function onlyAdmin(ctx, token, caller) {
  const admin = ctx.read(`erc20.admin:${token}`);
  require(admin !== 0n, 'ERC20: token has no admin');
  require(admin === caller, 'ERC20: caller is not the token admin');
}

const SPEC = {
  'erc20.transfer': (tx, ctx) => move(ctx, tx.token, tx.sender, tx.to, tx.amount),
  'erc20.approve': (tx, ctx) => approve(ctx, tx.token, tx.sender, tx.spender, tx.amount),
  'erc20.transfer_from': (tx, ctx) => {
    const current = ctx.read(allowance(tx.token, tx.owner, tx.sender));
    if (current !== MAX_UINT256) {
      require(current >= tx.amount, 'ERC20: insufficient allowance');
      approve(ctx, tx.token, tx.owner, tx.sender, current - tx.amount);
    }
    move(ctx, tx.token, tx.owner, tx.to, tx.amount);
  },
  'erc20.mint': (tx, ctx) => {
    onlyAdmin(ctx, tx.token, tx.sender);
    require(tx.to !== 0n, 'ERC20: mint to the zero address');
    const total = ctx.read(supply(tx.token)) + tx.amount;
    require(total <= MAX_UINT256, 'arithmetic overflow');
    ctx.write(supply(tx.token), total);
    ctx.write(bal(tx.token, tx.to), ctx.read(bal(tx.token, tx.to)) + tx.amount);
    ctx.emit(['Transfer', tx.token, 0n, tx.to, tx.amount]);
  },
  'erc20.burn': (tx, ctx) => {
    onlyAdmin(ctx, tx.token, tx.sender);
    require(tx.account !== 0n, 'ERC20: burn from the zero address');
    const balance = ctx.read(bal(tx.token, tx.account));
    require(balance >= tx.amount, 'ERC20: burn amount exceeds balance');
    ctx.write(bal(tx.token, tx.account), balance - tx.amount);
    ctx.write(supply(tx.token), ctx.read(supply(tx.token)) - tx.amount);
    ctx.emit(['Transfer', tx.token, tx.account, 0n, tx.amount]);
  },
};

// Run one transaction: the block fee first, then its kind's rule. `lookup(key)` gives
// {value, writer} for a key the transaction has not written itself. A revert keeps the reads
// (they are what the transaction depended on) and drops writes and events.
function run(tx, env, lookup) {
  const reads = new Map();
  const writes = new Map();
  const events = [];
  const ctx = {
    read(key) {
      if (writes.has(key)) return writes.get(key);
      const { value, writer } = lookup(key);
      reads.set(key, writer);
      return value;
    },
    write(key, value) {
      writes.set(key, value);
    },
    emit(event) {
      events.push(event);
    },
  };
  try {
    if (env.fee !== 0n) move(ctx, env.feeToken, tx.sender, env.feeRecipient, env.fee);
    SPEC[tx.type](tx, ctx);
  } catch (err) {
    if (!(err instanceof Revert)) throw err;
    return { ok: false, reason: err.reason, events: [], reads, writes: new Map() };
  }
  return { ok: true, reason: null, events, reads, writes };
}

module.exports = { KINDS: Object.keys(SPEC), run };
