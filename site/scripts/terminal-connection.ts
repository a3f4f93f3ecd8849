/**
 * The terminal's WebSocket: speaks the protocol in server/terminal/protocol.ts, acknowledges
 * parsed output for flow control, and reconnects after a dropped connection.
 */
// Not protocol/terminal.ts: its zod schemas would load and build before the terminal starts.
import { flowControl, readServerMessage, terminalPath, terminalQuery } from '../../protocol/terminal-wire.ts';
import type { ClientMessage, ServerMessage } from '../../protocol/terminal.ts';

export interface ConnectionEvents {
  output(data: Uint8Array, parsed: () => void): void;
  message(message: ServerMessage): void;
  /** The socket closed; `willRetry` says whether a reconnect is scheduled. */
  closed(willRetry: boolean): void;
}

export class TerminalConnection {
  #socket: WebSocket | undefined;
  #parsedSinceAck = 0;
  #retries = 0;
  #fatal = false;
  #shellExited = false;
  /** The shell this page is attached to, kept across reloads of this tab, and its output so far. */
  #shellId: string | undefined;
  #received = 0;
  readonly #lesson: string;
  readonly #node: string;
  readonly #events: ConnectionEvents;
  readonly #size: () => { cols: number; rows: number };

  constructor(lesson: string, node: string, size: () => { cols: number; rows: number }, events: ConnectionEvents) {
    this.#lesson = lesson;
    this.#node = node;
    this.#size = size;
    this.#events = events;
    this.#shellId = sessionStorage.getItem(this.#storageKey) ?? undefined;
  }

  get #storageKey(): string {
    return `slipway:shell:${this.#lesson}:${this.#node}`;
  }

  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  get shellExited(): boolean {
    return this.#shellExited;
  }

  connect(): void {
    this.#shellExited = false;
    const { cols, rows } = this.#size();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = terminalQuery({ lesson: this.#lesson, node: this.#node, cols, rows, resume: this.#shellId, offset: this.#received });
    // Marks for the start-up benchmark (bench/startup.ts reads them): the first of each counts.
    mark('slipway:socket-created');
    const socket = new WebSocket(`${scheme}//${location.host}${terminalPath}?${query}`);
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.addEventListener(
      'open',
      () => {
        mark('slipway:socket-open');
        // The view may have changed size while the socket was connecting (xterm.js loaded and
        // fitted itself, the window changed): a resize sent then was dropped, so say it now.
        const now = this.#size();
        if (now.cols !== cols || now.rows !== rows) this.send({ type: 'resize', cols: now.cols, rows: now.rows });
      },
      { once: true },
    );
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        const message = readServerMessage(event.data);
        if (!message) return;
        if (message.type === 'shell') mark('slipway:shell');
        if (message.type === 'status' && message.phase === 'ready') {
          mark('slipway:ready');
          this.#retries = 0;
        }
        if (message.type === 'error' && message.fatal) this.#fatal = true;
        if (message.type === 'exit') {
          this.#shellExited = true;
          this.#shellId = undefined;
          this.#received = 0;
          sessionStorage.removeItem(this.#storageKey);
        }
        if (message.type === 'shell') {
          this.#shellId = message.id;
          this.#received = message.offset;
          sessionStorage.setItem(this.#storageKey, message.id);
        }
        this.#events.message(message);
        return;
      }
      const data = new Uint8Array(event.data as ArrayBuffer);
      this.#received += data.length;
      this.#events.output(data, () => this.#parsed(data.length));
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      const willRetry = !this.#fatal && !this.#shellExited;
      this.#events.closed(willRetry);
      if (willRetry) {
        const delay = Math.min(10000, 500 * 2 ** this.#retries++);
        setTimeout(() => this.connect(), delay);
      }
    });
  }

  #parsed(bytes: number): void {
    this.#parsedSinceAck += bytes;
    if (this.#parsedSinceAck >= flowControl.ackEvery) {
      this.send({ type: 'ack', bytes: this.#parsedSinceAck });
      this.#parsedSinceAck = 0;
    }
  }

  /** Sends a control message; false if the socket is not open (nothing was sent). */
  send(message: ClientMessage): boolean {
    if (this.#socket?.readyState !== WebSocket.OPEN) return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  input(data: string): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(new TextEncoder().encode(data));
  }
}

/** A performance mark, once per page: the first time each thing happened. */
function mark(name: string): void {
  if (performance.getEntriesByName(name, 'mark').length === 0) performance.mark(name);
}
