/**
 * The terminal's WebSocket: speaks the protocol in server/terminal/protocol.ts, acknowledges
 * parsed output for flow control, and reconnects after a dropped connection.
 */
import {
  flowControl,
  parseServerMessage,
  terminalPath,
  type ClientMessage,
  type ServerMessage,
} from '../../server/terminal/protocol.ts';

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
  readonly #lessonId: string;
  readonly #events: ConnectionEvents;
  readonly #size: () => { cols: number; rows: number };

  constructor(lessonId: string, size: () => { cols: number; rows: number }, events: ConnectionEvents) {
    this.#lessonId = lessonId;
    this.#size = size;
    this.#events = events;
  }

  get shellExited(): boolean {
    return this.#shellExited;
  }

  connect(): void {
    this.#shellExited = false;
    const { cols, rows } = this.#size();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = new URLSearchParams({ lesson: this.#lessonId, cols: String(cols), rows: String(rows) });
    const socket = new WebSocket(`${scheme}//${location.host}${terminalPath}?${query}`);
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        const parsed = parseServerMessage(event.data);
        if (!parsed.ok) return;
        const message = parsed.message;
        if (message.type === 'status' && message.phase === 'ready') this.#retries = 0;
        if (message.type === 'error' && message.fatal) this.#fatal = true;
        if (message.type === 'exit') this.#shellExited = true;
        this.#events.message(message);
        return;
      }
      const data = new Uint8Array(event.data as ArrayBuffer);
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
