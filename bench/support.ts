/**
 * What the benchmarks share: the `bench` instance of Slipway started in-process on loopback,
 * options, statistics, the plain and Markdown tables, and `runBench`, which runs a benchmark's
 * body between the start of Slipway and the clean-up (Ctrl-C, failures, the tables at the end)
 * that removes every sandbox and the mirror and checks that nothing of the instance is left.
 */
import { docker } from '../tests/support/engine.ts';
import { testSecret, testTeacherKey } from '../tests/support/secret.ts';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { startSlipway, type Slipway } from '../server/main.ts';
import { removeCaches } from '../server/sandbox/docker/caches.ts';
import type { Docker } from '../server/sandbox/docker/engine.ts';
import { labelFilter } from '../server/sandbox/docker/labels.ts';
import { removeMirror } from '../server/sandbox/docker/mirror.ts';

/**
 * The Slipway instance the benchmarks run as: `bench`, or SLIPWAY_BENCH_INSTANCE, so that two
 * benchmarks on one engine (two people, two worktrees) do not remove each other's sandboxes.
 * Not SLIPWAY_INSTANCE: that may name a real installation, whose sandboxes the clean-up would remove.
 */
export const instance = benchInstance(process.env.SLIPWAY_BENCH_INSTANCE);

function benchInstance(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return 'bench';
  if (!/^[a-z0-9-]{1,32}$/.test(value)) {
    console.error(`SLIPWAY_BENCH_INSTANCE=${JSON.stringify(value)} is not valid: use 1 to 32 of a-z, 0-9 and '-'.`);
    process.exit(1);
  }
  return value;
}

/** A failure the benchmark explains in one sentence (no stack trace). */
export class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------
// Options

export interface CountOption {
  /** Without the dashes: `runs` reads `--runs N` and `--runs=N`. */
  name: string;
  defaultValue: number;
  min: number;
  max: number;
  usage: string;
}

/** Reads the one whole-number option a benchmark takes; `--help` prints the usage and exits. */
export function parseCountOption(argv: string[], option: CountOption): number {
  return parseCountOptions(argv, [option], option.usage)[option.name]!;
}

/** Reads a benchmark's whole-number options, each at most once; `--help` prints `usage` and exits. */
export function parseCountOptions(argv: string[], options: Omit<CountOption, 'usage'>[], usage: string): Record<string, number> {
  const flags = options.map((option) => `--${option.name} N`);
  const known = flags.length === 1 ? `the only option is ${flags[0]}` : `the options are ${flags.slice(0, -1).join(', ')} and ${flags.at(-1)}`;
  const values = new Map<string, string | undefined>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const option = options.find((candidate) => arg === `--${candidate.name}` || arg.startsWith(`--${candidate.name}=`));
    if (!option) throw new BenchError(`Unknown argument ${JSON.stringify(arg)}; ${known}.`);
    const flag = `--${option.name}`;
    values.set(option.name, arg === flag ? argv[++i] : arg.slice(flag.length + 1));
  }
  const counts: Record<string, number> = {};
  for (const option of options) {
    const flag = `--${option.name}`;
    if (!values.has(option.name)) {
      counts[option.name] = option.defaultValue;
      continue;
    }
    const value = values.get(option.name);
    const count = Number(value);
    if (value === undefined || !/^\d+$/.test(value) || !Number.isInteger(count) || count < option.min || count > option.max) {
      throw new BenchError(`${flag} must be a whole number from ${option.min} to ${option.max}, not ${value === undefined ? 'nothing' : JSON.stringify(value)}.`);
    }
    counts[option.name] = count;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Measurements and statistics

export async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await action();
  return { ms: performance.now() - start, value };
}

