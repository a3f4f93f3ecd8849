/**
 * Start-up benchmark: how long a learner waits for a usable terminal, and how long the first
 * `docker run` inside a sandbox takes. Runs Slipway in-process (instance `bench`) against the
 * local Docker engine and drives a headless Chromium at it; sends traffic only to loopback and
 * to the containers it creates. Removes everything it created when it ends.
 *
 *   node bench/startup.ts [--runs N]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { startSlipway, type Slipway } from '../server/main.ts';
import type { Docker } from '../server/sandbox/docker/engine.ts';
import { labelFilter } from '../server/sandbox/docker/labels.ts';
import { removeMirror } from '../server/sandbox/docker/mirror.ts';

const instance = 'bench';
const lessonPath = 'en/hello-world/';
const prompt = 'root@node1';
const pageTimeoutMs = 120_000;
const runTimeoutMs = 30_000;
const chromiumPath = '/usr/bin/chromium';

class BenchError extends Error {}

function parseRuns(argv: string[]): number {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--runs') value = argv[++i];
    else if (arg.startsWith('--runs=')) value = arg.slice('--runs='.length);
    else if (arg === '--help' || arg === '-h') {
      console.log('Usage: node bench/startup.ts [--runs N]   (default 5)');
      process.exit(0);
    } else throw new BenchError(`Unknown argument ${JSON.stringify(arg)}; the only option is --runs N.`);
  }
  if (value === undefined) return 5;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new BenchError(`--runs must be a whole number from 1 to 100, not ${JSON.stringify(value)}.`);
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Measurements and statistics

const results = new Map<string, number[]>();
const metricOrder: string[] = [];

function record(metric: string, ms: number): void {
  if (!results.has(metric)) {
    results.set(metric, []);
    metricOrder.push(metric);
  }
  results.get(metric)!.push(ms);
}

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await action();
  return { ms: performance.now() - start, value };
}

interface Summary {
  metric: string;
  runs: number;
  min: number;
  median: number;
  p90: number;
  max: number;
}

function summarize(metric: string, values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  // Nearest-rank percentile: with few runs, p90 is the slowest run.
  const p90 = sorted[Math.max(0, Math.ceil(0.9 * n) - 1)]!;
  return { metric, runs: n, min: sorted[0]!, median, p90, max: sorted[n - 1]! };
}

const ms = (value: number) => String(Math.round(value));

function printTables(machine: string): void {
  const rows = metricOrder.map((metric) => summarize(metric, results.get(metric)!));
  if (rows.length === 0) return;
  const header = ['metric', 'runs', 'min', 'median', 'p90', 'max'];
  const cells = rows.map((row) => [row.metric, String(row.runs), ms(row.min), ms(row.median), ms(row.p90), ms(row.max)]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const format = (line: string[]) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');

  console.log('');
  console.log(machine);
  console.log('All times in milliseconds.');
  console.log('');
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of cells) console.log(format(line));

  console.log('');
  console.log('Markdown:');
  console.log('');
  console.log(`| metric | runs | min (ms) | median (ms) | p90 (ms) | max (ms) |`);
  console.log(`|---|---:|---:|---:|---:|---:|`);
  for (const line of cells) console.log(`| ${line.join(' | ')} |`);
  console.log('');
  console.log(`_${machine}_`);
}

// ---------------------------------------------------------------------------------------------
// Engine objects of the bench instance

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

/** Stops every sandbox of the bench instance (the browser's, between runs). */
async function stopAllSandboxes(slipway: Slipway): Promise<void> {
  const sandboxes = await slipway.runtime.driver.list();
  await Promise.all(sandboxes.map((info) => slipway.runtime.driver.stop(info.sessionId)));
}

// ---------------------------------------------------------------------------------------------
// Browser

async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    // Ctrl-C is ours: Playwright's own handler would exit the process before cleaning up.
    handleSIGINT: false,
    handleSIGTERM: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      // Belt and braces for the network rule: no host name but localhost (and 127.0.0.1) resolves.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
}

