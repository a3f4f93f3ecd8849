/**
 * Churn benchmark: sandboxes created and destroyed over and over must leave nothing behind.
 * Runs N cycles (a few at a time) of a learner's one-node sandbox started through the Docker
 * driver of an in-process Slipway (instance `bench`), as the server starts it (session network
 * on a subnet of the pool, shared services joined, node volume, node-user slot), until Docker
 * inside the node answers, and then stopped. Afterwards it looks for anything of the run left
 * in the engine or on the host and compares the engine's, the host's and the server's figures
 * before and after; it fails if anything was left. Talks only to the local engine and the
 * containers it creates; removes everything it created when it ends.
 *
 *   node bench/churn.ts [--cycles N] [--concurrency N]
 */
import { docker } from '../tests/support/engine.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Slipway } from '../server/main.ts';
import { labelKeys, objectName } from '../server/sandbox/docker/labels.ts';
import { findLeftovers, readFigures, type Figures, type Leftover, type RunTrace } from './churn-checks.ts';
import { BenchError, instance, median, mib, parseCountOptions, percentile, runBench, sortedCopy, timed, type BenchRun, type Table } from './support.ts';

const node = 'node1';
/** A pool of the run's own: nothing else on the engine takes its subnets, so any network in it is the run's. */
const pool = '10.219.0.0/20';
/** Figures read again every this many cycles, to show a trend rather than two points. */
const sampleEvery = 100;
/** The run stops after this many failed cycles (a failed start is removed by the driver itself). */
const maxFailures = 10;
/** The engine's data directory may grow this much before and after (others on the engine build and run too). */
const diskMarginBytes = 512 * 2 ** 20;

interface Options {
  cycles: number;
  concurrency: number;
}

function parseOptions(argv: string[]): Options {
  const counts = parseCountOptions(
    argv,
    [
      { name: 'cycles', defaultValue: 1000, min: 1, max: 100_000 },
      { name: 'concurrency', defaultValue: 4, min: 1, max: 32 },
    ],
    'Usage: node bench/churn.ts [--cycles N] [--concurrency N]   (create/destroy cycles, default 1000; cycles at once, default 4)',
  );
  return { cycles: counts.cycles!, concurrency: counts.concurrency! };
}

// ---------------------------------------------------------------------------------------------
// Results

interface Results {
  options?: Options;
  done: number;
  failures: string[];
  wallMs?: number;
  startMs: number[];
  stopMs: number[];
  /** Server heap after a full collection, and engine goroutines, every `sampleEvery` cycles. */
  samples: { cycles: number; heapUsed: number; goroutines: number | undefined }[];
  before?: Figures;
  after?: Figures;
  leftovers: Leftover[];
}

const results: Results = { done: 0, failures: [], startMs: [], stopMs: [], samples: [], leftovers: [] };

