/** A terminal WebSocket client for tests: collects output and control messages. */
import WebSocket from 'ws';
import { learnerCookies } from '../../server/http/learner-cookie.ts';
import { testSecret } from './secret.ts';
import { parseServerMessage, terminalPath, terminalQuery, type ClientMessage, type ServerMessage } from '../../protocol/terminal.ts';

export interface TestTerminal {
  socket: WebSocket;
  messages: ServerMessage[];
  output(): string;
  outputBytes(): number;
  send(message: ClientMessage): void;
  type(text: string): void;
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs?: number, what?: string): Promise<T>;
  waitForMessage<K extends ServerMessage['type']>(type: K, match?: (message: Extract<ServerMessage, { type: K }>) => boolean, timeoutMs?: number): Promise<Extract<ServerMessage, { type: K }>>;
  closed: Promise<{ code: number; reason: string }>;
}

/** The cookie header for a learner id, signed with the key test servers use (tests/support/secret.ts). */
export function learnerCookie(id: string, secret: string = testSecret): string {
  return `slipway_learner=${learnerCookies(secret).value(id)}`;
}

/** A fresh learner id (22 base64url characters), as the server would issue it. */
export function newLearnerId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
}

export function openTerminal(
  baseUrl: string,
  options: { lesson?: string; node?: string; learnerId?: string; headers?: Record<string, string>; origin?: string; cols?: number; rows?: number; resume?: { shellId: string; offset: number } } = {},
): TestTerminal {
  const url = new URL(terminalPath, baseUrl.replace(/^http/, 'ws'));
  url.search = terminalQuery({
    lesson: options.lesson ?? 'hello-world',
    node: options.node ?? 'node1',
    cols: options.cols ?? 80,
    rows: options.rows ?? 24,
    resume: options.resume?.shellId,
    offset: options.resume?.offset,
  });
  const headers: Record<string, string> = { ...options.headers };
  if (options.learnerId) headers.cookie = learnerCookie(options.learnerId);
  if (options.origin) headers.origin = options.origin;
  const socket = new WebSocket(url, { headers });
  const messages: ServerMessage[] = [];
  const chunks: Buffer[] = [];
  let bytes = 0;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  socket.on('message', (data, isBinary) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      chunks.push(buffer);
      bytes += buffer.length;
    } else {
      const parsed = parseServerMessage(buffer.toString('utf8'));
      if (parsed.ok) messages.push(parsed.message);
    }
    notify();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      notify();
    });
    socket.on('error', () => undefined);
  });
  const terminal: TestTerminal = {
    socket,
    messages,
    output: () => Buffer.concat(chunks).toString('utf8'),
    outputBytes: () => bytes,
    send: (message) => socket.send(JSON.stringify(message)),
    type: (text) => socket.send(Buffer.from(text), { binary: true }),
    waitFor: (predicate, timeoutMs = 30000, what = 'condition') =>
      new Promise((resolve, reject) => {
        const check = () => {
          const value = predicate();
          if (value) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(value as never);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${what}; messages: ${JSON.stringify(messages).slice(-1500)}; output: ${terminal.output().slice(-800)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    waitForMessage: (type, match = () => true, timeoutMs = 30000) =>
      terminal.waitFor(
        () => messages.find((message) => message.type === type && match(message as never)) as never,
        timeoutMs,
        `a ${type} message`,
      ),
    closed,
  };
  return terminal;
}
