/**
 * Density benchmark: how much memory an idle sandbox takes, and so how many fit on a host.
 * Starts N one-node sandboxes in parallel through the Docker driver of an in-process Slipway
 * (instance `bench`), lets them settle, reads each node container's memory from the Docker
 * engine, and removes them all again. Talks only to the local engine and the containers it
 * creates; removes everything it created when it ends.
 *
 *   node bench/density.ts [--sandboxes N]
 */
import { docker } from '../tests/support/engine.ts';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { BenchError, instance, median, mib, parseCountOption, runBench, sortedCopy, timed, type BenchRun, type Table } from './support.ts';

const node = 'node1';
const settleMs = 10_000;

function parseSandboxes(argv: string[]): number {
  return parseCountOption(argv, {
    name: 'sandboxes',
    defaultValue: 10,
    min: 1,
    max: 200,
    usage: 'Usage: node bench/density.ts [--sandboxes N]   (sandboxes started at once, default 10)',
  });
}

// ---------------------------------------------------------------------------------------------
// Memory of one sandbox as the engine reports it

interface SandboxMemory {
  sessionId: string;
  /** memory_stats.usage: everything charged to the container's cgroup, page cache included. */
  usage: number;
  /** usage minus the page cache the kernel can drop. */
  idle: number;
  /** What was subtracted: `cache` (cgroup v1), `inactive_file` (v2) or nothing. */
  basis: 'cache' | 'inactive_file' | 'none';
}