/** Waits until the page's terminal is attached and shows the shell prompt. */
async function waitForPrompt(page: Page, what: string): Promise<void> {
  try {
    await page.waitForFunction(
      (expected) => window.slipway?.ready === true && window.slipway.terminalText().includes(expected),
      prompt,
      { timeout: pageTimeoutMs, polling: 20 },
    );
  } catch (error) {
    const text = await page
      .evaluate(() => window.slipway?.terminalText() ?? '(window.slipway is not set)')
      .catch(() => '(the page could not be read)');
    const status = await page
      .locator('[data-terminal-status]')
      .textContent({ timeout: 1000 })
      .catch(() => null);
    throw new BenchError(
      `The ${what} page did not show a ready terminal with the '${prompt}' prompt within ${pageTimeoutMs / 1000} s ` +
        `(${(error as Error).message.split('\n')[0]}). Status line: ${JSON.stringify(status ?? '')}. ` +
        `Terminal text (last 500 characters): ${JSON.stringify(text.slice(-500))}`,
    );
  }
}

/**
 * Counts the lesson-check results the server sends to a page. The server checks the lesson
 * as soon as a terminal connects; waiting for that result before moving on (untimed) keeps a
 * check from racing the removal of the sandbox.
 */
function countChecks(page: Page): { seen(): number; settle(count: number, timeoutMs: number): Promise<void> } {
  let seen = 0;
  let lastAt = Date.now();
  page.on('websocket', (socket) => {
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string' && payload.includes('"type":"checks"')) {
        seen += 1;
        lastAt = Date.now();
      }
    });
  });
  return {
    seen: () => seen,
    // At least `count` results, then none for a second (a connect check is often followed by
    // a check for the first prompt).
    settle: async (count, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while ((seen < count || Date.now() - lastAt < 1000) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

async function measurePage(browser: Browser, lessonUrl: string): Promise<void> {
  let context: BrowserContext | undefined;
  try {
    // A fresh context has no learner cookie, so the server starts a new sandbox for it.
    context = await browser.newContext();
    const page = await context.newPage();
    const checks = countChecks(page);
    const cold = await timed(async () => {
      const response = await page.goto(lessonUrl);
      if (!response?.ok()) throw new BenchError(`Opening ${lessonUrl} answered HTTP ${response?.status() ?? 'nothing'}.`);
      await waitForPrompt(page, 'cold');
    });
    record('page-open to prompt, cold (new sandbox)', cold.ms);
    await checks.settle(1, 15_000);

    // Same context, same cookie: the learner's running sandbox is reused.
    const before = checks.seen();
    const warm = await timed(async () => {
      await page.reload();
      await waitForPrompt(page, 'warm (reloaded)');
    });
    record('page-open to prompt, warm (reload, sandbox reused)', warm.ms);
    await checks.settle(before + 1, 15_000);
  } finally {
    await context?.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Driver

async function measureDriver(slipway: Slipway, active: Set<string>): Promise<void> {
  const driver = slipway.runtime.driver;
  const sessionId = randomBytes(6).toString('hex');
  active.add(sessionId);
  try {
    const start = await timed(() => driver.start({ sessionId, learnerId: `bench-${sessionId}`, nodes: ['node1'] }, () => undefined));
    record('sandbox start via driver (until engine answers)', start.ms);

    for (const [label, metric] of [
      ['first', 'docker run hello-world, first (pull from mirror)'],
      ['second', 'docker run hello-world, second (image cached)'],
    ] as const) {
      const run = await timed(() => driver.run(sessionId, 'node1', 'docker run hello-world', runTimeoutMs));
      const result = run.value;
      if (result.exitCode !== 0 || !/Hello from (Slipway|Docker)!/.test(result.output)) {
        throw new BenchError(
          `The ${label} 'docker run hello-world' in sandbox ${sessionId} failed ` +
            `(exit code ${result.exitCode}${result.timedOut ? ', timed out' : ''}). Output: ${JSON.stringify(result.output.slice(-500))}`,
        );
      }
      record(metric, run.ms);
    }

    const stop = await timed(() => driver.stop(sessionId));
    record('sandbox stop via driver', stop.ms);
    active.delete(sessionId);
  } finally {
    if (active.has(sessionId)) {
      await driver.stop(sessionId).catch(() => undefined);
      active.delete(sessionId);
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function machineInfo(slipway: Slipway | undefined): Promise<string> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  let engine = 'unknown';
  if (slipway) {
    engine = await slipway.runtime.docker
      .version()
      .then((version) => version.Version)
      .catch(() => 'unknown');
  }
  return `Machine: nproc ${os.availableParallelism()}, ${cpu}, ${memGb} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, Docker engine ${engine}`;
}

async function main(): Promise<number> {
  const runs = parseRuns(process.argv.slice(2));
  let slipway: Slipway | undefined;
  let browser: Browser | undefined;
  const active = new Set<string>();
  let failed = false;
  let cleaning: Promise<void> | undefined;
  let interrupted = false;

  // Runs once; a second caller (the signal handler and main's finally) waits for the same run.
  const cleanup = (): Promise<void> => (cleaning ??= removeEverything());
  const removeEverything = async (): Promise<void> => {
    const problems: string[] = [];
    await browser?.close().catch((error: unknown) => problems.push(`closing Chromium failed: ${(error as Error).message}`));
    if (slipway) {
      const docker = slipway.runtime.docker;
      for (const sessionId of active) await slipway.runtime.driver.stop(sessionId).catch(() => undefined);
      await slipway.stop().catch((error: unknown) => problems.push(`stopping Slipway failed: ${(error as Error).message}`));
      // Whatever slipway.stop() did not know about (e.g. the browser's sandboxes we stopped early).
      await stopAllSandboxes(slipway).catch((error: unknown) => problems.push(`removing sandboxes failed: ${(error as Error).message}`));
      await removeMirror(docker, instance).catch((error: unknown) => problems.push(`removing the mirror failed: ${(error as Error).message}`));
      const left = await leftoverSandboxObjects(docker).catch((error: unknown) => [`(could not list: ${(error as Error).message})`]);
      if (left.length > 0) problems.push(`left behind in the engine: ${left.join(', ')}`);
    }
    if (problems.length > 0) {
      failed = true;
      for (const problem of problems) console.error(`Cleanup: ${problem}`);
    }
  };

  // Ctrl-C: close the browser (which ends any page wait at once), let the engine call in
  // flight finish, then clean up as after a failure. A second Ctrl-C exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      console.error(`\n${signal} again: exiting without cleaning up; containers labelled org.slipway.instance=${instance} may remain.`);
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: stopping the benchmark and cleaning up (press Ctrl-C again to exit at once)…`);
    void browser?.close().catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkpoint = () => {
    if (interrupted) throw new BenchError('interrupted');
  };

  try {
    console.log(`Starting Slipway (instance '${instance}'); the first time on a machine this builds the images (about a minute)…`);
    const log = createLogger('warn');
    const config = loadConfig({
      ...process.env,
      SLIPWAY_PORT: '0',
      SLIPWAY_HOST: '127.0.0.1',
      SLIPWAY_INSTANCE: instance,
      SLIPWAY_LOG_LEVEL: 'warn',
    });
    const started = await timed(() => startSlipway(config, log));
    slipway = started.value;
    checkpoint();
    const base = new URL(slipway.url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
      throw new BenchError(`Slipway listens on ${base.hostname}, not loopback; the benchmark only talks to loopback.`);
    }
    const lessonUrl = new URL(lessonPath, base).href;
    console.log(`Slipway is up at ${slipway.url} (start-up took ${ms(started.ms)} ms). ${runs} run(s).`);

    browser = await launchBrowser();
    checkpoint();
    // Untimed: the browser's own first-navigation costs are not Slipway's. The course index
    // has no terminal, so no sandbox starts.
    const warmUp = await browser.newContext();
    await warmUp.newPage().then((page) => page.goto(new URL('en/', base).href));
    await warmUp.close();
    for (let run = 1; run <= runs; run++) {
      checkpoint();
      process.stdout.write(`Run ${run}/${runs}: page… `);
      await measurePage(browser, lessonUrl);
      checkpoint();
      // The browser's sandbox is not needed any more; free its memory before the next run.
      await stopAllSandboxes(slipway);
      checkpoint();
      process.stdout.write('driver… ');
      await measureDriver(slipway, active);
      console.log('done');
    }
  } catch (error) {
    failed = true;
    console.log('');
    if (interrupted) return 130; // after the cleanup below
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Benchmark failed: ${message}`);
    if (!(error instanceof BenchError) && error instanceof Error && error.stack) console.error(error.stack.split('\n').slice(1, 6).join('\n'));
  } finally {
    const machine = await machineInfo(slipway);
    await cleanup();
    if (!failed) printTables(machine);
    else if (results.size > 0) {
      console.error(interrupted ? 'Measurements taken before the interruption:' : 'Measurements taken before the failure:');
      printTables(machine);
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`Benchmark failed: ${(error as Error)?.message ?? String(error)}`);
    process.exit(1);
  },
);
