import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TerminalConnection } from './terminal-connection.ts';

/** A WebSocket stand-in: records what is sent, opens when told. */
class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static last: FakeSocket | undefined;
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  readonly sent: string[] = [];
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = url;
    FakeSocket.last = this;
  }
  send(data: string | Uint8Array): void {
    this.sent.push(typeof data === 'string' ? data : `<${data.length} bytes>`);
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }
}

beforeEach(() => {
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('location', { protocol: 'http:', host: 'slipway.test' });
  const stored = new Map<string, string>();
  vi.stubGlobal('sessionStorage', { getItem: (key: string) => stored.get(key) ?? null, setItem: (key: string, value: string) => stored.set(key, value), removeItem: (key: string) => stored.delete(key) });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const events = { output: () => undefined, message: () => undefined, closed: () => undefined };

describe('TerminalConnection', () => {
  it('sends the size the view took while the socket was connecting, once it opens', () => {
    let size = { cols: 88, rows: 50 };
    const connection = new TerminalConnection('hello-world', 'node1', () => size, events);
    connection.connect();
    const socket = FakeSocket.last!;
    expect(new URL(socket.url).searchParams.get('cols')).toBe('88');
    // xterm.js loaded and fitted itself; its resize could not be sent yet.
    size = { cols: 90, rows: 48 };
    expect(connection.send({ type: 'resize', ...size })).toBe(false);
    socket.open();
    expect(socket.sent.map((text) => JSON.parse(text) as unknown)).toEqual([{ type: 'resize', cols: 90, rows: 48 }]);
  });

  it('sends no resize when the size is the one the socket was opened with', () => {
    const connection = new TerminalConnection('hello-world', 'node1', () => ({ cols: 90, rows: 48 }), events);
    connection.connect();
    FakeSocket.last!.open();
    expect(FakeSocket.last!.sent).toEqual([]);
  });
});