async function sandboxMemory(sessionId: string): Promise<SandboxMemory> {
  const name = objectName(instance, sessionId, node);
  const stats = await docker.getContainer(name).stats({ stream: false });
  const usage = stats.memory_stats?.usage;
  if (typeof usage !== 'number') {
    throw new BenchError(`The engine reported no memory usage for ${name} (is the memory cgroup controller enabled?).`);
  }
  const detail = (stats.memory_stats.stats ?? {}) as Partial<Record<string, number>>;
  if (typeof detail.cache === 'number') return { sessionId, usage, idle: usage - detail.cache, basis: 'cache' };
  if (typeof detail.inactive_file === 'number') return { sessionId, usage, idle: usage - detail.inactive_file, basis: 'inactive_file' };
  return { sessionId, usage, idle: usage, basis: 'none' };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Results {
  sandboxes: number;
  startAllMs?: number;
  startEachMs: number[];
  memory: SandboxMemory[];
  freeBefore?: number;
  freeAfter?: number;
  stopAllMs?: number;
}

function tables(results: Results): Table[] {
  const out: Table[] = [];
  const m = (bytes: number) => mib(bytes).toFixed(1);
  if (results.memory.length > 0) {
    const idle = sortedCopy(results.memory.map((entry) => entry.idle));
    const usage = sortedCopy(results.memory.map((entry) => entry.usage));
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    const basis = results.memory[0]!.basis;
    const subtracted = basis === 'cache' ? 'memory_stats.stats.cache (cgroup v1)' : basis === 'inactive_file' ? 'inactive_file (cgroup v2)' : 'nothing (no page-cache figure reported)';
    out.push({
      title: `Idle memory per sandbox, ${settleMs / 1000} s after start`,
      note: `MiB, from the engine's container stats; idle = usage minus ${subtracted}.`,
      header: ['metric', 'sandboxes', 'min', 'median', 'max', 'total'],
      markdownHeader: ['metric', 'sandboxes', 'min (MiB)', 'median (MiB)', 'max (MiB)', 'total (MiB)'],
      rows: [
        ['idle memory (usage - page cache)', String(idle.length), m(idle[0]!), m(median(idle)), m(idle[idle.length - 1]!), m(sum(idle))],
        ['usage incl. page cache', String(usage.length), m(usage[0]!), m(median(usage)), m(usage[usage.length - 1]!), m(sum(usage))],
      ],
    });
  }
  const rows: string[][] = [];
  if (results.startAllMs !== undefined) rows.push([`start ${results.sandboxes} sandboxes in parallel, wall clock (s)`, (results.startAllMs / 1000).toFixed(2)]);
  if (results.startEachMs.length > 0) {
    const each = sortedCopy(results.startEachMs);
    rows.push([
      'start of one sandbox within that, min / median / max (s)',
      [each[0]!, median(each), each[each.length - 1]!].map((ms) => (ms / 1000).toFixed(2)).join(' / '),
    ]);
  }
  if (results.memory.length > 0) {
    const idle = sortedCopy(results.memory.map((entry) => entry.idle));
    rows.push(['sandboxes per GiB (1024 / median idle MiB)', (1024 / mib(median(idle))).toFixed(1)]);
  }
  if (results.freeBefore !== undefined) rows.push(['host free memory before start (MiB, os.freemem)', m(results.freeBefore)]);
  if (results.freeAfter !== undefined) rows.push(['host free memory after settling (MiB, os.freemem)', m(results.freeAfter)]);
  if (results.freeBefore !== undefined && results.freeAfter !== undefined) {
    const used = results.freeBefore - results.freeAfter;
    rows.push([`host memory taken, total / per sandbox (MiB)`, `${m(used)} / ${m(used / results.sandboxes)}`]);
  }
  if (results.stopAllMs !== undefined) rows.push([`stop ${results.sandboxes} sandboxes in parallel, wall clock (s)`, (results.stopAllMs / 1000).toFixed(2)]);
  if (rows.length > 0) out.push({ title: 'Start-up, capacity and host view', header: ['metric', 'value'], rows });
  return out;
}

// ---------------------------------------------------------------------------------------------

const results: Results = { sandboxes: 0, startEachMs: [], memory: [] };

// Ctrl-C: sandbox starts in flight finish (the engine calls cannot be taken back), then
// everything is removed as after a failure.
async function body(bench: BenchRun, count: number): Promise<void> {
  const { slipway, active, interrupts } = bench;
  const checkpoint = interrupts.checkpoint;
  results.sandboxes = count;
  console.log(`Slipway is up (start-up took ${Math.round(bench.startupMs)} ms). ${count} sandbox(es).`);
  const driver = slipway.runtime.driver;

  results.freeBefore = os.freemem();
  process.stdout.write(`Starting ${count} sandboxes in parallel… `);
  const sessionIds = Array.from({ length: count }, () => randomBytes(6).toString('hex'));
  for (const sessionId of sessionIds) active.add(sessionId);
  const all = await timed(() =>
    Promise.allSettled(
      sessionIds.map(async (sessionId) => {
        const one = await timed(() => driver.start({ sessionId, learnerId: `bench-${sessionId}`, nodes: [node] }, () => undefined));
        results.startEachMs.push(one.ms);
      }),
    ),
  );
  const refused = all.value.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
  if (refused.length > 0) {
    const first = refused[0];
    const reason = first instanceof Error ? `${first.message}${first.cause instanceof Error ? ` (${first.cause.message})` : ''}` : String(first);
    throw new BenchError(`${refused.length} of ${count} sandboxes did not start; the first said: ${reason}`);
  }
  results.startAllMs = all.ms;
  console.log(`done in ${(all.ms / 1000).toFixed(2)} s`);
  checkpoint();

  process.stdout.write(`Letting them settle for ${settleMs / 1000} s… `);
  await interrupts.sleep(settleMs);
  checkpoint();
  results.freeAfter = os.freemem();
  results.memory = await Promise.all(sessionIds.map((sessionId) => sandboxMemory(sessionId)));
  console.log('measured');

  process.stdout.write(`Stopping ${count} sandboxes in parallel… `);
  const stopped = await timed(() => Promise.all(sessionIds.map((sessionId) => driver.stop(sessionId))));
  for (const sessionId of sessionIds) active.delete(sessionId);
  results.stopAllMs = stopped.ms;
  console.log('done');
}

runBench({ options: parseSandboxes, body, report: () => tables(results) });
