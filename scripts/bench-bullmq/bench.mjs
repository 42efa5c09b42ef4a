#!/usr/bin/env node
// Peer benchmark: BullMQ delayed jobs as Replyline's per-conversation
// "no-reply" timers, on Redis with `appendfsync always`.
//
// Workload: every message cancels its conversation's pending no-reply timer
// and arms a new one `--delay-ms` later. One such cancel + re-arm is an
// "operation". Conversations are picked round robin.
//
// Modes
//   open loop (default): operation i is scheduled at start + i/rate, whether or
//     not earlier ones have finished; at most --producers are in flight.
//   --max: closed loop, --producers operations always in flight, as fast as
//     the peer goes, for --seconds. Reports the throughput ceiling.
//
// A BullMQ Worker in this same process fires the timers (so the node CPU
// figure covers both producer and worker, and both sides share one clock).
//
// Prints exactly one line of JSON on stdout; progress notes go to stderr.
// See README.md in this folder for what every field means.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';

const require = createRequire(import.meta.url);
const BULLMQ_VERSION = require('bullmq/package.json').version;

// ---------------------------------------------------------------- options

const DEFAULTS = {
  rate: 1000, // operations per second offered (open loop)
  seconds: 10, // length of the producer phase
  conversations: 10000, // distinct conversations, picked round robin
  'delay-ms': 5000, // the no-reply timer
  concurrency: 64, // Worker concurrency
  producers: 64, // max operations in flight in the producer
  'drain-margin-ms': 3000, // wait this long past the last due time
  host: '127.0.0.1',
  port: 6379,
  max: false, // closed loop, as fast as possible
};

