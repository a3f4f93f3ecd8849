/**
 * Finds "command finished" marks (OSC 133 ; D) in a shell's output. The sandbox's bashrc
 * prints one before every prompt; a mark may be split across chunks.
 */
const mark = Buffer.from('\x1b]133;D');

export class CommandFinishedDetector {
  #tail = Buffer.alloc(0);

  /** Number of marks that end in this chunk. */
  push(chunk: Buffer): number {
    const data = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk;
    let count = 0;
    let from = 0;
    for (;;) {
      const at = data.indexOf(mark, from);
      if (at < 0) break;
      // A mark already wholly inside the tail was counted with the previous chunk.
      if (at + mark.length > this.#tail.length) count += 1;
      from = at + mark.length;
    }
    this.#tail = Buffer.from(data.subarray(Math.max(0, data.length - (mark.length - 1))));
    return count;
  }
}
