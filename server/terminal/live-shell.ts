/**
 * A learner's shell that outlives its WebSocket for a while: when the socket drops (a
 * laptop sleeps, Wi-Fi changes, the page reloads) the shell is kept, paused, and the next
 * socket of the same learner can take it over and get back the output it missed.
 */
import type { Shell } from '../sandbox/driver.ts';
import { OutputRing } from './output-ring.ts';
import { ScreenState } from './screen-state.ts';

/** Where a shell's output goes while a socket is attached. */
export interface ShellSink {
  output(chunk: Buffer): void;
  exited(code: number | null): void;
}

export interface ShellOwner {
  learnerId: string;
  sessionId: string;
  node: string;
}

/** Output kept per shell for replay. */
export const replayBytes = 256 * 1024;

/** What a page attaching to a shell gets first: the output it missed, or the screen afresh. */
export interface Replay {
  /** Output from `offset` on, sent as terminal bytes. */
  data: Buffer;
  offset: number;
  /** Clear the page's screen first, and draw `screen` (the screen as the server keeps it). */
  reset: boolean;
  screen?: string;
}

export class LiveShell {
  readonly id: string;
  readonly shell: Shell;
  readonly owner: ShellOwner;
  readonly ring: OutputRing;
  #sink: ShellSink | undefined;
  #running = true;
  #graceTimer: NodeJS.Timeout | undefined;
  readonly #screen: ScreenState;
  /** Read-only viewers (a teacher watching): they get the output too, and never type. */
  readonly #watchers = new Set<(chunk: Buffer) => void>();
  #size: { cols: number; rows: number };

  /**
   * `id`: the id the shell was opened with (the node holds it under that id). `offset`: how
   * much output came before (a held shell taken over after a server restart continues where
   * the page is).
   */
  constructor(shell: Shell, owner: ShellOwner, id: string, size: { cols: number; rows: number }, offset = 0) {
    this.id = id;
    this.shell = shell;
    this.owner = owner;
    this.ring = new OutputRing(replayBytes, offset);
    this.#size = { ...size };
    this.#screen = new ScreenState(size.cols, size.rows, () => this.ring.replay().data);
    shell.stream.on('data', (chunk: Buffer) => {
      this.ring.push(chunk);
      this.#screen.push(chunk);
      this.#sink?.output(chunk);
      for (const watcher of this.#watchers) watcher(chunk);
    });
    void shell.exited.then((code) => {
      this.#running = false;
      clearTimeout(this.#graceTimer);
      this.#screen.dispose();
      this.#sink?.exited(code);
    });
  }

  /** Resizes the shell's terminal, and the screen kept for a reload with it. */
  async resize(cols: number, rows: number): Promise<void> {
    this.#size = { cols, rows };
    this.#screen.resize(cols, rows);
    await this.shell.resize(cols, rows);
  }

  get size(): { cols: number; rows: number } {
    return { ...this.#size };
  }

  /**
   * A read-only viewer: the screen as it is now, then every chunk of output; returns the
   * function that stops it. The learner's own socket and flow control are not touched.
   */
  async watch(output: (chunk: Buffer) => void): Promise<{ screen: string; stop: () => void }> {
    // Registered first: output that comes while the snapshot is taken is sent after it, and
    // the screen state has already parsed it or will (snapshot waits for what was pushed).
    const queued: Buffer[] = [];
    let ready = false;
    const watcher = (chunk: Buffer) => (ready ? output(chunk) : queued.push(chunk));
    this.#watchers.add(watcher);
    const screen = (await this.#screen.snapshot()).toString('utf8');
    ready = true;
    return { screen, stop: () => this.#watchers.delete(watcher) };
  }

  get running(): boolean {
    return this.#running;
  }

  get attached(): boolean {
    return this.#sink !== undefined;
  }

  /** Output now goes to `sink`. The caller resumes the stream when its flow control allows. */
  attach(sink: ShellSink): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#sink = sink;
  }

  /** No socket: pause the shell's output and end the shell if nobody takes it within `graceMs`. */
  detach(graceMs: number, expire: () => void): void {
    this.#sink = undefined;
    this.shell.stream.pause();
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(expire, graceMs);
    this.#graceTimer.unref();
  }

  /**
   * What a page that has `offset` bytes of this shell's output is missing: exactly the rest,
   * or, when that is no longer kept (or the page has nothing: a reload), the screen as it is,
   * with the lines above it. Call it while the shell's output is paused.
   */
  async replayFor(offset: number | undefined): Promise<Replay> {
    const missed = offset === undefined || offset === 0 ? undefined : this.ring.since(offset);
    if (missed && offset !== undefined) return { data: missed, offset, reset: false };
    const end = this.ring.end;
    const screen = await this.#screen.snapshot();
    return { data: Buffer.alloc(0), offset: end, reset: true, screen: screen.toString('utf8') };
  }

  async close(): Promise<void> {
    clearTimeout(this.#graceTimer);
    this.#sink = undefined;
    this.#screen.dispose();
    await this.shell.close();
  }
}

/** The detached shells waiting to be resumed, by id. */
export class ShellRegistry {
  readonly #shells = new Map<string, LiveShell>();
  readonly #claimed = new Set<string>();

  add(live: LiveShell): void {
    this.#shells.set(live.id, live);
  }

  /** Whether this process knows the shell (attached or waiting), or is taking it over. */
  has(id: string): boolean {
    return this.#shells.has(id) || this.#claimed.has(id);
  }

  /**
   * Reserves an id this process does not know, while a socket takes over the shell a node
   * still holds from an earlier server; false if another socket got there first.
   */
  claim(id: string): boolean {
    if (this.has(id)) return false;
    this.#claimed.add(id);
    return true;
  }

  unclaim(id: string): void {
    this.#claimed.delete(id);
  }

  delete(live: LiveShell): void {
    if (this.#shells.get(live.id) === live) this.#shells.delete(live.id);
  }

  /** The learner's shell on `node` that a page shows now (the attached one, else the newest running). */
  current(learnerId: string, node: string): LiveShell | undefined {
    let found: LiveShell | undefined;
    for (const live of this.#shells.values()) {
      if (live.owner.learnerId !== learnerId || live.owner.node !== node || !live.running) continue;
      if (live.attached || !found?.attached) found = live;
    }
    return found;
  }

  /** The shell with this id, if it belongs to this owner, still runs, and no socket has it. */
  take(id: string, owner: ShellOwner): LiveShell | undefined {
    const live = this.#shells.get(id);
    if (!live || live.attached || !live.running) return undefined;
    const same = live.owner.learnerId === owner.learnerId && live.owner.sessionId === owner.sessionId && live.owner.node === owner.node;
    return same ? live : undefined;
  }
}