export function sortedCopy(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Median of ascending values (the mean of the middle two for an even count). */
export function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Nearest-rank percentile of ascending values: with few values, p90 is the largest. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const mib = (bytes: number) => bytes / 1024 ** 2;

// ---------------------------------------------------------------------------------------------
// Tables

export interface Table {
  /** Printed above the table (bold in Markdown); optional when there is one table. */
  title?: string;
  /** A line under the title, e.g. the unit. */
  note?: string;
  header: string[];
  /** Header of the Markdown table (units spelled out); the plain header when absent. */
  markdownHeader?: string[];
  /** Cells as printed; the first column is left-aligned, the others right-aligned. */
  rows: string[][];
}

function plainLines(table: Table): string[] {
  const widths = table.header.map((title, column) => Math.max(title.length, ...table.rows.map((line) => line[column]!.length)));
  const format = (line: string[]) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [format(table.header), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(format)];
}

function markdownLines(table: Table): string[] {
  const header = table.markdownHeader ?? table.header;
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, column) => (column === 0 ? '---' : '---:')).join('|')}|`,
    ...table.rows.map((line) => `| ${line.join(' | ')} |`),
  ];
}

/** Prints the tables as plain text, then again as Markdown, each block with the machine line. */
function printTables(machine: string, tables: Table[]): void {
  const shown = tables.filter((table) => table.rows.length > 0);
  if (shown.length === 0) return;
  console.log('');
  console.log(machine);
  for (const [index, table] of shown.entries()) {
    if (index > 0) console.log('');
    if (table.title) console.log(table.title);
    if (table.note) console.log(table.note);
    console.log('');
    for (const line of plainLines(table)) console.log(line);
  }
  console.log('');
  console.log('Markdown:');
  console.log('');
  for (const table of shown) {
    if (table.title) {
      console.log(`**${table.title}**${table.note ? ` ${table.note}` : ''}`);
      console.log('');
    }
    for (const line of markdownLines(table)) console.log(line);
    console.log('');
  }
  console.log(`_${machine}_`);
}

async function machineInfo(slipway: Slipway | undefined): Promise<string> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  let engine = 'unknown';
  if (slipway) {
    engine = await docker
      .version()
      .then((version) => version.Version)
      .catch(() => 'unknown');
  }
  return `Machine: nproc ${os.availableParallelism()}, ${cpu}, ${memGb} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, Docker engine ${engine}`;
}

// ---------------------------------------------------------------------------------------------
// Slipway and the engine objects of the bench instance

/** Starts Slipway in-process as instance `bench` on 127.0.0.1 with a free port, logging warnings only; `env` adds settings. */
async function startBenchSlipway(env: Record<string, string> = {}): Promise<{ slipway: Slipway; ms: number }> {
  console.log(`Starting Slipway (instance '${instance}'); the first time on a machine this builds the images (about a minute)…`);
  const log = createLogger('warn');
  const config = loadConfig({
    ...process.env,
    SLIPWAY_PORT: '0',
    SLIPWAY_PORTS_PORT: '0',
    SLIPWAY_HOST: '127.0.0.1',
    SLIPWAY_INSTANCE: instance,
    SLIPWAY_LOG_LEVEL: 'warn',
    SLIPWAY_SECRET: testSecret,
    SLIPWAY_TEACHER_KEY: testTeacherKey,
    // Progress and workshops of their own, not the installation's.
    SLIPWAY_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-state-')),
    // Benchmarks, like tests, send nothing outside the machine.
    SLIPWAY_OFFLINE: '1',
    // No warm pool unless a benchmark asks for one (`env`): a pooled sandbox would be measured
    // as a cold start, and would sit in the density figures.
    SLIPWAY_POOL_SIZE: '0',
    ...env,
  });
  const started = await timed(() => startSlipway(config, log));
  return { slipway: started.value, ms: started.ms };
}

/** The base URL of Slipway, after checking it is on loopback (the only place the benchmarks talk to). */
export function loopbackUrl(slipway: Slipway): URL {
  const base = new URL(slipway.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
    throw new BenchError(`Slipway listens on ${base.hostname}, not loopback; the benchmark only talks to loopback.`);
  }
  return base;
}

async function leftoverSandboxObjects(docker: Docker): Promise<string[]> {
  const filters = labelFilter(instance, { 'org.slipway.role': 'sandbox' });
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters } as object),
  ]);
  return [
    ...containers.map((info) => `container ${info.Names[0]?.replace(/^\//, '') ?? info.Id}`),
    ...networks.map((info) => `network ${info.Name}`),
    ...(volumes.Volumes ?? []).map((info) => `volume ${info.Name}`),
  ];
}

