/**
 * Flow control of a shell's output towards one browser. The shell's stream is paused while
 * too much is in flight, counted two ways, and resumed only when both are low again:
 * - bytes the browser's terminal has not yet acknowledged as parsed (its acks), and
 * - bytes the socket itself has not yet handed to the network (a client that never reads
 *   gets no further, whatever acks it sends).
 * Acks for more than was sent count as what was sent.
 */
import { flowControl } from '../../protocol/terminal.ts';

export interface FlowTarget {
  /** Sends a chunk; `written` runs once the socket has handed it on. */
  send(chunk: Buffer, written: () => void): void;
  /** Bytes queued in the socket and not yet written. */
  readonly bufferedAmount: number;
  pause(): void;
  resume(): void;
}

export class OutputFlow {
  readonly #target: FlowTarget;
  readonly #high: number;
  readonly #low: number;
  #unacked = 0;
  #paused = false;

  constructor(target: FlowTarget, limits: { high: number; low: number } = flowControl) {
    this.#target = target;
    this.#high = limits.high;
    this.#low = limits.low;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get unacked(): number {
    return this.#unacked;
  }

  send(chunk: Buffer): void {
    this.#unacked += chunk.length;
    this.#target.send(chunk, () => this.#maybeResume());
    if (!this.#paused && (this.#unacked > this.#high || this.#target.bufferedAmount > this.#high)) {
      this.#paused = true;
      this.#target.pause();
    }
  }

  ack(bytes: number): void {
    this.#unacked = Math.max(0, this.#unacked - bytes);
    this.#maybeResume();
  }

  #maybeResume(): void {
    if (this.#paused && this.#unacked < this.#low && this.#target.bufferedAmount < this.#low) {
      this.#paused = false;
      this.#target.resume();
    }
  }
}