function tables(): Table[] {
  const out: Table[] = [];
  const { options } = results;
  if (options && results.wallMs !== undefined) {
    const minutes = results.wallMs / 60_000;
    out.push({
      title: 'Cycles',
      header: ['metric', 'value'],
      rows: [
        ['cycles done / failed', `${results.done} / ${results.failures.length}`],
        ['concurrency (cycles at once)', String(options.concurrency)],
        ['wall clock (min)', minutes.toFixed(1)],
        ['cycles per minute', (results.done / minutes).toFixed(1)],
      ],
    });
  }
  const timeRow = (metric: string, values: number[]) => {
    const sorted = sortedCopy(values);
    const ms = (value: number) => String(Math.round(value));
    return [metric, String(sorted.length), ms(sorted[0]!), ms(median(sorted)), ms(percentile(sorted, 95)), ms(percentile(sorted, 99)), ms(sorted[sorted.length - 1]!)];
  };
  const times: string[][] = [];
  if (results.startMs.length > 0) times.push(timeRow('create to ready (driver.start until Docker in the node answers)', results.startMs));
  if (results.stopMs.length > 0) times.push(timeRow('destroy (driver.stop)', results.stopMs));
  if (times.length > 0) {
    out.push({
      title: 'Times of one cycle',
      note: 'Milliseconds; p95 and p99 nearest rank.',
      header: ['metric', 'n', 'min', 'p50', 'p95', 'p99', 'max'],
      markdownHeader: ['metric', 'n', 'min (ms)', 'p50 (ms)', 'p95 (ms)', 'p99 (ms)', 'max (ms)'],
      rows: times,
    });
  }
  if (results.leftovers.length > 0) {
    out.push({
      title: 'Left behind (each must be 0)',
      header: ['what', 'count', 'first found'],
      rows: results.leftovers.map(({ what, found }) => [what, String(found.length), found.slice(0, 3).join(', ')]),
    });
  }
  const { before, after } = results;
  if (before && after) {
    const row = (metric: string, pick: (figures: Figures) => number | undefined, format: (value: number) => string) => {
      const a = pick(before);
      const b = pick(after);
      const show = (value: number | undefined) => (value === undefined ? 'n/a' : format(value));
      const difference = a === undefined || b === undefined ? undefined : format(b - a);
      const change = difference === undefined ? '' : Number(difference) === 0 ? format(0) : `${Number(difference) > 0 ? '+' : ''}${difference}`;
      return [metric, show(a), show(b), change];
    };
    const count = (value: number) => String(value);
    const m = (bytes: number) => mib(bytes).toFixed(1);
    out.push({
      title: 'Before and after the cycles',
      note: 'The engine and the host are shared: their figures include other work running on them.',
      header: ['figure', 'before', 'after', 'change'],
      rows: [
        row("host free disk, engine's filesystem (MiB)", (f) => f.freeDisk, m),
        row("engine's data directory, du (MiB)", (f) => f.engineData, m),
        row('engine network store, local-kv.db (KiB)', (f) => f.networkStore, (bytes) => (bytes / 1024).toFixed(0)),
        row('engine: containers (all, /info)', (f) => f.engineContainers, count),
        row('engine: goroutines (/info NGoroutines)', (f) => f.engineGoroutines, count),
        row('engine: open files (/info NFd)', (f) => f.engineFds, count),
        row('engine: event listeners (/info)', (f) => f.engineEventListeners, count),
        row('dockerd RSS (MiB)', (f) => f.dockerdRss, m),
        row('volumes no container uses (all, labelled or not)', (f) => f.danglingVolumes, count),
        row('node-user slots held (all instances)', (f) => f.slotsHeld, count),
        row('host veth interfaces (all)', (f) => f.veths, count),
        row('server heap used after GC (MiB)', (f) => f.heapUsed, m),
        row('server RSS (MiB)', (f) => f.rss, m),
        row('server active handles (sockets, timers)', (f) => f.activeResources, count),
      ],
    });
  }
  if (results.samples.length > 1) {
    out.push({
      title: `Every ${sampleEvery} cycles`,
      header: ['cycles', 'server heap after GC (MiB)', 'engine goroutines'],
      rows: results.samples.map((sample) => [String(sample.cycles), mib(sample.heapUsed).toFixed(1), String(sample.goroutines ?? 'n/a')]),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cycles

/** One learner's sandbox: started until its engine answers, what it got noted, then stopped. */
async function cycle(slipway: Slipway, bench: BenchRun, trace: RunTrace, dataRoot: string | undefined): Promise<void> {
  const driver = slipway.runtime.driver;
  const sessionId = randomBytes(6).toString('hex');
  trace.sessionIds.add(sessionId);
  bench.active.add(sessionId);
  try {
    const start = await timed(() => driver.start({ sessionId, learnerId: `bench-${sessionId}`, nodes: [node] }, () => undefined));
    results.startMs.push(start.ms);
    // Untimed: which subnet and slot the sandbox got, for the checks afterwards.
    const [network, container] = await Promise.all([
      docker.getNetwork(objectName(instance, sessionId)).inspect() as Promise<{ IPAM?: { Config?: { Subnet?: string }[] } }>,
      docker.getContainer(objectName(instance, sessionId, node)).inspect(),
    ]);
    const subnet = network.IPAM?.Config?.[0]?.Subnet;
    if (subnet) trace.subnets.add(subnet);
    const slot = Number(container.Config.Labels[labelKeys.uidSlot]);
    if (Number.isInteger(slot)) trace.slots.add(slot);
    if (dataRoot) {
      trace.files.add(path.join(dataRoot, 'containers', container.Id));
      // overlay2: <root>/overlay2/<layer>/diff, and the <layer>-init layer beside it.
      const upper = (container.GraphDriver?.Data as { UpperDir?: string } | undefined)?.UpperDir;
      if (upper) trace.files.add(path.dirname(upper)).add(`${path.dirname(upper)}-init`);
      for (const mount of container.Mounts) if (mount.Type === 'volume' && mount.Name) trace.files.add(path.join(dataRoot, 'volumes', mount.Name));
    }
    const stop = await timed(() => driver.stop(sessionId));
    results.stopMs.push(stop.ms);
  } finally {
    // A failed start or stop leaves what it leaves: the checks afterwards are to find it.
    bench.active.delete(sessionId);
  }
}

async function body(bench: BenchRun, options: Options): Promise<void> {
  const { slipway, interrupts } = bench;
  results.options = options;
  console.log(`Slipway is up (start-up took ${Math.round(bench.startupMs)} ms). ${options.cycles} cycle(s), ${options.concurrency} at a time.`);
  const dataRoot = ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir;
  const trace: RunTrace = { instance, pool, sessionIds: new Set(), subnets: new Set(), slots: new Set(), files: new Set() };

  results.before = await readFigures(docker, dataRoot);
  results.samples.push({ cycles: 0, heapUsed: results.before.heapUsed, goroutines: results.before.engineGoroutines });
  let next = 0;
  const began = performance.now();
  const worker = async () => {
    while (next < options.cycles && !interrupts.interrupted && results.failures.length < maxFailures) {
      next += 1;
      try {
        await cycle(slipway, bench, trace, dataRoot);
        results.done += 1;
      } catch (error) {
        const cause = (error as Error).cause instanceof Error ? ` (${((error as Error).cause as Error).message})` : '';
        results.failures.push(`${(error as Error).message}${cause}`);
      }
      const finished = results.done + results.failures.length;
      if (finished % sampleEvery === 0) {
        const figures = await readFigures(docker, dataRoot);
        results.samples.push({ cycles: finished, heapUsed: figures.heapUsed, goroutines: figures.engineGoroutines });
      }
      if (finished % 50 === 0 || finished === options.cycles) {
        const minutes = (performance.now() - began) / 60_000;
        console.log(`  ${finished}/${options.cycles} cycles, ${(results.done / minutes).toFixed(1)} per minute, ${results.failures.length} failed`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  results.wallMs = performance.now() - began;
  interrupts.checkpoint();

  process.stdout.write('Looking for anything left behind… ');
  results.after = await readFigures(docker, dataRoot);
  results.leftovers = await findLeftovers(docker, trace);
  const { engineData: usedBefore } = results.before;
  const { engineData: usedAfter } = results.after;
  if (usedBefore !== undefined && usedAfter !== undefined) {
    const grown = usedAfter - usedBefore;
    results.leftovers.push({ what: `engine data grown beyond ${mib(diskMarginBytes)} MiB`, found: grown > diskMarginBytes ? [`${mib(grown).toFixed(0)} MiB`] : [] });
  }
  console.log('done');

  const leaked = results.leftovers.filter((leftover) => leftover.found.length > 0);
  if (results.failures.length > 0) {
    throw new BenchError(`${results.failures.length} cycle(s) failed; the first said: ${results.failures[0]}`);
  }
  if (leaked.length > 0) {
    throw new BenchError(`The cycles left things behind: ${leaked.map((leftover) => `${leftover.found.length} ${leftover.what}`).join('; ')}.`);
  }
}

runBench({ env: { SLIPWAY_SUBNET_POOL: pool }, options: parseOptions, body, report: tables });