/** Stops every sandbox of the bench instance, whoever started it. */
export async function stopAllSandboxes(slipway: Slipway, keep: string[] = []): Promise<void> {
  const sandboxes = (await slipway.runtime.driver.list()).filter((info) => !keep.includes(info.sessionId));
  await Promise.all(sandboxes.map((info) => slipway.runtime.driver.stop(info.sessionId)));
}

/**
 * Removes everything the bench instance has in the engine: the sandboxes the benchmark
 * started through the driver (`active`), Slipway's own (slipway.stop()), any other sandbox
 * labelled with the instance, the mirror with its network and volume, and the package caches. Returns the
 * problems met, including any sandbox container, network or volume still there afterwards.
 */
async function removeBenchObjects(slipway: Slipway, active: Iterable<string>): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all([...active].map((sessionId) => slipway.runtime.driver.stop(sessionId).catch(() => undefined)));
  await slipway.stop().catch((error: unknown) => problems.push(`stopping Slipway failed: ${(error as Error).message}`));
  // Whatever slipway.stop() did not know about (sandboxes started through the driver).
  await stopAllSandboxes(slipway).catch((error: unknown) => problems.push(`removing sandboxes failed: ${(error as Error).message}`));
  await removeCaches(docker, instance).catch((error: unknown) => problems.push(`removing the package caches failed: ${(error as Error).message}`));
  await removeMirror(docker, instance).catch((error: unknown) => problems.push(`removing the mirror failed: ${(error as Error).message}`));
  const left = await leftoverSandboxObjects(docker).catch((error: unknown) => [`(could not list: ${(error as Error).message})`]);
  if (left.length > 0) problems.push(`left behind in the engine: ${left.join(', ')}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C and failures

export interface Interrupts {
  readonly interrupted: boolean;
  /** Throws when Ctrl-C was pressed; call between steps. */
  checkpoint(): void;
  /** Waits, ending early on Ctrl-C. */
  sleep(ms: number): Promise<void>;
}

/**
 * Ctrl-C (or SIGTERM) the first time: `onInterrupt` ends whatever the benchmark waits on
 * (closes the browser or the socket), the engine call in flight finishes, and main cleans up
 * as after a failure. A second Ctrl-C exits at once without cleaning up.
 */
function handleInterrupts(onInterrupt: () => void = () => undefined): Interrupts {
  let interrupted = false;
  const wakers = new Set<() => void>();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      console.error(`\n${signal} again: exiting without cleaning up; containers labelled org.slipway.instance=${instance} may remain.`);
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: stopping the benchmark and cleaning up (press Ctrl-C again to exit at once)…`);
    onInterrupt();
    for (const wake of wakers) wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get interrupted() {
      return interrupted;
    },
    checkpoint: () => {
      if (interrupted) throw new BenchError('interrupted');
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (interrupted) return resolve();
        const wake = () => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        wakers.add(wake);
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// One run of a benchmark

/** What a benchmark's body works with; runBench has started Slipway and cleans up after it. */
export interface BenchRun {
  slipway: Slipway;
  /** How long Slipway took to start, ms. */
  startupMs: number;
  interrupts: Interrupts;
  /** Sandboxes the body started through the driver and has not stopped yet; removed at the end. */
  active: Set<string>;
  /**
   * Something to close when the run ends, before the sandboxes are removed (a browser, a
   * socket, a server), last added first closed; `what` names it if closing fails. With
   * `onInterrupt`, the first Ctrl-C closes it at once, which ends whatever the body waits on.
   */
  closeAtEnd(what: string, close: () => unknown, options?: { onInterrupt?: boolean }): void;
}

export interface Bench<Options> {
  /** Settings of Slipway's own (SLIPWAY_*) this benchmark needs, over the defaults. */
  env?: Record<string, string>;
  /** Reads the command line; throws a BenchError on a bad one. */
  options(argv: string[]): Options;
  /** The measurements; a BenchError ends the run with its one sentence. */
  body(run: BenchRun, options: Options): Promise<void>;
  /** Tables of what has been measured; after a failure or Ctrl-C, of what was measured until then. */
  report(): Table[];
}

/**
 * Runs a benchmark and exits: reads its options, starts Slipway, runs the body; then, whether
 * it finished, failed or was interrupted (Ctrl-C: exit 130), closes what the body opened,
 * removes every object of the instance, and prints the tables. Exits 1 on a failure or if
 * anything was left behind.
 */
export function runBench<Options>(bench: Bench<Options>): void {
  runMain(async () => {
    const options = bench.options(process.argv.slice(2));
    let slipway: Slipway | undefined;
    const active = new Set<string>();
    const closers: { what: string; close: () => unknown; onInterrupt: boolean }[] = [];
    let failed = false;

    const cleanup = async (): Promise<void> => {
      const problems: string[] = [];
      for (const { what, close } of [...closers].reverse()) {
        await Promise.resolve()
          .then(close)
          .catch((error: unknown) => problems.push(`closing ${what} failed: ${(error as Error).message}`));
      }
      if (slipway) problems.push(...(await removeBenchObjects(slipway, active)));
      if (problems.length > 0) {
        failed = true;
        for (const problem of problems) console.error(`Cleanup: ${problem}`);
      }
    };

    const interrupts = handleInterrupts(() => {
      for (const closer of closers) {
        if (closer.onInterrupt) void Promise.resolve().then(closer.close).catch(() => undefined);
      }
    });

    try {
      const started = await startBenchSlipway(bench.env);
      slipway = started.slipway;
      interrupts.checkpoint();
      await bench.body(
        {
          slipway,
          startupMs: started.ms,
          interrupts,
          active,
          closeAtEnd: (what, close, closeOptions) => closers.push({ what, close, onInterrupt: closeOptions?.onInterrupt ?? false }),
        },
        options,
      );
    } catch (error) {
      failed = true;
      console.log('');
      if (interrupts.interrupted) return 130; // after the cleanup below
      reportFailure(error);
    } finally {
      await finishRun(slipway, cleanup, bench.report, { failed, interrupted: interrupts.interrupted });
    }
    return failed ? 1 : 0;
  });
}

/**
 * The end of a benchmark run: the machine line, cleanup, then the tables, including those
 * measured before a failure or Ctrl-C.
 */
async function finishRun(
  slipway: Slipway | undefined,
  cleanup: () => Promise<void>,
  shown: () => Table[],
  outcome: { failed: boolean; interrupted: boolean },
): Promise<void> {
  const machine = await machineInfo(slipway);
  await cleanup();
  const tables = shown();
  if (!outcome.failed) printTables(machine, tables);
  else if (tables.length > 0) {
    console.error(outcome.interrupted ? 'Measurements taken before the interruption:' : 'Measurements taken before the failure:');
    printTables(machine, tables);
  }
}

/** One sentence on stderr; a stack excerpt only for errors that are not the benchmark's own. */
function reportFailure(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Benchmark failed: ${message}`);
  if (!(error instanceof BenchError) && error instanceof Error && error.stack) console.error(error.stack.split('\n').slice(1, 6).join('\n'));
}

/** Runs main and exits with its code; anything main lets escape is reported in one sentence. */
function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Benchmark failed: ${(error as Error)?.message ?? String(error)}`);
      process.exit(1);
    },
  );
}

/** The machine's CPU time so far (all cores), busy and total, in clock ticks (Linux /proc/stat). */
async function cpuTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/**
 * Waits until the machine is quiet: less than `busyShare` of its CPU time in use over a
 * window of `windowMs`, or `maxMs` have passed (returns false then). Benchmarks wait for it
 * before a timed step that something they started (a sandbox starting in the background)
 * would otherwise compete with.
 */
export async function waitForQuietCpu(options: { busyShare?: number; windowMs?: number; maxMs?: number } = {}): Promise<boolean> {
  const { busyShare = 0.2, windowMs = 300, maxMs = 15_000 } = options;
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const before = await cpuTicks();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = await cpuTicks();
    const total = after.total - before.total;
    if (total > 0 && (after.busy - before.busy) / total < busyShare) return true;
  }
  return false;
}
