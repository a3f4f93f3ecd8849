/**
 * Terminal benchmark: keystroke echo latency and output throughput over the terminal
 * WebSocket, and the server process's memory while it streams a lot of output. Runs Slipway
 * in-process (instance `bench`) against the local Docker engine and talks to it over one
 * WebSocket on loopback, acknowledging output as the browser does. Removes everything it
 * created when it ends.
 *
 *   node bench/terminal.ts [--runs N]
 */
import { performance } from 'node:perf_hooks';
import { flowControl } from '../protocol/terminal.ts';
import { newLearnerId } from '../tests/support/ws-client.ts';
import { connect, waitForIdlePrompt, type Terminal } from './terminal-client.ts';
import { BenchError, loopbackUrl, median, mib, parseCountOption, percentile, runBench, sortedCopy, type BenchRun, type Table } from './support.ts';

const lesson = 'hello-world';
const prompt = 'root@node1';
/** Wide enough that the throughput command line never wraps (a wrap could split the marker). */
const cols = 200;
const rows = 50;
const readyTimeoutMs = 120_000;
const echoTimeoutMs = 5_000;
const throughputTimeoutMs = 300_000;
const keystrokes = 200;
const pauseBetweenKeystrokesMs = 10;

const throughputCommand = 'head -c 50000000 /dev/zero | base64 -w 0; echo; echo THROUGHPUT-END';
/** base64 of 50,000,000 bytes; the output must hold at least this much. */
const throughputPayloadBytes = Math.ceil(50_000_000 / 3) * 4;
/** The marker as output, at the start of a line; the echoed command line has "echo " before it. */
const marker = Buffer.from('\nTHROUGHPUT-END');

function parseRuns(argv: string[]): number {
  return parseCountOption(argv, { name: 'runs', defaultValue: 3, min: 1, max: 100, usage: 'Usage: node bench/terminal.ts [--runs N]   (throughput runs, default 3)' });
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** Appends each latency to `latencies` as it is measured, so an interruption keeps them. */
async function measureEcho(terminal: Terminal, latencies: number[], interrupts: { checkpoint(): void; sleep(ms: number): Promise<void> }): Promise<void> {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < keystrokes; i++) {
    interrupts.checkpoint();
    const letter = letters[i % letters.length]!;
    const code = letter.charCodeAt(0);
    const echoed = terminal.nextOutput((chunk) => chunk.includes(code), echoTimeoutMs, `echo of '${letter}'`);
    echoed.catch(() => undefined); // rejections are handled where it is awaited
    const sentAt = performance.now();
    terminal.type(letter);
    latencies.push((await echoed) - sentAt);
    // Readline answers a backspace with "\b" and an erase; wait for it before the next key.
    const erased = terminal.nextOutput((chunk) => chunk.includes(0x08), echoTimeoutMs, 'erase after backspace');
    erased.catch(() => undefined);
    terminal.type('\x7f');
    await erased;
    await interrupts.sleep(pauseBetweenKeystrokesMs);
  }
}

interface ThroughputRun {
  bytes: number;
  ms: number;
  mbPerSecond: number;
}

