/**
 * Learner sessions: one sandbox per learner, reused across lessons and page reloads, removed
 * when no terminal has been open for the idle time, and limited in number.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import { SlipwayError, toSlipwayError } from '../errors.ts';
import type { SandboxDriver, Shell, StartPhase } from '../sandbox/driver.ts';

/** What a learner getting a sandbox is told: the driver's start phases, or their place in line. */
export type AcquirePhase = StartPhase | 'queued';

export interface Session {
  readonly id: string;
  readonly learnerId: string;
  /** The nodes started so far; a lesson that needs more adds them. */
  nodes: string[];
  /** Node additions in progress, one at a time. */
  growing: Promise<void>;
  /** The network address the sandbox was started from, for per-address limits. */
  readonly address: string;
  /** Whether the learner has typed anything; an unused sandbox is reclaimed sooner. */
  used: boolean;
  attached: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** Shells opened ahead of the learner (a pooled sandbox's), by node, for their first terminal. */
  preparedShells?: Map<string, PreparedShell>;
}

/**
 * A login shell opened ahead in a pooled sandbox's node, held there under `id`. `shell` is the
 * exec still attached to it, paused, so that the learner's first terminal needs no call to
 * the engine to get it (none after a restart: the node still holds the shell by its id).
 */
export interface PreparedShell {
  id: string;
  shell?: Shell;
}

export interface SessionManagerOptions {
  maxSandboxes: number;
  idleMs: number;
  /** Most sandboxes started from one network address (default: no limit). */
  perAddress?: number;
  /** Idle time after which a sandbox nobody typed into is removed (default: idleMs). */
  unusedIdleMs?: number;
  /**
   * After a restart, how long the shells that nodes of taken-back sandboxes still hold wait for
   * their pages to come back before they are ended (default: 2 minutes).
   */
  heldShellGraceMs?: number;
  /**
   * Sandboxes kept started for learners yet to come (with node1), so that a new learner gets
   * a prompt at once; refilled in the background (default 0: none).
   */
  poolSize?: number;
  /** Told how long each learner waited for their sandbox, and whether it came from the pool. */
  observer?: { sandboxReady(seconds: number, source: 'pool' | 'new'): void };
}

/** How a learner's sandbox is doing, for a teacher's dashboard. */
export type SandboxState = 'none' | 'queued' | 'starting' | 'ready';

export interface AcquireOptions {
  /**
   * A workshop seat: no per-address limit (a classroom shares one NAT address), and when the
   * server is full the learner waits in line instead of being turned away.
   */
  seat?: boolean;
  /** Ends the wait in line (the learner's page went away). */
  signal?: AbortSignal;
}

/** A learner waiting in line for a place. */
interface Waiter {
  learnerId: string;
  /** Settles when the learner's turn comes (or they leave). */
  granted: Promise<void>;
  wake(): void;
  /** Each of the learner's waiting terminals, told their position. */
  listeners: Set<(place: number) => void>;
}

/** A sandbox started for no one yet. */
interface Pooled {
  id: string;
  nodes: string[];
  /** A login shell already open in node1, held there, for the learner's first terminal. */
  shell?: PreparedShell;
}

/**
 * Pool sandboxes started at the same time: a workshop's pool of 30 fills a few at a time, so
 * the host (and learners already typing) are not starved while it does.
 */
const poolStartsAtOnce = 2;

/** After a pool start fails, the next try waits this long. */
const poolRetryMs = 30_000;

export class SessionManager {
  readonly #driver: SandboxDriver;
  readonly #options: SessionManagerOptions;
  readonly #log: Logger;
  readonly #byLearner = new Map<string, Session>();
  readonly #starting = new Map<string, Promise<Session>>();
  /** The address each start in progress came from. */
  readonly #startingFrom = new Map<string, string>();
  /** Callers waiting on a start in progress get its progress too. */
  readonly #progressListeners = new Map<string, Set<(phase: StartPhase, message: string) => void>>();
  /** The warm pool: ready sandboxes nobody has, and how many are starting. */
  readonly #pool: Pooled[] = [];
  #poolStarting = 0;
  readonly #poolStarts = new Set<Promise<unknown>>();
  #poolRetry: NodeJS.Timeout | undefined;
  /** The pool's size now: the configured one, or more while a workshop is on (setPoolTarget). */
  #poolTarget: number;
  /** Learners waiting for a place, first come first served. */
  readonly #line: Waiter[] = [];
  /** Places given to learners from the line whose start is not registered yet. */
  #reserved = 0;
  #closed = false;