function usage() {
  return `usage: node bench.mjs [--max] ${Object.entries(DEFAULTS)
    .filter(([k]) => k !== 'max')
    .map(([k, v]) => `[--${k} ${v}]`)
    .join(' ')}`;
}

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stderr.write(usage() + '\n');
      process.exit(0);
    }
    if (arg === '--max') {
      opts.max = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in DEFAULTS)) throw new Error(`unknown argument ${arg}\n${usage()}`);
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) throw new Error(`--${m[1]} needs a value`);
    if (m[1] === 'host') {
      opts.host = raw;
      continue;
    }
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${m[1]} must be a positive number`);
    opts[m[1]] = n;
  }
  for (const k of ['conversations', 'concurrency', 'producers', 'port']) {
    opts[k] = Math.floor(opts[k]);
  }
  return opts;
}

// ---------------------------------------------------------------- helpers

// One clock for everything: epoch milliseconds with sub-millisecond
// resolution, monotonic (performance.now() never steps back). BullMQ itself
// uses Date.now() for job timestamps; over a run of seconds the two agree to
// well under a millisecond.
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// Nearest-rank percentile of an ascending array.
function pct(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[idx]);
}
const round = (x, digits = 3) => (x === null ? null : Number(x.toFixed(digits)));
const ascending = (arr) => Float64Array.from(arr).sort();

function summary(values, withMax = false) {
  const s = ascending(values);
  const out = { n: s.length, p50: pct(s, 50), p99: pct(s, 99), p999: pct(s, 99.9) };
  if (withMax) out.max = s.length ? round(s[s.length - 1]) : null;
  return out;
}

function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function redisCpuSeconds(admin) {
  const info = parseInfo(await admin.info('cpu'));
  return Number(info.used_cpu_sys) + Number(info.used_cpu_user);
}

// ---------------------------------------------------------------- Redis persistence

// Switches Redis to AOF with fsync on every write and returns a function that
// puts the original values back (idempotent, safe to call from any exit path).
async function forceFsyncAlways(admin) {
  const [, origAppendonly] = await admin.config('GET', 'appendonly');
  const [, origAppendfsync] = await admin.config('GET', 'appendfsync');
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await admin.config('SET', 'appendfsync', origAppendfsync);
    await admin.config('SET', 'appendonly', origAppendonly);
    process.stderr.write(
      `bench-bullmq: restored appendonly=${origAppendonly} appendfsync=${origAppendfsync}\n`,
    );
  };
  try {
    await admin.config('SET', 'appendonly', 'yes');
    await admin.config('SET', 'appendfsync', 'always');
    // Turning AOF on at run time makes Redis write a base file with a
    // background rewrite first; wait for it so it does not overlap the run.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const p = parseInfo(await admin.info('persistence'));
      if (
        p.aof_enabled === '1' &&
        p.aof_rewrite_in_progress === '0' &&
        p.aof_rewrite_scheduled === '0'
      ) {
        break;
      }
      if (Date.now() > deadline) throw new Error('AOF did not become active within 60 s');
      await sleep(50);
    }
    const [, fsync] = await admin.config('GET', 'appendfsync');
    if (fsync !== 'always') throw new Error(`appendfsync is ${fsync}, expected always`);
  } catch (err) {
    await restore();
    throw err;
  }
  return { restore, origAppendonly, origAppendfsync };
}

// ---------------------------------------------------------------- the benchmark

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const delayMs = opts['delay-ms'];
  const connection = { host: opts.host, port: opts.port };

  // Plain connection for CONFIG/INFO; BullMQ opens its own connections.
  const admin = new IORedis({ ...connection, maxRetriesPerRequest: 3, lazyConnect: true });
  await admin.connect();
  const redisVersion = parseInfo(await admin.info('server')).redis_version;

  const queueName = `replyline-bench-${randomBytes(4).toString('hex')}`;
  let queue = null;
  let worker = null;
  let persistence = null;

  // Cleanup runs once, on success, on error and on SIGINT/SIGTERM.
  let cleaning = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      const step = async (what, fn) => {
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`bench-bullmq: cleanup ${what} failed: ${err.message}\n`);
        }
      };
      if (worker) await step('worker.close', () => worker.close());
      if (queue) await step('obliterate', () => queue.obliterate({ force: true }));
      if (queue) await step('queue.close', () => queue.close());
      if (persistence) await step('restore config', persistence.restore);
      await step('admin.quit', () => admin.quit());
    })());
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      process.stderr.write(`bench-bullmq: ${sig}, cleaning up\n`);
      cleanup().finally(() => process.exit(130));
    });
  }

  try {
    persistence = await forceFsyncAlways(admin);
    queue = new Queue(queueName, { connection });
    await queue.waitUntilReady();

    // ---- per-operation records (index = operation number)
    const armAt = []; // the instant the op counts from: scheduled (open) or started (closed)
    const armLatency = []; // armAt -> add() resolved, ms
    const opJobId = []; // the jobId this op armed
    const cancelledAt = new Map(); // jobId -> instant its remove() resolved with 1
    const cancelRefused = new Set(); // jobIds whose remove() returned 0 (job active = firing)
    const fired = new Map(); // jobId -> { at, lateness, fireLag }
    let duplicateFires = 0;

    // ---- per-conversation state
    const generation = new Uint32Array(opts.conversations);
    const currentJob = new Array(opts.conversations).fill(null); // jobId of the armed timer
    const lastOp = new Int32Array(opts.conversations).fill(-1); // op that armed it
    const nextOpOf = []; // op -> next op on the same conversation (-1 if none)
    // Ops on one conversation run strictly one after another (a cancel must not
    // overtake the add it cancels). With conversations >= producers this never
    // makes anything wait.
    const convTail = new Array(opts.conversations).fill(null);

    // ---- the worker: fires the timers
    worker = new Worker(
      queueName,
      async (job) => {
        const at = nowMs();
        if (fired.has(job.id)) {
          duplicateFires++;
          return;
        }
        fired.set(job.id, {
          at,
          // vs the intended due time: scheduled op instant + delay (includes arm latency)
          lateness: at - job.data.due,
          // vs BullMQ's own due time: job.timestamp (set by add()) + delay
          fireLag: at - (job.timestamp + job.opts.delay),
        });
      },
      { connection, concurrency: opts.concurrency },
    );
    worker.on('error', (err) => process.stderr.write(`bench-bullmq: worker error: ${err.message}\n`));
    await worker.waitUntilReady();

    // One cancel + re-arm. `t0` is the instant the op's latency counts from.
    const runOp = async (i, t0) => {
      const c = i % opts.conversations;
      const prevOp = lastOp[c];
      if (prevOp >= 0) nextOpOf[prevOp] = i;
      lastOp[c] = i;
      nextOpOf[i] = -1;
      armAt[i] = t0;
      const newId = `c-${c}-${++generation[c]}`;
      opJobId[i] = newId;

      const prev = convTail[c];
      const mine = (async () => {
        if (prev) await prev.catch(() => {}); // a failed earlier op must not fail this one
        const oldId = currentJob[c];
        if (oldId !== null) {
          // 1: removed (or already gone), 0: job is active, i.e. already firing.
          const code = await queue.remove(oldId);
          if (code === 1) cancelledAt.set(oldId, nowMs());
          else cancelRefused.add(oldId);
        }
        await queue.add(
          'no_reply',
          { c, due: t0 + delayMs },
          { jobId: newId, delay: delayMs, removeOnComplete: true, removeOnFail: true },
        );
        currentJob[c] = newId;
        armLatency[i] = nowMs() - t0;
      })();
      convTail[c] = mine;
      await mine;
      if (convTail[c] === mine) convTail[c] = null;
    };

    const cpu0 = process.cpuUsage();
    const redisCpu0 = await redisCpuSeconds(admin);
    const start = nowMs();
    let lateStarts = 0;
    let opsDone = 0;
    let producerEnd;

    if (!opts.max) {
      // ---- open loop: op i is due at start + i*1000/rate
      const total = Math.floor(opts.rate * opts.seconds);
      const interval = 1000 / opts.rate;
      let inFlight = 0;
      let wake = null; // resolves when a slot frees up
      const slotFreed = () => new Promise((r) => (wake = r));
      for (let i = 0; i < total; i++) {
        const scheduled = start + i * interval;
        const wait = scheduled - nowMs();
        if (wait > 0) await sleep(wait);
        // Late start: the op's instant came but all --producers slots were busy.
        // Its latency still counts from `scheduled` (no coordinated omission).
        if (inFlight >= opts.producers) {
          lateStarts++;
          while (inFlight >= opts.producers) await slotFreed();
        }
        inFlight++;
        runOp(i, scheduled)
          .catch((err) => process.stderr.write(`bench-bullmq: op ${i} failed: ${err.message}\n`))
          .finally(() => {
            inFlight--;
            opsDone++;
            if (wake) {
              const w = wake;
              wake = null;
              w();
            }
          });
      }
      while (inFlight > 0) await new Promise((r) => (wake = r));
      producerEnd = nowMs();
    } else {
      // ---- closed loop: --producers loops, each one op after another
      const stopAt = start + opts.seconds * 1000;
      let next = 0;
      const loop = async () => {
        while (nowMs() < stopAt) {
          const i = next++;
          await runOp(i, nowMs());
          opsDone++;
        }
      };
      await Promise.all(Array.from({ length: opts.producers }, loop));
      producerEnd = nowMs();
    }
    const producerSeconds = (producerEnd - start) / 1000;
    const opsArmed = armLatency.filter((x) => x !== undefined).length;

    // ---- expected fires, from the arm instants alone (the ideal system):
    // an armed timer fires unless its conversation's next op comes before it
    // is due. The last arm of every conversation is never cancelled.
    let expectedFired = 0;
    let lastDue = start;
    const survivors = []; // jobIds that nothing ever cancelled
    for (let i = 0; i < armAt.length; i++) {
      if (armLatency[i] === undefined) continue; // op failed
      const n = nextOpOf[i];
      if (n === -1 || armAt[n] >= armAt[i] + delayMs) expectedFired++;
      if (n === -1) {
        survivors.push(opJobId[i]);
        lastDue = Math.max(lastDue, armAt[i] + delayMs);
      }
    }
    const touched = survivors.length;

    // ---- drain: wait until every uncancelled timer fired, or last due + margin
    const drainDeadline = lastDue + opts['drain-margin-ms'];
    while (nowMs() < drainDeadline && !survivors.every((id) => fired.has(id))) await sleep(50);
    const end = nowMs();

    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await redisCpuSeconds(admin)) - redisCpu0;

    // ---- correctness checks from what actually happened
    const lostTimers = survivors.filter((id) => !fired.has(id)).length;
    let firedAfterCancel = 0; // fired although its remove() had already succeeded
    for (const [id, f] of fired) {
      const cancelled = cancelledAt.get(id);
      if (cancelled !== undefined && f.at > cancelled) firedAfterCancel++;
    }

    const fires = [...fired.values()];
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const result = {
      peer: 'bullmq',
      bullmq_version: BULLMQ_VERSION,
      redis_version: redisVersion,
      node_version: process.versions.node,
      appendonly: 'yes',
      appendfsync: 'always',
      mode: opts.max ? 'max (closed loop)' : 'open loop',
      worker: 'same process',
      queue: queueName,
      rate_offered: opts.max ? null : opts.rate,
      seconds: opts.seconds,
      conversations: opts.conversations,
      delay_ms: delayMs,
      concurrency: opts.concurrency,
      producers: opts.producers,
      ops_done: opsArmed,
      ops_failed: opsDone - opsArmed,
      producer_seconds: round(producerSeconds),
      ops_per_second: round(opsArmed / producerSeconds, 1),
      late_starts: opts.max ? null : lateStarts,
      arm_ms: summary(armLatency.filter((x) => x !== undefined), true),
      fired: fired.size,
      expected_fired: expectedFired,
      conversations_touched: touched,
      lost_timers: lostTimers,
      fired_after_cancel: firedAfterCancel,
      cancel_hit_active_job: cancelRefused.size,
      duplicate_fires: duplicateFires,
      lateness_ms: summary(fires.map((f) => f.lateness), true),
      fire_lag_ms: summary(fires.map((f) => f.fireLag), true),
      wall_seconds: round((end - start) / 1000),
      cpu_seconds_per_1000_ops: round((cpuSeconds / opsArmed) * 1000, 4),
      cpu_scope: 'node process (producer + worker); Redis CPU is not included',
      redis_cpu_seconds_per_1000_ops: round((redisCpu / opsArmed) * 1000, 4),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench-bullmq: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