async function measureThroughput(terminal: Terminal): Promise<ThroughputRun> {
  let carry = Buffer.alloc(0);
  const keep = marker.length - 1;
  const ended = terminal.nextOutput(
    (chunk) => {
      // The marker may straddle two frames.
      const found = chunk.includes(marker) || Buffer.concat([carry, chunk.subarray(0, keep)]).includes(marker);
      carry = Buffer.concat([carry, chunk.subarray(-keep)]).subarray(-keep);
      return found;
    },
    throughputTimeoutMs,
    'THROUGHPUT-END marker',
  );
  ended.catch(() => undefined);
  const before = terminal.received();
  const sentAt = performance.now();
  terminal.type(`${throughputCommand}\r`);
  const endedAt = await ended;
  const bytes = terminal.received() - before;
  if (bytes < throughputPayloadBytes) {
    throw new BenchError(`The throughput command printed only ${bytes} bytes, not the ${throughputPayloadBytes} of base64 expected. Last output: ${JSON.stringify(terminal.tail().slice(-300))}`);
  }
  const ms = endedAt - sentAt;
  return { bytes, ms, mbPerSecond: bytes / 1e6 / (ms / 1000) };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Results {
  latencies: number[];
  throughput: ThroughputRun[];
  rssBefore?: number;
  rssAfter?: number;
  rssPeak?: number;
}

const fixed = (digits: number) => (value: number) => value.toFixed(digits);

function tables(results: Results): Table[] {
  const out: Table[] = [];
  if (results.latencies.length > 0) {
    const sorted = sortedCopy(results.latencies);
    const f = fixed(2);
    out.push({
      title: 'Keystroke echo latency',
      note: 'Milliseconds from sending one character until its echo arrives.',
      header: ['metric', 'keys', 'min', 'median', 'p90', 'p99', 'max'],
      markdownHeader: ['metric', 'keys', 'min (ms)', 'median (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)'],
      rows: [
        [
          'keystroke echo latency',
          String(sorted.length),
          f(sorted[0]!),
          f(median(sorted)),
          f(percentile(sorted, 90)),
          f(percentile(sorted, 99)),
          f(sorted[sorted.length - 1]!),
        ],
      ],
    });
  }
  if (results.throughput.length > 0) {
    const speeds = sortedCopy(results.throughput.map((run) => run.mbPerSecond));
    const times = sortedCopy(results.throughput.map((run) => run.ms / 1000));
    const f1 = fixed(1);
    const f2 = fixed(2);
    const megabytes = (results.throughput.reduce((sum, run) => sum + run.bytes, 0) / results.throughput.length / 1e6).toFixed(1);
    out.push({
      title: 'Output throughput',
      note: `${megabytes} MB over the WebSocket per run (1 MB = 10^6 bytes), acknowledged every ${flowControl.ackEvery / 1024} KiB.`,
      header: ['metric', 'runs', 'min', 'median', 'max'],
      rows: [
        ['throughput (MB/s)', String(speeds.length), f1(speeds[0]!), f1(median(speeds)), f1(speeds[speeds.length - 1]!)],
        ['time until THROUGHPUT-END (s)', String(times.length), f2(times[0]!), f2(median(times)), f2(times[times.length - 1]!)],
      ],
    });
  }
  if (results.rssBefore !== undefined) {
    const f = (bytes: number | undefined) => (bytes === undefined ? '-' : mib(bytes).toFixed(1));
    out.push({
      title: 'Server memory',
      note: 'RSS of the Node process (Slipway and this client), MiB.',
      header: ['metric', 'MiB'],
      rows: [
        ['RSS before the throughput runs', f(results.rssBefore)],
        ['RSS peak during the throughput runs (sampled every 50 ms)', f(results.rssPeak)],
        ['RSS after the throughput runs', f(results.rssAfter)],
      ],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const results: Results = { latencies: [], throughput: [] };

async function body(bench: BenchRun, runs: number): Promise<void> {
  const { interrupts } = bench;
  const checkpoint = interrupts.checkpoint;
  const base = loopbackUrl(bench.slipway);
  console.log(`Slipway is up at ${bench.slipway.url} (start-up took ${Math.round(bench.startupMs)} ms). ${keystrokes} keystrokes, ${runs} throughput run(s).`);

  process.stdout.write('Opening a terminal (new sandbox)… ');
  const open = await connect(base, newLearnerId(), { lesson, cols, rows });
  // Ctrl-C: closing the socket ends any wait for output at once.
  bench.closeAtEnd('the terminal socket', () => open.close(), { onInterrupt: true });
  await open.waitFor(() => open.messages.some((message) => message.type === 'status' && message.phase === 'ready'), readyTimeoutMs, "'ready' status");
  // The lesson check the server runs on connect would compete with the first keystrokes.
  await open.waitFor(() => open.messages.some((message) => message.type === 'checks'), readyTimeoutMs, 'lesson check after connect');
  await waitForIdlePrompt(open, prompt, readyTimeoutMs);
  checkpoint();
  console.log('ready');

  process.stdout.write(`Echo latency (${keystrokes} keys)… `);
  await measureEcho(open, results.latencies, interrupts);
  console.log('done');

  await waitForIdlePrompt(open, prompt, 30_000);
  checkpoint();
  results.rssBefore = process.memoryUsage().rss;
  results.rssPeak = results.rssBefore;
  const sampler = setInterval(() => {
    results.rssPeak = Math.max(results.rssPeak ?? 0, process.memoryUsage().rss);
  }, 50);
  try {
    for (let run = 1; run <= runs; run++) {
      checkpoint();
      process.stdout.write(`Throughput run ${run}/${runs}… `);
      const result = await measureThroughput(open);
      results.throughput.push(result);
      console.log(`${result.mbPerSecond.toFixed(1)} MB/s`);
      // The prompt after the marker, and the lesson check the finished command triggers.
      await waitForIdlePrompt(open, prompt, 30_000);
    }
  } finally {
    clearInterval(sampler);
  }
  results.rssAfter = process.memoryUsage().rss;
  results.rssPeak = Math.max(results.rssPeak, results.rssAfter);
}

runBench({ options: parseRuns, body, report: () => tables(results) });
