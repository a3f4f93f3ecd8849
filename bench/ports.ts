/**
 * Published-ports benchmark, in one run: how long after `docker run -d -p …` is typed in the
 * lesson page's terminal the port shows in the page's Ports list (headless Chromium), and what
 * the proxy costs: the same request to the same container, through Slipway's ports origin and
 * directly to the node's address, alternating, as a ratio. Runs Slipway in-process (instance
 * `bench`); sends traffic only to loopback and to the containers it creates; removes them.
 *
 *   node bench/ports.ts [--runs N] [--requests N]
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../tests/support/chromium.ts';
import { asLearner } from '../tests/support/engine.ts';
import { BenchError, loopbackUrl, median, parseCountOptions, percentile, runBench, sortedCopy, type BenchRun, type Table } from './support.ts';

const usage = 'Usage: node bench/ports.ts [--runs N] [--requests N]   (defaults 5 and 300)';
const firstPort = 8100;

const listed: number[] = [];
const latencies = { proxied: [] as number[], direct: [] as number[] };

/** One GET with a keep-alive agent; resolves with the milliseconds until the whole body arrived. */
function timedGet(url: string, agent: http.Agent, cookie?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.get(url, { agent, headers: cookie ? { cookie } : {} }, (response) => {
      response.resume();
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new BenchError(`GET ${url} answered HTTP ${response.statusCode}.`));
        else resolve(performance.now() - started);
      });
    });
    request.on('error', reject);
  });
}

async function waitForPrompt(page: Page): Promise<void> {
  await page.waitForFunction(() => window.slipway?.ready === true && window.slipway.terminalText().includes('root@node1'), undefined, { timeout: 120_000, polling: 20 });
}

async function typeInTerminal(page: Page, command: string): Promise<void> {
  await page.locator('[data-terminal-screen]:not([hidden]) .xterm').click();
  await page.keyboard.type(command);
}

function tables(): Table[] {
  const ms = (value: number) => value.toFixed(value < 10 ? 2 : 0);
  const out: Table[] = [];
  if (listed.length > 0) {
    const sorted = sortedCopy(listed);
    out.push({
      title: '`docker run -d -p …` typed (Enter) until the port is in the page\'s Ports list',
      note: 'ms; includes the docker run itself',
      header: ['runs', 'min', 'median', 'p90', 'max'],
      rows: [[String(sorted.length), ms(sorted[0]!), ms(median(sorted)), ms(percentile(sorted, 90)), ms(sorted.at(-1)!)]],
    });
  }
  if (latencies.proxied.length > 0 && latencies.direct.length > 0) {
    const proxied = sortedCopy(latencies.proxied);
    const direct = sortedCopy(latencies.direct);
    const row = (label: string, pick: (values: number[]) => number) => [label, ms(pick(proxied)), ms(pick(direct)), (pick(proxied) / pick(direct)).toFixed(2)];
    out.push({
      title: 'GET of the same container, through the ports origin and directly to the node',
      note: `ms, ${proxied.length} requests each, alternating, keep-alive clients`,
      header: ['metric', 'proxied', 'direct', 'proxied/direct'],
      rows: [row('p50', median), row('p90', (values) => percentile(values, 90)), row('p99', (values) => percentile(values, 99))],
    });
  }
  return out;
}

interface Options {
  runs: number;
  requests: number;
}

async function body(run: BenchRun, { runs, requests }: Options): Promise<void> {
  const { slipway, interrupts } = run;
  const base = loopbackUrl(slipway);
  console.log(`Slipway is up at ${slipway.url}, ports at ${slipway.portsUrl}. ${runs} run(s), ${requests} requests each way.`);
  const browser: Browser = await launchChromium({ handleSignals: false });
  run.closeAtEnd('Chromium', () => browser.close(), { onInterrupt: true });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(new URL('en/web-app/', base).href);
  await waitForPrompt(page);
  const sandbox = (await slipway.runtime.driver.list())[0];
  if (!sandbox) throw new BenchError('The page started no sandbox.');
  const pulled = await slipway.runtime.driver.run(sandbox.sessionId, 'node1', 'docker pull -q python:3.11-slim', 120_000, asLearner);
  if (pulled.exitCode !== 0) throw new BenchError(`Pulling python:3.11-slim failed: ${pulled.output.slice(-300)}`);

  for (let index = 1; index <= runs; index++) {
    interrupts.checkpoint();
    const port = firstPort + index;
    await typeInTerminal(page, `docker run -d -p ${port}:80 --name web${index} python:3.11-slim python3 -m http.server 80`);
    const typed = performance.now();
    await page.keyboard.press('Enter');
    await page.locator(`[data-port-link="${port}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    listed.push(performance.now() - typed);
    console.log(`Run ${index}/${runs}: listed after ${Math.round(listed.at(-1)!)} ms`);
  }

  // The owner's way in, as a browser takes it: the page's link, the pass, the cookie.
  const learner = (await context.cookies()).find((cookie) => cookie.name === 'slipway_learner');
  if (!learner) throw new BenchError('The page set no learner cookie.');
  const port = firstPort + 1;
  const opened = await fetch(new URL(`/ports/${sandbox.sessionId}/node1/${port}/`, base), { redirect: 'manual', headers: { cookie: `slipway_learner=${learner.value}` } });
  const traded = await fetch(opened.headers.get('location') ?? '', { redirect: 'manual' });
  const cookie = (traded.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const address = await slipway.runtime.driver.nodeAddress(sandbox.sessionId, 'node1');
  if (!cookie || !address) throw new BenchError('No pass cookie, or no node address.');
  const proxiedUrl = `${slipway.portsUrl.replace(/\/$/, '')}/p/${sandbox.sessionId}/node1/${port}/`;
  const directUrl = `http://${address}:${port}/`;
  const agents = { proxied: new http.Agent({ keepAlive: true, maxSockets: 1 }), direct: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
  run.closeAtEnd('HTTP agents', () => {
    agents.proxied.destroy();
    agents.direct.destroy();
  });
  // Untimed warm-up: the server has just started in the container.
  for (let attempt = 0; ; attempt++) {
    const ok = await timedGet(directUrl, agents.direct).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (attempt > 40) throw new BenchError(`${directUrl} does not answer.`);
    await interrupts.sleep(250);
  }
  for (let index = 0; index < 20; index++) {
    await timedGet(proxiedUrl, agents.proxied, cookie);
    await timedGet(directUrl, agents.direct);
  }
  for (let index = 0; index < requests; index++) {
    interrupts.checkpoint();
    latencies.proxied.push(await timedGet(proxiedUrl, agents.proxied, cookie));
    latencies.direct.push(await timedGet(directUrl, agents.direct));
  }
}

runBench<Options>({
  options: (argv) => {
    const counts = parseCountOptions(
      argv,
      [
        { name: 'runs', defaultValue: 5, min: 1, max: 50 },
        { name: 'requests', defaultValue: 300, min: 10, max: 100_000 },
      ],
      usage,
    );
    return { runs: counts.runs!, requests: counts.requests! };
  },
  body,
  report: tables,
});
