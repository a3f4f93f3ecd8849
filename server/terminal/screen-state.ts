/**
 * The screen of a shell as the learner's terminal shows it, kept on the server in a headless
 * xterm.js, so that a reload gets back exactly what was on screen: a full-screen program
 * (vi, top, less) with its cursor and modes, not a replay of the last bytes.
 *
 * Parsing costs the server CPU, so it is bounded: output waits at most `maxBacklog` bytes to
 * be parsed; past that (a flood) the screen stops following and is rebuilt, when someone
 * asks for it, from the recent output the shell's ring still holds.
 */
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import unicode11 from '@xterm/addon-unicode11';

/** Lines kept above the screen, sent with it. */
export const screenScrollback = 200;
/** Output waiting to be parsed beyond which the screen gives up following (bytes). */
const maxBacklog = 512 * 1024;

export class ScreenState {
  readonly #recent: () => Buffer;
  #cols: number;
  #rows: number;
  #terminal: InstanceType<typeof headless.Terminal> | undefined;
  #serializer: InstanceType<typeof serialize.SerializeAddon> | undefined;
  /** Bytes written to the terminal and not parsed yet. */
  #backlog = 0;

  /** `recent`: the shell's recent output, from a line start, to rebuild the screen from after a flood. */
  constructor(cols: number, rows: number, recent: () => Buffer) {
    this.#cols = cols;
    this.#rows = rows;
    this.#recent = recent;
    this.#open();
  }

  #open(): void {
    const terminal = new headless.Terminal({ cols: this.#cols, rows: this.#rows, scrollback: screenScrollback, allowProposedApi: true });
    const serializer = new serialize.SerializeAddon();
    terminal.loadAddon(serializer);
    // The page's terminal uses Unicode 11 widths; CJK must take the same cells here.
    terminal.loadAddon(new unicode11.Unicode11Addon());
    terminal.unicode.activeVersion = '11';
    this.#terminal = terminal;
    this.#serializer = serializer;
    this.#backlog = 0;
  }

  /** Whether the screen follows the output (false after a flood, until the next snapshot). */
  get following(): boolean {
    return this.#terminal !== undefined;
  }

  push(chunk: Buffer): void {
    const terminal = this.#terminal;
    if (!terminal) return;
    if (this.#backlog + chunk.length > maxBacklog) {
      this.#close();
      return;
    }
    this.#backlog += chunk.length;
    terminal.write(chunk, () => {
      if (this.#terminal === terminal) this.#backlog -= chunk.length;
    });
  }

  resize(cols: number, rows: number): void {
    this.#cols = cols;
    this.#rows = rows;
    this.#terminal?.resize(cols, rows);
  }

  /** The screen and the lines above it, as bytes that redraw it on an empty terminal. */
  async snapshot(): Promise<Buffer> {
    if (!this.#terminal) {
      this.#open();
      this.push(this.#recent());
    }
    const terminal = this.#terminal!;
    const serializer = this.#serializer!;
    // Serialized in the write callback: everything pushed before this call is parsed, nothing
    // pushed after it yet (a watcher gets that part as output; it must not be on both).
    return new Promise<Buffer>((resolve) => terminal.write('', () => resolve(Buffer.from(serializer.serialize({ scrollback: screenScrollback }), 'utf8'))));
  }

  #close(): void {
    this.#terminal?.dispose();
    this.#terminal = undefined;
    this.#serializer = undefined;
    this.#backlog = 0;
  }

  dispose(): void {
    this.#close();
  }
}
