/**
 * What the page needs of the terminal protocol (protocol/terminal.ts), without zod: limits,
 * flow control, close codes, the socket's path and query, and reading the server's control
 * messages. The page trusts its own server's messages as far as their shape goes (the server
 * builds them from the schemas in terminal.ts) and only checks they are JSON with a known
 * type, so it does not load and build the schemas before its terminal can start.
 */
import type { ServerMessage } from './terminal.ts';

/** Terminal sizes outside this range are refused; xterm.js itself stays far inside it. */
export const terminalLimits = { minCols: 2, maxCols: 1000, minRows: 1, maxRows: 500 } as const;

/** Largest text frame the server will parse, and largest binary frame (a paste) it accepts. */
export const maxControlFrameBytes = 4096;
export const maxInputFrameBytes = 64 * 1024;

/** Flow control: the server pauses the shell's output above `high` unacknowledged bytes. */
export const flowControl = { high: 512 * 1024, low: 128 * 1024, ackEvery: 32 * 1024 } as const;

/**
 * Close codes the server ends a terminal socket with (RFC 6455): `shellExited` after an
 * `exit` message; `refused` after a fatal error the learner must act on (bad query, unknown
 * lesson or node); `failed` after a fatal error of the server or the sandbox.
 */
export const closeCodes = { shellExited: 1000, refused: 1008, failed: 1011 } as const;

/** The path the terminal socket is served on; its query is a TerminalQuery. */
export const terminalPath = '/ws/terminal';

/** The query string for a terminal socket (without the leading `?`). */
export function terminalQuery(query: { lesson: string; node?: string; cols: number; rows: number; resume?: string | undefined; offset?: number | undefined }): string {
  const params = new URLSearchParams({ lesson: query.lesson, node: query.node ?? 'node1', cols: String(query.cols), rows: String(query.rows) });
  if (query.resume) {
    params.set('resume', query.resume);
    params.set('offset', String(query.offset ?? 0));
  }
  return params.toString();
}

/** Every type of server message (terminal.ts checks at compile time that none is missing). */
export const serverMessageTypes = ['status', 'notice', 'error', 'checks', 'shell', 'solution', 'setup', 'exit', 'ports', 'port-share', 'pong'] as const;

/** A server control message as the page reads it: undefined for text that is not JSON or has an unknown type. */
export function readServerMessage(text: string): ServerMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const type: unknown = (raw as { type?: unknown }).type;
  return (serverMessageTypes as readonly unknown[]).includes(type) ? (raw as ServerMessage) : undefined;
}
