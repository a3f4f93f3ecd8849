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
import WebSocket from 'ws';
import { flowControl, parseServerMessage, terminalPath,
  terminalQuery, type ServerMessage } from '../protocol/terminal.ts';
import { learnerCookie, newLearnerId } from '../tests/support/ws-client.ts';
import { BenchError, loopbackUrl, median, mib, parseCountOption, percentile, runBench, sortedCopy, type BenchRun, type Table } from './support.ts';

const lesson = 'hello-world';
const prompt = 'root@node1';
/** Wide enough that the throughput command line never wraps (a wrap could split the marker). */
const cols = 200;
const rows = 50;
const readyTimeoutMs = 120_000;
const echoTimeoutMs = 5_000;
const throughputTimeoutMs = 300_000;
/** The prompt counts as idle after this long without output. */
const quietMs = 300;
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
// A lean terminal client. Unlike tests/support/ws-client.ts it keeps no output beyond a short
// tail: it shares the process with the server, whose memory the benchmark reports.

interface Terminal {
  /** Binary bytes received so far. */
  received(): number;
  /** Time (performance.now()) of the last binary frame. */
  lastOutputAt(): number;
  /** The last few KiB of output, as text. */
  tail(): string;
  messages: ServerMessage[];
  type(text: string): void;
  /** Resolves with the arrival time of the first output chunk for which `match` is true. */
  nextOutput(match: (chunk: Buffer) => boolean, timeoutMs: number, what: string): Promise<number>;
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): void;
}

const tailBytes = 4096;

function connect(base: URL, learnerId: string): Promise<Terminal> {
  const url = new URL(terminalPath, base.href.replace(/^http/, 'ws'));
  url.search = terminalQuery({ lesson, cols, rows });
  const socket = new WebSocket(url, { headers: { cookie: learnerCookie(learnerId) } });
  const messages: ServerMessage[] = [];
  let received = 0;
  let unacked = 0;
  let lastOutputAt = performance.now();
  let tail = Buffer.alloc(0);
  let closedBecause: string | undefined;
  const watchers = new Set<(chunk: Buffer | undefined, at: number) => void>();

  socket.on('message', (data, isBinary) => {
    const at = performance.now();
    const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      received += chunk.length;
      lastOutputAt = at;
      tail = Buffer.concat([tail, chunk.subarray(-tailBytes)]).subarray(-tailBytes);
      // As the browser does once its terminal has parsed the bytes.
      unacked += chunk.length;
      if (unacked >= flowControl.ackEvery && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: 'ack', bytes: unacked }));
        unacked = 0;
      }
      for (const watch of [...watchers]) watch(chunk, at);
    } else {
      const parsed = parseServerMessage(chunk.toString('utf8'));
      if (parsed.ok) {
        messages.push(parsed.message);
        if (parsed.message.type === 'error' && parsed.message.fatal) closedBecause = `the server sent ${parsed.message.code}: ${parsed.message.message}`;
      }
      for (const watch of [...watchers]) watch(undefined, at);
    }
  });
  socket.on('close', (code, reason) => {
    closedBecause ??= `the socket closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
    for (const watch of [...watchers]) watch(undefined, performance.now());
  });

  const terminal: Terminal = {
    received: () => received,
    lastOutputAt: () => lastOutputAt,
    tail: () => tail.toString('utf8'),
    messages,
    type: (text) => socket.send(Buffer.from(text), { binary: true }),
    nextOutput: (match, timeoutMs, what) =>
      new Promise<number>((resolve, reject) => {
        const done = (error: Error | undefined, at = 0) => {
          watchers.delete(watch);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(at);
        };
        const watch = (chunk: Buffer | undefined, at: number) => {
          if (chunk && match(chunk)) done(undefined, at);
          else if (closedBecause) done(new BenchError(`Waiting for ${what}: ${closedBecause}.`));
        };
        const timer = setTimeout(
          () => done(new BenchError(`No ${what} within ${timeoutMs / 1000} s. Last output: ${JSON.stringify(terminal.tail().slice(-300))}`)),
          timeoutMs,
        );
        if (closedBecause) done(new BenchError(`Waiting for ${what}: ${closedBecause}.`));
        else watchers.add(watch);
      }),
    waitFor: (predicate, timeoutMs, what) =>
      new Promise<void>((resolve, reject) => {
        const deadline = performance.now() + timeoutMs;
        const poll = () => {
          if (predicate()) return resolve();
          if (closedBecause) return reject(new BenchError(`Waiting for ${what}: ${closedBecause}.`));
          if (performance.now() > deadline) {
            return reject(
              new BenchError(
                `No ${what} within ${timeoutMs / 1000} s. Messages: ${JSON.stringify(messages).slice(-500)}. Last output: ${JSON.stringify(terminal.tail().slice(-300))}`,
              ),
            );
          }
          setTimeout(poll, 20);
        };
        poll();
      }),
    close: () => {
      closedBecause ??= 'the benchmark closed the socket';
      socket.terminate();
    },
  };

  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(terminal));
    socket.once('error', (error) => reject(new BenchError(`The terminal socket at ${url.origin}${url.pathname} did not open: ${error.message}`)));
  });
}

/** The text of the output's last line as the screen shows it: escapes dropped, backspaces applied. */
function lastLine(output: string): string {
  const plain = output.replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const line = plain.slice(plain.lastIndexOf('\n') + 1);
  let shown = '';
  for (const char of line) {
    if (char === '\b') shown = shown.slice(0, -1);
    else if (char === '\r') shown = '';
    else shown += char;
  }
  return shown;
}

/** Waits until the shell shows an empty prompt on the last line and has been quiet a moment. */
async function waitForIdlePrompt(terminal: Terminal, timeoutMs: number): Promise<void> {
  await terminal.waitFor(
    () => {
      const line = lastLine(terminal.tail());
      return line.startsWith(prompt) && line.endsWith('# ') && performance.now() - terminal.lastOutputAt() >= quietMs;
    },
    timeoutMs,
    `idle '${prompt}' prompt`,
  );
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
  const open = await connect(base, newLearnerId());
  // Ctrl-C: closing the socket ends any wait for output at once.
  bench.closeAtEnd('the terminal socket', () => open.close(), { onInterrupt: true });
  await open.waitFor(() => open.messages.some((message) => message.type === 'status' && message.phase === 'ready'), readyTimeoutMs, "'ready' status");
  // The lesson check the server runs on connect would compete with the first keystrokes.
  await open.waitFor(() => open.messages.some((message) => message.type === 'checks'), readyTimeoutMs, 'lesson check after connect');
  await waitForIdlePrompt(open, readyTimeoutMs);
  checkpoint();
  console.log('ready');

  process.stdout.write(`Echo latency (${keystrokes} keys)… `);
  await measureEcho(open, results.latencies, interrupts);
  console.log('done');

  await waitForIdlePrompt(open, 30_000);
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
      await waitForIdlePrompt(open, 30_000);
    }
  } finally {
    clearInterval(sampler);
  }
  results.rssAfter = process.memoryUsage().rss;
  results.rssPeak = Math.max(results.rssPeak, results.rssAfter);
}

runBench({ options: parseRuns, body, report: () => tables(results) });