  constructor(driver: SandboxDriver, options: SessionManagerOptions, log: Logger) {
    this.#driver = driver;
    this.#options = options;
    this.#log = log;
    this.#poolTarget = options.poolSize ?? 0;
  }

  /**
   * Keeps `size` sandboxes ready (never fewer than the configured pool): a workshop about to
   * start raises it to its empty seats; back to the configured size after. Extra pooled
   * sandboxes above a lowered target stay until taken.
   */
  setPoolTarget(size: number): void {
    this.#poolTarget = Math.max(this.#options.poolSize ?? 0, Math.min(size, this.#options.maxSandboxes));
    this.fillPool();
  }

  get poolTarget(): number {
    return this.#poolTarget;
  }

  /** Learners waiting in line for a sandbox. */
  get waiting(): number {
    return this.#line.length;
  }

  /** Whether this learner has a sandbox, is getting one, or waits in line. */
  stateOf(learnerId: string): SandboxState {
    if (this.#byLearner.has(learnerId)) return 'ready';
    if (this.#starting.has(learnerId)) return 'starting';
    if (this.#line.some((waiter) => waiter.learnerId === learnerId)) return 'queued';
    return 'none';
  }

  /** This learner's place in line (1 is next), or undefined. */
  placeOf(learnerId: string): number | undefined {
    const index = this.#line.findIndex((waiter) => waiter.learnerId === learnerId);
    return index < 0 ? undefined : index + 1;
  }

  /** Removes this learner's sandbox (a teacher's reset); their next terminal gets a new one. */
  async endFor(learnerId: string): Promise<boolean> {
    const session = this.#byLearner.get(learnerId);
    if (!session) return false;
    await this.end(session);
    return true;
  }

  /** Sandboxes that learners hold or are getting. */
  get size(): number {
    return this.#byLearner.size + this.#starting.size;
  }

  /** Nodes of the sandboxes learners hold. */
  get nodeCount(): number {
    let count = 0;
    for (const session of this.#byLearner.values()) count += session.nodes.length;
    return count;
  }

  /** Ready sandboxes in the warm pool. */
  get pooled(): number {
    return this.#pool.length;
  }

  /** Every sandbox this manager runs or is starting, the pool's included. */
  get #total(): number {
    return this.size + this.#pool.length + this.#poolStarting + this.#reserved;
  }

  /**
   * Starts pool sandboxes until the pool has `poolSize` (ready or starting), within the
   * server's capacity. Called after every change; a failed start waits before the next try.
   */
  fillPool(): void {
    const target = this.#poolTarget;
    // Learners in line come first: a place that frees goes to them, not to the pool.
    while (
      !this.#closed &&
      this.#line.length === 0 &&
      this.#poolRetry === undefined &&
      this.#pool.length + this.#poolStarting < target &&
      this.#poolStarting < poolStartsAtOnce &&
      this.#total < this.#options.maxSandboxes
    ) {
      this.#poolStarting += 1;
      let starting = true;
      const doneStarting = () => {
        if (starting) this.#poolStarting -= 1;
        starting = false;
      };
      const id = randomBytes(6).toString('hex');
      const nodes = ['node1'];
      const started = this.#driver
        .start({ sessionId: id, learnerId: '', nodes }, () => undefined)
        .then(
          async () => {
            if (this.#closed) return this.#driver.stop(id).catch(() => undefined);
            const shell = await this.#prepareShell(id);
            if (this.#closed) {
              shell?.shell?.stream.destroy();
              return this.#driver.stop(id).catch(() => undefined);
            }
            doneStarting();
            this.#pool.push({ id, nodes, ...(shell ? { shell } : {}) });
            this.#log.info('pool sandbox ready', { session: id, pooled: this.#pool.length });
            // A learner may be waiting in line for just this.
            if (this.#line.length > 0) this.#placeFreed();
          },
          (error: unknown) => {
            this.#log.warn('pool sandbox failed to start; trying again later', { error: toSlipwayError(error).message });
            this.#poolRetry = setTimeout(() => {
              this.#poolRetry = undefined;
              this.fillPool();
            }, poolRetryMs);
            this.#poolRetry.unref();
          },
        )
        .finally(() => {
          doneStarting();
          this.#poolStarts.delete(started);
          // The next ones, a few at a time.
          this.fillPool();
        });
      this.#poolStarts.add(started);
    }
  }

  /**
   * Opens a login shell in a pooled sandbox's node1, held there, and keeps its exec attached
   * and paused (its prompt waits in the stream): the learner's first terminal takes it as it
   * is, with no engine call, and with its start-up over.
   */
  async #prepareShell(sessionId: string): Promise<PreparedShell | undefined> {
    const id = randomUUID();
    try {
      const shell = await this.#driver.openShell(sessionId, 'node1', { cols: 80, rows: 24, id });
      shell.stream.on('error', () => undefined);
      shell.stream.pause();
      return { id, shell };
    } catch (error) {
      this.#log.warn('no shell prepared in a pool sandbox', { session: sessionId, error: toSlipwayError(error).message });
      return undefined;
    }
  }

  /** The shell opened ahead for this session's node, once: the first terminal takes it. */
  takePreparedShell(session: Session, node: string): PreparedShell | undefined {
    const prepared = session.preparedShells?.get(node);
    session.preparedShells?.delete(node);
    return prepared;
  }

  /** A ready pool sandbox, given to `learnerId`; undefined when the pool is empty or its sandboxes are gone. */
  async #fromPool(learnerId: string, address: string): Promise<Session | undefined> {
    for (let pooled = this.#pool.shift(); pooled; pooled = this.#pool.shift()) {
      const taken = pooled;
      try {
        // An exec still attached to the node's shell says the sandbox runs; without one, ask.
        const attached = taken.shell?.shell && !taken.shell.shell.stream.destroyed && !taken.shell.shell.stream.readableEnded;
        if (!attached && !(await this.#driver.isRunning(taken.id))) throw new Error('not running');
        await this.#driver.claim(taken.id, learnerId);
      } catch (error) {
        this.#log.warn('pool sandbox unusable; removing it', { session: taken.id, error: toSlipwayError(error).message });
        taken.shell?.shell?.stream.destroy();
        await this.#driver.stop(taken.id).catch(() => undefined);
        continue;
      }
      this.fillPool();
      this.#log.info('sandbox taken from the pool', { session: taken.id, pooled: this.#pool.length });
      return {
        id: taken.id,
        learnerId,
        address,
        used: false,
        nodes: [...taken.nodes],
        growing: Promise.resolve(),
        attached: 0,
        idleTimer: undefined,
        ...(taken.shell ? { preparedShells: new Map([['node1', taken.shell]]) } : {}),
      };
    }
    return undefined;
  }

  /** The learner's session, with a running sandbox; starts one if needed. */
  async acquire(learnerId: string, nodes: string[], onProgress: (phase: AcquirePhase, message: string, position?: number) => void, address = '', options: AcquireOptions = {}, granted = false): Promise<Session> {
    const existing = this.#byLearner.get(learnerId);
    if (existing && granted) this.#placeUnused();
    if (existing) {
      const running = await this.#driver.isRunning(existing.id);
      // The idle timer may have ended the session while we asked; then start afresh.
      if (running && this.#byLearner.get(learnerId) === existing) {
        await this.#grow(existing, nodes, onProgress);
        return existing;
      }
      if (this.#byLearner.get(learnerId) === existing) {
        this.#log.warn('sandbox vanished; starting a new one', { session: existing.id });
        this.#forget(existing);
        await this.#driver.stop(existing.id).catch(() => undefined);
      }
      return this.acquire(learnerId, nodes, onProgress, address, options, granted);
    }
    const pending = this.#starting.get(learnerId);
    if (pending && granted) this.#placeUnused();
    if (pending) {
      this.#progressListeners.get(learnerId)?.add(onProgress);
      return pending;
    }
    if (options.seat && !granted && (this.#line.length > 0 || !this.#hasPlace())) {
      const { turn, mine } = this.#waitInLine(learnerId, onProgress, options.signal);
      await turn;
      // The place is reserved for the terminal that queued; the learner's others find its start.
      return this.acquire(learnerId, nodes, onProgress, address, options, mine);
    }
    if (granted) this.#reserved -= 1;
    else if (!this.#hasPlace()) {
      throw new SlipwayError(
        'OUT_OF_CAPACITY',
        `All ${this.#options.maxSandboxes} sandboxes on this server are in use. Please try again in a few minutes.`,
      );
    }
    const perAddress = this.#options.perAddress;
    if (!options.seat && perAddress !== undefined && address !== '' && this.#fromAddress(address) >= perAddress) {
      throw new SlipwayError(
        'TOO_MANY',
        `Learners from your network address already hold ${perAddress} sandboxes on this server, the most it allows (SLIPWAY_SANDBOXES_PER_ADDRESS).`,
      );
    }
    const listeners = new Set([onProgress]);
    this.#progressListeners.set(learnerId, listeners);
    this.#startingFrom.set(learnerId, address);
    const start = this.#start(learnerId, address, nodes, (phase, message) => listeners.forEach((listener) => listener(phase, message)));
    this.#starting.set(learnerId, start);
    try {
      return await start;
    } finally {
      this.#starting.delete(learnerId);
      this.#startingFrom.delete(learnerId);
      this.#progressListeners.delete(learnerId);
    }
  }

  /** Whether one more sandbox may start now: a ready pool sandbox, or room under the ceiling. */
  #hasPlace(): boolean {
    // Places reserved for learners from the line count in #total, so a pooled sandbox promised
    // to one of them is not offered twice.
    return this.#pool.length + this.#options.maxSandboxes - this.#total > 0;
  }

  /**
   * Waits in line for a place: first come, first served, each waiter told their position
   * whenever it changes; one wait per learner (their other terminals share it). Rejects when
   * `signal` aborts (the page went away) and the learner leaves the line.
   */
  #waitInLine(learnerId: string, onProgress: (phase: AcquirePhase, message: string, position?: number) => void, signal?: AbortSignal): { turn: Promise<void>; mine: boolean } {
    const tell = (place: number) => onProgress('queued', `The server is full; you are number ${place} in line for a sandbox.`, place);
    const existing = this.#line.find((waiter) => waiter.learnerId === learnerId);
    if (existing) {
      existing.listeners.add(tell);
      tell(this.#line.indexOf(existing) + 1);
      return { turn: existing.granted, mine: false };
    }
    let wake!: () => void;
    let leave!: (error: Error) => void;
    const granted = new Promise<void>((resolve, reject) => {
      wake = resolve;
      leave = reject;
    });
    const waiter: Waiter = { learnerId, granted, wake: () => wake(), listeners: new Set([tell]) };
    const abort = () => {
      const index = this.#line.indexOf(waiter);
      if (index < 0) return;
      this.#line.splice(index, 1);
      leave(new SlipwayError('OUT_OF_CAPACITY', 'You left the line for a sandbox.'));
      // The next in line may now fit where this one did not (nothing changed), or the pool may refill.
      this.#placeFreed();
    };
    if (signal?.aborted) {
      leave(new SlipwayError('OUT_OF_CAPACITY', 'You left the line for a sandbox.'));
      return { turn: granted, mine: true };
    }
    signal?.addEventListener('abort', abort, { once: true });
    void granted.then(() => signal?.removeEventListener('abort', abort), () => undefined);
    this.#line.push(waiter);
    tell(this.#line.length);
    this.#log.info('learner waits in line', { waiting: this.#line.length });
    return { turn: granted, mine: true };
  }

  #tellPositions(): void {
    this.#line.forEach((waiter, index) => waiter.listeners.forEach((tell) => tell(index + 1)));
  }

  /**
   * A place came free (a sandbox ended, a waiter left): the first in line gets it, reserved
   * until their start is registered; the pool refills only once the line is empty.
   */
  #placeFreed(): void {
    while (this.#line.length > 0 && this.#hasPlace()) {
      const next = this.#line.shift()!;
      this.#reserved += 1;
      next.wake();
    }
    this.#tellPositions();
    this.fillPool();
  }

  /** A place reserved for a learner who turned out to have a sandbox already: it goes on. */
  #placeUnused(): void {
    this.#reserved -= 1;
    this.#placeFreed();
  }

  /** Starts the nodes a lesson needs that the session does not have yet. */
  async #grow(session: Session, nodes: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<void> {
    const grown = session.growing.then(async () => {
      const missing = nodes.filter((node) => !session.nodes.includes(node));
      if (missing.length === 0) return;
      try {
        await this.#driver.addNodes(session.id, missing, onProgress);
      } catch (error) {
        throw toSlipwayError(error);
      }
      session.nodes = [...session.nodes, ...missing].sort();
      this.#log.info('nodes added', { session: session.id, nodes: missing });
    });
    session.growing = grown.catch(() => undefined);
    await grown;
  }

