/**
 * Keystrokes and resizes from one browser into a shell, with bounded memory whatever the
 * client sends: input waits in a bounded queue (before the shell is attached, or behind a
 * resize, so `stty size` typed after a resize sees the new size), and while the queue is full
 * or the shell does not read its input, the socket is paused, so TCP pushes back on the client.
 * One resize is in flight at a time and only the latest size waits behind it.
 */
import type { Writable } from 'node:stream';

export interface Pausable {
  pause(): void;
  resume(): void;
}

export interface InputTarget {
  stream: Writable;
  resize(cols: number, rows: number): Promise<void>;
}

/** Input held back at most; beyond it the socket is paused. */
export const maxQueuedInputBytes = 256 * 1024;

export class TerminalInput {
  readonly #socket: Pausable;
  readonly #limit: number;
  readonly #onResizeError: (error: unknown) => void;
  #target: InputTarget | undefined;
  #queue: Buffer[] = [];
  #queued = 0;
  #resizing = false;
  #nextSize: { cols: number; rows: number } | undefined;
  #socketPaused = false;
  #waitingForDrain = false;

  constructor(socket: Pausable, options: { limit?: number; onResizeError?: (error: unknown) => void } = {}) {
    this.#socket = socket;
    this.#limit = options.limit ?? maxQueuedInputBytes;
    this.#onResizeError = options.onResizeError ?? (() => undefined);
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  readonly #onDrain = () => {
    this.#waitingForDrain = false;
    this.#flush();
  };

  /** The shell is there: apply the latest size, then the queued input. */
  attach(target: InputTarget, size: { cols: number; rows: number }): void {
    this.#target = target;
    target.stream.on('drain', this.#onDrain);
    this.resize(size.cols, size.rows);
  }

  /** The socket is gone: forget the shell (it may be taken over by another socket) and the queue. */
  detach(): void {
    this.#target?.stream.off('drain', this.#onDrain);
    this.#target = undefined;
    this.#queue = [];
    this.#queued = 0;
  }

  write(data: Buffer): void {
    this.#queue.push(data);
    this.#queued += data.length;
    this.#flush();
  }

  resize(cols: number, rows: number): void {
    this.#nextSize = { cols, rows };
    if (this.#target && !this.#resizing) void this.#runResizes(this.#target);
  }

  async #runResizes(target: InputTarget): Promise<void> {
    this.#resizing = true;
    while (this.#nextSize) {
      const { cols, rows } = this.#nextSize;
      this.#nextSize = undefined;
      await target.resize(cols, rows).catch(this.#onResizeError);
    }
    this.#resizing = false;
    this.#flush();
  }

  #flush(): void {
    const target = this.#target;
    while (target && !this.#resizing && !this.#waitingForDrain && this.#queue.length > 0) {
      const chunk = this.#queue.shift()!;
      this.#queued -= chunk.length;
      if (!target.stream.writable) continue;
      // write() returning false: the shell is not reading; wait for 'drain' before more.
      if (!target.stream.write(chunk)) this.#waitingForDrain = true;
    }
    const full = this.#queued >= this.#limit || this.#waitingForDrain;
    if (full && !this.#socketPaused) {
      this.#socketPaused = true;
      this.#socket.pause();
    } else if (!full && this.#socketPaused) {
      this.#socketPaused = false;
      this.#socket.resume();
    }
  }
}
