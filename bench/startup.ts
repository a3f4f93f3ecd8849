/**
 * Start-up benchmark: how long a learner waits for a usable terminal, and how long the first
 * `docker run` inside a sandbox takes. Runs Slipway in-process (instance `bench`) against the
 * local Docker engine and drives a headless Chromium at it; sends traffic only to loopback and
 * to the containers it creates. Removes everything it created when it ends.
 *
 * Each run also opens the bare baseline of bench/browser.ts (one page with xterm.js, one `ws`
 * server, one `docker exec` into a node that is already running) in a new browser context, so
 * a new learner's wait is printed as a ratio to what the same browser needs for a bare shell.
 *
 *   node bench/startup.ts [--runs N]
 */
import { randomBytes } from 'node:crypto';
import { docker } from '../tests/support/engine.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { startBaseline } from './baseline/server.ts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../tests/support/chromium.ts';
import type { Slipway } from '../server/main.ts';
import {
  BenchError,
  instance,
  loopbackUrl,
  median,
  parseCountOptions,
  percentile,
  runBench,
  sortedCopy,
  stopAllSandboxes,
  timed,
  waitForQuietCpu,
  type BenchRun,
  type Table,
} from './support.ts';

const lessonPath = 'en/hello-world/';
const prompt = 'root@node1';
const pageTimeoutMs = 120_000;
const runTimeoutMs = 30_000;

/** Sandboxes kept ready (SLIPWAY_POOL_SIZE) while measuring; 0 measures cold starts. */
let poolSize = 0;
let runCount = 0;

