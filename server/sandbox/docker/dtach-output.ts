/**
 * What a dtach client prints of its own, taken out of a held shell's output: the screen clear
 * it writes when it attaches (the learner's screen must stay as it was when a restarted server
 * attaches again) and its farewell when the shell ends ("[EOF - dtach terminating]", then a
 * cursor-show sequence). Everything else passes through unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';

const clearScreen = Buffer.from('\x1b[H\x1b[J', 'latin1');
/** dtach ends every message of its own with a jump to the bottom line, a line break and brackets. */
const farewell = /\x1b\[999H\r\n\[(?:EOF - dtach terminating|detached|got signal \d+ - dying|read returned an error|select failed)\]\r\n/;
const farewellStart = Buffer.from('\x1b[999H', 'latin1');

export class DtachOutput extends Transform {
  /** The first bytes, while they may still be the start of the screen clear. */
  #head: Buffer | undefined = Buffer.alloc(0);
  #attach: () => void = () => undefined;
  /**
   * Resolves once the client is attached: its first bytes (the screen clear, written after it
   * set its terminal raw) have come, or the stream ended. Input sent before that would meet a
   * terminal still in cooked mode, where Ctrl-C is a signal to the client, not a byte.
   */
  readonly attached = new Promise<void>((resolve) => {
    this.#attach = resolve;
  });
  /** After the farewell only the client's terminal reset follows. */
  #done = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#done) return callback();
    let data = chunk;
    if (this.#head) {
      data = Buffer.concat([this.#head, data]);
      const held = Math.min(data.length, clearScreen.length);
      if (data.subarray(0, held).equals(clearScreen.subarray(0, held))) {
        if (data.length < clearScreen.length) {
          this.#head = data;
          return callback();
        }
        data = data.subarray(clearScreen.length);
      }
      this.#head = undefined;
      this.#attach();
    }
    if (data.includes(farewellStart)) {
      const text = data.toString('latin1');
      const match = farewell.exec(text);
      if (match) {
        this.#done = true;
        data = Buffer.from(text.slice(0, match.index), 'latin1');
      }
    }
    callback(null, data.length > 0 ? data : undefined);
  }

  override _flush(callback: TransformCallback): void {
    this.#attach();
    callback(null, this.#head && this.#head.length > 0 ? this.#head : undefined);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#attach();
    callback(error);
  }
}