  /** Sandboxes held, or being started, by learners from one address. */
  #fromAddress(address: string): number {
    let count = 0;
    for (const session of this.#byLearner.values()) if (session.address === address) count += 1;
    for (const from of this.#startingFrom.values()) if (from === address) count += 1;
    return count;
  }

  /** The learner's session, when they hold one (a terminal of theirs started it). */
  sessionOf(learnerId: string): Session | undefined {
    return this.#byLearner.get(learnerId);
  }

  /** The learner who owns a running session, or undefined when no such session is held. */
  ownerOf(sessionId: string): string | undefined {
    for (const session of this.#byLearner.values()) if (session.id === sessionId) return session.learnerId;
    return undefined;
  }

  /** The learner typed something: from now on the sandbox gets the full idle time. */
  markUsed(session: Session): void {
    session.used = true;
  }

  async #start(learnerId: string, address: string, nodes: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<Session> {
    const began = performance.now();
    const pooled = await this.#fromPool(learnerId, address);
    if (pooled) {
      this.#byLearner.set(learnerId, pooled);
      this.#scheduleIdle(pooled);
      await this.#grow(pooled, nodes, onProgress);
      this.#options.observer?.sandboxReady((performance.now() - began) / 1000, 'pool');
      return pooled;
    }
    const id = randomBytes(6).toString('hex');
    try {
      await this.#driver.start({ sessionId: id, learnerId, nodes }, onProgress);
    } catch (error) {
      throw toSlipwayError(error);
    }
    const session: Session = { id, learnerId, address, used: false, nodes: [...nodes], growing: Promise.resolve(), attached: 0, idleTimer: undefined };
    this.#byLearner.set(learnerId, session);
    this.#scheduleIdle(session);
    this.#options.observer?.sandboxReady((performance.now() - began) / 1000, 'new');
    return session;
  }

  /** A terminal opened on the session: it is not idle while any is open. */
  attach(session: Session): void {
    session.attached += 1;
    clearTimeout(session.idleTimer);
    session.idleTimer = undefined;
  }

  detach(session: Session): void {
    session.attached = Math.max(0, session.attached - 1);
    if (session.attached === 0) this.#scheduleIdle(session);
  }

  #scheduleIdle(session: Session): void {
    clearTimeout(session.idleTimer);
    if (session.attached > 0) return;
    session.idleTimer = setTimeout(() => {
      if (session.attached > 0 || this.#byLearner.get(session.learnerId) !== session) return;
      this.#log.info('removing idle sandbox', { session: session.id });
      void this.end(session);
    }, session.used ? this.#options.idleMs : (this.#options.unusedIdleMs ?? this.#options.idleMs));
    session.idleTimer.unref();
  }

  #forget(session: Session): void {
    clearTimeout(session.idleTimer);
    if (this.#byLearner.get(session.learnerId) === session) this.#byLearner.delete(session.learnerId);
  }

  async end(session: Session): Promise<void> {
    this.#forget(session);
    await this.#driver.stop(session.id).catch((error: unknown) => this.#log.error('removing sandbox failed', { session: session.id, error }));
    this.#placeFreed();
  }

  /**
   * Takes back the sandboxes an earlier run of this installation left running (after a crash
   * or a restart that kept them), so their learners find them again; removes the ones that
   * are broken or whose learner is unknown or already has a sandbox.
   */
  async recover(): Promise<{ adopted: number; removed: number }> {
    const known = new Set([...this.#byLearner.values()].map((session) => session.id));
    let adopted = 0;
    let removed = 0;
    const target = this.#options.poolSize ?? 0;
    for (const info of await this.#driver.list()) {
      if (known.has(info.sessionId)) continue;
      if (!info.learnerId && info.running && this.#pool.length < target && this.#total < this.#options.maxSandboxes) {
        // A pool sandbox nobody took: it stays in the pool (its shell opened ahead is not
        // known any more, and goes).
        const pooled: Pooled = { id: info.sessionId, nodes: info.nodes };
        this.#pool.push(pooled);
        await this.#orphanShells(info.sessionId, info.nodes, () => this.#pool.includes(pooled) || [...this.#byLearner.values()].some((session) => session.id === pooled.id));
        adopted += 1;
        continue;
      }
      if (info.learnerId && info.running && !this.#byLearner.has(info.learnerId) && this.size < this.#options.maxSandboxes) {
        // Taken back after a restart: whoever held it may have typed; give it the full idle time.
        const session: Session = { id: info.sessionId, learnerId: info.learnerId, address: '', used: true, nodes: info.nodes, growing: Promise.resolve(), attached: 0, idleTimer: undefined };
        this.#byLearner.set(info.learnerId, session);
        this.#scheduleIdle(session);
        await this.#orphanShells(session.id, session.nodes, () => this.#byLearner.get(session.learnerId) === session);
        adopted += 1;
      } else {
        await this.#driver.stop(info.sessionId);
        removed += 1;
      }
    }
    removed += await this.#driver.sweep();
    return { adopted, removed };
  }

  /**
   * The shells a taken-back sandbox's nodes still hold: marked now, before any page can attach
   * (a page that comes back takes its shell over and unmarks it), and those still marked after
   * the grace time are ended.
   */
  async #orphanShells(sessionId: string, nodes: string[], stillHere: () => boolean): Promise<void> {
    const marked: string[] = [];
    for (const node of nodes) {
      await this.#driver.markShellsOrphaned(sessionId, node).then(
        () => marked.push(node),
        (error: unknown) => this.#log.warn('marking held shells failed', { session: sessionId, node, error: toSlipwayError(error).message }),
      );
    }
    const timer = setTimeout(() => {
      if (!stillHere()) return;
      for (const node of marked) {
        this.#driver
          .endOrphanedShells(sessionId, node)
          .catch((error: unknown) => this.#log.warn('ending unclaimed shells failed', { session: sessionId, node, error: toSlipwayError(error).message }));
      }
    }, this.#options.heldShellGraceMs ?? 120_000);
    timer.unref();
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#poolRetry);
    await Promise.allSettled([...this.#starting.values(), ...this.#poolStarts]);
    const pooled = this.#pool.splice(0);
    for (const sandbox of pooled) sandbox.shell?.shell?.stream.destroy();
    await Promise.all([
      ...[...this.#byLearner.values()].map((session) => this.end(session)),
      ...pooled.map((sandbox) => this.#driver.stop(sandbox.id).catch(() => undefined)),
    ]);
  }
}