function parseRuns(argv: string[]): number {
  const counts = parseCountOptions(
    argv,
    [
      { name: 'runs', defaultValue: 5, min: 1, max: 100 },
      { name: 'pool', defaultValue: 0, min: 0, max: 10 },
    ],
    'Usage: node bench/startup.ts [--runs N] [--pool N]   (default 5 runs; --pool 1 measures a new learner served from a warm pool)',
  );
  poolSize = counts.pool!;
  runCount = counts.runs!;
  return counts.runs!;
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

const ms = (value: number) => String(Math.round(value));

function tables(): Table[] {
  if (metricOrder.length === 0) return [];
  const rows = metricOrder.map((metric) => {
    const sorted = sortedCopy(results.get(metric)!);
    return [metric, String(sorted.length), ms(sorted[0]!), ms(median(sorted)), ms(percentile(sorted, 90)), ms(sorted[sorted.length - 1]!)];
  });
  const ours = results.get(inPageMetric(newLearnerLabel()));
  const bare = results.get(inPageMetric(baselineLabel));
  if (ours && bare) {
    const ratio = (pick: (sorted: number[]) => number) => (pick(sortedCopy(ours)) / pick(sortedCopy(bare))).toFixed(2);
    rows.push([`navigation to prompt, ${newLearnerLabel()} / bare baseline (ratio)`, '', ratio((sorted) => sorted[0]!), ratio(median), ratio((sorted) => percentile(sorted, 90)), ratio((sorted) => sorted[sorted.length - 1]!)]);
  }
  return [
    {
      note: 'All times in milliseconds.',
      header: ['metric', 'runs', 'min', 'median', 'p90', 'max'],
      markdownHeader: ['metric', 'runs', 'min (ms)', 'median (ms)', 'p90 (ms)', 'max (ms)'],
      rows,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Browser

function launchBrowser(): Promise<Browser> {
  // Ctrl-C is ours: Playwright's own handler would exit the process before cleaning up.
  return launchChromium({ handleSignals: false });
}

/** Waits until the page's terminal is attached and shows the shell prompt. */
async function waitForPrompt(page: Page, what: string, timeoutMs = pageTimeoutMs): Promise<void> {
  try {
    await page.waitForFunction(
      (expected) => window.slipway?.ready === true && window.slipway.terminalText().includes(expected),
      prompt,
      { timeout: timeoutMs, polling: 20 },
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
      `The ${what} page did not show a ready terminal with the '${prompt}' prompt within ${timeoutMs / 1000} s ` +
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

const newLearnerLabel = () => (poolSize > 0 ? `new learner (warm pool of ${poolSize})` : 'cold (new sandbox)');
const inPageMetric = (who: string) => `navigation to prompt in the page, ${who}`;
const baselineLabel = 'bare baseline (running node, new shell)';

/**
 * Navigates a new page to `url` and returns when its terminal (`hook`: window.slipway or
 * window.baseline) is attached and shows the prompt, as milliseconds after the navigation
 * started, read in the page. The page checks itself every 5 ms: the benchmark's own polling
 * through the browser's debugging protocol would compete with the page for its main thread.
 */
async function openUntilPrompt(page: Page, url: string, hook: 'slipway' | 'baseline'): Promise<number> {
  const response = await page.goto(url, { waitUntil: 'commit', timeout: pageTimeoutMs });
  if (!response?.ok()) throw new BenchError(`Opening ${url} answered HTTP ${response?.status() ?? 'nothing'}.`);
  return page.evaluate(
    ({ hook, expected, timeoutMs }) =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const timer = setInterval(() => {
          const terminal = window[hook];
          if (terminal?.ready === true && terminal.terminalText().includes(expected)) {
            clearInterval(timer);
            resolve(performance.now());
          } else if (performance.now() - started > timeoutMs) {
            clearInterval(timer);
            reject(new Error(`no ready terminal with the prompt within ${timeoutMs / 1000} s`));
          }
        }, 5);
      }),
    { hook, expected: prompt, timeoutMs: pageTimeoutMs },
  );
}

/** The bare baseline page in a new context: navigation until its shell's prompt shows. */
async function measureBaseline(browser: Browser, baselineUrl: string): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const open = await timed(() => openUntilPrompt(page, baselineUrl, 'baseline'));
    record(`page-open to prompt, ${baselineLabel}`, open.ms);
    record(inPageMetric(baselineLabel), open.value);
  } finally {
    await context.close().catch(() => undefined);
  }
}

async function measurePage(browser: Browser, lessonUrl: string): Promise<void> {
  let context: BrowserContext | undefined;
  try {
    // A fresh context has no learner cookie, so the server starts a new sandbox for it.
    context = await browser.newContext();
    const page = await context.newPage();
    const checks = countChecks(page);
    const cold = await timed(() =>
      openUntilPrompt(page, lessonUrl, 'slipway').catch(async (error: unknown) => {
        // Says what the page showed instead.
        await waitForPrompt(page, 'new learner', 1000);
        throw error;
      }),
    );
    record(`page-open to prompt, ${newLearnerLabel()}`, cold.ms);
    record(inPageMetric(newLearnerLabel()), cold.value);
    // Where the time went, read in the page (ms from the start of the navigation).
    const steps = await page.evaluate(() => {
      const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const markAt = (name: string) => performance.getEntriesByName(name, 'mark')[0]?.startTime;
      return {
        html: navigation?.responseEnd,
        domContentLoaded: navigation?.domContentLoadedEventEnd,
        socketCreated: markAt('slipway:socket-created'),
        socketOpen: markAt('slipway:socket-open'),
        shell: markAt('slipway:shell'),
        ready: markAt('slipway:ready'),
      };
    });
    const label = poolSize > 0 ? 'new learner' : 'cold';
    for (const [step, at] of [
      ['the page\'s HTML received', steps.html],
      ['DOMContentLoaded (scripts run)', steps.domContentLoaded],
      ['terminal socket created', steps.socketCreated],
      ['terminal socket open', steps.socketOpen],
      ['shell attached (shell message)', steps.shell],
      ['ready (status message)', steps.ready],
    ] as const) {
      if (at !== undefined) record(`  ${label}: ${step}, ms after navigation start`, at);
    }
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

async function body(bench: BenchRun, runs: number): Promise<void> {
  const { slipway, interrupts } = bench;
  const checkpoint = interrupts.checkpoint;
  const base = loopbackUrl(slipway);
  const lessonUrl = new URL(lessonPath, base).href;
  console.log(`Slipway is up at ${slipway.url} (start-up took ${ms(bench.startupMs)} ms). ${runs} run(s).`);

  // The bare baseline's node: the same image, started through the same driver, left running.
  const baselineSession = randomBytes(6).toString('hex');
  bench.active.add(baselineSession);
  await slipway.runtime.driver.start({ sessionId: baselineSession, learnerId: `bench-${baselineSession}`, nodes: ['node1'] }, () => undefined);
  checkpoint();
  const baseline = await startBaseline(docker.getContainer(objectName(instance, baselineSession, 'node1')));
  bench.closeAtEnd('the baseline server', () => baseline.close());

  const browser = await launchBrowser();
  // Ctrl-C: closing the browser ends any page wait at once; the engine call in flight finishes.
  bench.closeAtEnd('Chromium', () => browser.close(), { onInterrupt: true });
  checkpoint();
  // Untimed: the browser's own first-navigation costs are not Slipway's. The course index
  // has no terminal, so no sandbox starts.
  const warmUp = await browser.newContext();
  await warmUp.newPage().then((page) => page.goto(new URL('en/', base).href));
  await warmUp.close();
  for (let run = 1; run <= runs; run++) {
    checkpoint();
    if (poolSize > 0) {
      // Each new learner takes a pooled sandbox; the next run waits for the refill.
      for (let waited = 0; slipway.sessions.pooled < 1 && waited < 120_000; waited += 100) await interrupts.sleep(100);
    }
    // A sandbox just started (the pool's refill, the last run's) keeps the CPU busy for a
    // moment after it is ready; a learner rarely comes in that moment, and the figures would
    // be the machine's noise.
    if (!(await waitForQuietCpu())) console.log('(the machine stayed busy; this run is measured anyway)');
    process.stdout.write(`Run ${run}/${runs}: baseline… `);
    await measureBaseline(browser, baseline.url);
    checkpoint();
    process.stdout.write('page… ');
    await measurePage(browser, lessonUrl);
    checkpoint();
    // The browser's sandbox is not needed any more; free its memory before the next run (with
    // a pool, the pool's sandboxes stay: the session manager counts on them).
    if (poolSize === 0) await stopAllSandboxes(slipway, [baselineSession]);
    checkpoint();
    process.stdout.write('driver… ');
    await measureDriver(slipway, bench.active);
    console.log('done');
  }
}

runBench({
  options: parseRuns,
  // Read after the options: --pool sets it.
  get env() {
    // With a pool, each run's learner keeps their sandbox (they all come from one address).
    return { SLIPWAY_POOL_SIZE: String(poolSize), SLIPWAY_SANDBOXES_PER_ADDRESS: String(runCount + 5), SLIPWAY_MAX_SANDBOXES: String(runCount + poolSize + 10) };
  },
  body,
  report: tables,
});
