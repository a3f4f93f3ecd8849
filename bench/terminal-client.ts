/**
 * A lean terminal client for the benchmarks. Unlike tests/support/ws-client.ts it keeps no
 * output beyond a short tail: it shares the process with the server, whose memory benchmarks
 * report. It acknowledges output as the browser does (unless told not to: a client that does
 * not read).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { flowControl, parseServerMessage, terminalPath, terminalQuery, type ServerMessage } from '../protocol/terminal.ts';
import { learnerCookie } from '../tests/support/ws-client.ts';
import { BenchError } from './support.ts';

/** The prompt counts as idle after this long without output. */
const quietMs = 300;
export interface Terminal {
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

export function connect(base: URL, learnerId: string, options: { lesson: string; cols: number; rows: number; acks?: boolean }): Promise<Terminal> {
  const url = new URL(terminalPath, base.href.replace(/^http/, 'ws'));
  url.search = terminalQuery({ lesson: options.lesson, cols: options.cols, rows: options.rows });
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
      if (options.acks !== false && unacked >= flowControl.ackEvery && socket.readyState === WebSocket.OPEN) {
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
export function lastLine(output: string): string {
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
export async function waitForIdlePrompt(terminal: Terminal, prompt: string, timeoutMs: number): Promise<void> {
  await terminal.waitFor(
    () => {
      const line = lastLine(terminal.tail());
      return line.startsWith(prompt) && line.endsWith('# ') && performance.now() - terminal.lastOutputAt() >= quietMs;
    },
    timeoutMs,
    `idle '${prompt}' prompt`,
  );
}
