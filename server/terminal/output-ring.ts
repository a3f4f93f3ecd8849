/**
 * The last output of a shell, addressed by byte offset since the shell started, so that a
 * reconnecting terminal gets exactly what it missed, and a fresh one (a reload) the recent
 * screen.
 */
export class OutputRing {
  readonly capacity: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Offset of the first byte held. */
  #start = 0;
  /** Whether the first byte held begins a line (nothing dropped, or a newline just before it). */
  #startsAtLine = true;

  /** `start`: the offset of the first byte to come (a shell taken over from an earlier server starts where the page is). */
  constructor(capacity: number, start = 0) {
    this.capacity = capacity;
    this.#start = start;
  }

  /** Offset just past the last byte: the total the shell has printed. */
  get end(): number {
    return this.#start + this.#size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Keep whole chunks while the rest still fills the capacity.
    while (this.#chunks.length > 1 && this.#size - this.#chunks[0]!.length >= this.capacity) {
      const dropped = this.#chunks.shift()!;
      this.#startsAtLine = dropped[dropped.length - 1] === 0x0a;
      this.#size -= dropped.length;
      this.#start += dropped.length;
    }
  }

  /** The bytes from `offset` on, or undefined when they are no longer (or not yet) held. */
  since(offset: number): Buffer | undefined {
    if (!Number.isInteger(offset) || offset < this.#start || offset > this.end) return undefined;
    return Buffer.concat(this.#chunks).subarray(offset - this.#start);
  }

  /**
   * What to show a terminal that starts empty: everything held, from a line start (so the
   * replay does not begin inside an escape sequence).
   * Returns the bytes and the offset they start at.
   */
  replay(): { data: Buffer; offset: number } {
    const all = Buffer.concat(this.#chunks);
    if (this.#startsAtLine) return { data: all, offset: this.#start };
    const lineStart = all.indexOf(0x0a) + 1;
    return { data: all.subarray(lineStart), offset: this.#start + lineStart };
  }
}
