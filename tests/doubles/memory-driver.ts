/**
 * Test doubles for the SandboxDriver seam: real, in-memory implementations, no Docker.
 * MemoryDriver keeps its sandboxes in a Map and records every call; FailingDriver cannot
 * reach an engine.
 */
import { Duplex, PassThrough } from 'node:stream';
import { SlipwayError } from '../../server/errors.ts';
import type { DirectoryEntry, FileContent, FileWriteResult, PublishedPort, RunResult, SandboxDriver, SandboxInfo, SandboxSpec, Shell, ShellOptions, StartPhase } from '../../server/sandbox/driver.ts';
import { FileError, hashOf } from '../../server/sandbox/docker/files.ts';

export type DriverCall =
  | { method: 'start'; sessionId: string; learnerId: string; nodes: string[] }
  | { method: 'addNodes'; sessionId: string; nodes: string[] }
  | { method: 'isRunning'; sessionId: string }
  | { method: 'claim'; sessionId: string; learnerId: string }
  | { method: 'stop'; sessionId: string }
  | { method: 'openShell' | 'reattachShell'; sessionId: string; node: string; options: ShellOptions }
  | { method: 'run'; sessionId: string; node: string; command: string; timeoutMs: number }
  | { method: 'list' };

export interface MemoryDriverOptions {
  /** How long start() takes, in milliseconds. */
  startDelayMs?: number;
  /** How long isRunning() takes, in milliseconds. */
  isRunningDelayMs?: number;
  /** What run() answers for a command (default: exit 0, no output), after `runDelayMs`. */
  run?: (command: string) => RunResult;
  runDelayMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class MemoryDriver implements SandboxDriver {
  /** Running sandboxes by session id. */
  readonly sandboxes = new Map<string, SandboxSpec>();
  readonly calls: DriverCall[] = [];
  /** Sandboxes that still exist but whose nodes no longer run (a crashed node). */
  readonly stopped = new Set<string>();
  readonly #startDelayMs: number;
  readonly #isRunningDelayMs: number;
  readonly #options: MemoryDriverOptions;

  constructor(options: MemoryDriverOptions = {}) {
    this.#options = options;
    this.#startDelayMs = options.startDelayMs ?? 0;
    this.#isRunningDelayMs = options.isRunningDelayMs ?? 0;
  }

  /** Calls of one method, in order. */
  callsTo<M extends DriverCall['method']>(method: M): Array<Extract<DriverCall, { method: M }>> {
    return this.calls.filter((call): call is Extract<DriverCall, { method: M }> => call.method === method);
  }

  /** Simulates a sandbox removed behind Slipway's back (e.g. `docker rm -f` by an operator). */
  vanish(sessionId: string): void {
    this.sandboxes.delete(sessionId);
  }

  /** Simulates a sandbox left over from an earlier run of the server. */
  adopt(spec: SandboxSpec): void {
    this.sandboxes.set(spec.sessionId, { ...spec, nodes: [...spec.nodes] });
  }

  async start(spec: SandboxSpec, onProgress: (phase: StartPhase, message: string) => void): Promise<SandboxInfo> {
    this.calls.push({ method: 'start', sessionId: spec.sessionId, learnerId: spec.learnerId, nodes: [...spec.nodes] });
    // Let callers that arrive in the same tick register before progress is reported.
    await Promise.resolve();
    onProgress('starting', `Starting ${spec.nodes.join(', ')}…`);
    if (this.#startDelayMs > 0) await sleep(this.#startDelayMs);
    onProgress('waiting-engine', 'Waiting for Docker to answer…');
    this.sandboxes.set(spec.sessionId, { ...spec, nodes: [...spec.nodes] });
    return { sessionId: spec.sessionId, nodes: [...spec.nodes] };
  }

  async addNodes(sessionId: string, nodes: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<void> {
    this.calls.push({ method: 'addNodes', sessionId, nodes: [...nodes] });
    const spec = this.sandboxes.get(sessionId);
    if (!spec) throw new SlipwayError('SANDBOX_MISSING', `Sandbox ${sessionId} does not exist.`);
    onProgress('starting', `Starting ${nodes.join(', ')}…`);
    if (this.#startDelayMs > 0) await sleep(this.#startDelayMs);
    for (const node of nodes) if (!spec.nodes.includes(node)) spec.nodes.push(node);
  }

  async claim(sessionId: string, learnerId: string): Promise<void> {
    this.calls.push({ method: 'claim', sessionId, learnerId });
    const spec = this.sandboxes.get(sessionId);
    if (!spec) throw new SlipwayError('SANDBOX_MISSING', `Sandbox ${sessionId} does not exist.`);
    this.sandboxes.set(sessionId, { ...spec, learnerId });
  }

  async isRunning(sessionId: string): Promise<boolean> {
    this.calls.push({ method: 'isRunning', sessionId });
    if (this.#isRunningDelayMs > 0) await sleep(this.#isRunningDelayMs);
    return this.sandboxes.has(sessionId);
  }

  async stop(sessionId: string): Promise<void> {
    this.calls.push({ method: 'stop', sessionId });
    this.sandboxes.delete(sessionId);
  }

  async openShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell> {
    this.calls.push({ method: 'openShell', sessionId, node, options: { ...options } });
    this.#require(sessionId, node);
    return this.#shell(sessionId, node, options.id);
  }

  /** Shells held as a node would hold them (they outlive a server), by id. */
  readonly heldShells = new Map<string, { sessionId: string; node: string; orphan: boolean }>();

  async reattachShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell | undefined> {
    this.calls.push({ method: 'reattachShell', sessionId, node, options: { ...options } });
    this.#require(sessionId, node);
    const held = this.heldShells.get(options.id);
    if (!held || held.sessionId !== sessionId || held.node !== node) return undefined;
    return this.#shell(sessionId, node, options.id);
  }

  async markShellsOrphaned(sessionId: string, node: string): Promise<void> {
    for (const held of this.heldShells.values()) if (held.sessionId === sessionId && held.node === node) held.orphan = true;
  }

  async endOrphanedShells(sessionId: string, node: string): Promise<void> {
    for (const [id, held] of this.heldShells) {
      if (held.sessionId === sessionId && held.node === node && held.orphan) this.heldShells.delete(id);
    }
  }

  #shell(sessionId: string, node: string, id: string): Shell {
    this.heldShells.set(id, { sessionId, node, orphan: false });
    const stream = Duplex.from({ readable: new PassThrough(), writable: new PassThrough() });
    let resolveExit: (code: number | null) => void = () => undefined;
    const exited = new Promise<number | null>((resolve) => {
      resolveExit = resolve;
    });
    let closed = false;
    return {
      stream,
      exited,
      resize: async () => undefined,
      close: async () => {
        if (closed) return;
        closed = true;
        this.heldShells.delete(id);
        stream.destroy();
        resolveExit(0);
      },
    };
  }

  async run(sessionId: string, node: string, command: string, timeoutMs: number): Promise<RunResult> {
    this.calls.push({ method: 'run', sessionId, node, command, timeoutMs });
    this.#require(sessionId, node);
    if (this.#options.runDelayMs) await sleep(this.#options.runDelayMs);
    return this.#options.run?.(command) ?? { exitCode: 0, output: '', timedOut: false };
  }

  async sweep(): Promise<number> {
    return 0;
  }

  /** Ports a test says a node publishes, by `session/node`; a node's address is 127.0.0.1. */
  readonly ports = new Map<string, PublishedPort[]>();

  async listPorts(sessionId: string, node: string): Promise<PublishedPort[]> {
    this.#require(sessionId, node);
    return this.ports.get(`${sessionId}/${node}`) ?? [];
  }

  async nodeAddress(sessionId: string, node: string): Promise<string | undefined> {
    const spec = this.sandboxes.get(sessionId);
    return spec?.nodes.includes(node) ? '127.0.0.1' : undefined;
  }

  /** Files by session, node and path, for the file API. */
  readonly files = new Map<string, string>();

  async readFile(sessionId: string, node: string, path: string): Promise<FileContent> {
    this.#require(sessionId, node);
    const content = this.files.get(`${sessionId}/${node}:${path}`);
    if (content === undefined) throw new FileError('NOT_FOUND', `${path} does not exist.`);
    return { path, content, version: hashOf(Buffer.from(content)) };
  }

  async writeFile(sessionId: string, node: string, path: string, content: string, expected: string): Promise<FileWriteResult> {
    this.#require(sessionId, node);
    const key = `${sessionId}/${node}:${path}`;
    const current = this.files.get(key);
    const version = current === undefined ? 'new' : hashOf(Buffer.from(current));
    if (expected !== 'any' && expected !== version) throw new FileError('CHANGED', `${path} changed since you opened it.`);
    this.files.set(key, content);
    return { path, version: hashOf(Buffer.from(content)) };
  }

  async listDirectory(sessionId: string, node: string, path: string): Promise<{ path: string; entries: DirectoryEntry[]; truncated: boolean }> {
    this.#require(sessionId, node);
    const prefix = `${sessionId}/${node}:${path.replace(/\/$/, '')}/`;
    const entries = [...this.files.keys()].filter((key) => key.startsWith(prefix) && !key.slice(prefix.length).includes('/')).map((key) => ({ name: key.slice(prefix.length), kind: 'file' as const, size: this.files.get(key)!.length }));
    return { path, entries, truncated: false };
  }

  /** What notReady() says; undefined: ready. */
  notReadyBecause: string | undefined;

  async notReady(): Promise<string | undefined> {
    return this.notReadyBecause;
  }

  readonly #oomListeners = new Set<(sessionId: string, node: string) => void>();

  onOutOfMemory(listener: (sessionId: string, node: string) => void): () => void {
    this.#oomListeners.add(listener);
    return () => this.#oomListeners.delete(listener);
  }

  /** As the engine reports it when the kernel kills a process in a node at its memory limit. */
  outOfMemory(sessionId: string, node: string): void {
    for (const listener of this.#oomListeners) listener(sessionId, node);
  }

  async list(): Promise<SandboxInfo[]> {
    this.calls.push({ method: 'list' });
    return [...this.sandboxes.values()].map((spec) => ({
      sessionId: spec.sessionId,
      nodes: [...spec.nodes],
      learnerId: spec.learnerId,
      running: !this.stopped.has(spec.sessionId),
    }));
  }

  #require(sessionId: string, node: string): void {
    const spec = this.sandboxes.get(sessionId);
    if (!spec) throw new SlipwayError('SANDBOX_MISSING', `Sandbox ${sessionId} does not exist.`);
    if (!spec.nodes.includes(node)) throw new SlipwayError('SANDBOX_MISSING', `Sandbox ${sessionId} has no node ${node}.`);
  }
}

/** A driver whose engine is never reachable. */
export class FailingDriver implements SandboxDriver {
  startCalls = 0;

  async start(): Promise<SandboxInfo> {
    this.startCalls += 1;
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async addNodes(): Promise<void> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async claim(): Promise<void> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async isRunning(): Promise<boolean> {
    return false;
  }

  async stop(): Promise<void> {}

  async openShell(): Promise<Shell> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async run(): Promise<RunResult> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async reattachShell(): Promise<Shell | undefined> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async markShellsOrphaned(): Promise<void> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async endOrphanedShells(): Promise<void> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async sweep(): Promise<number> {
    return 0;
  }

  async listPorts(): Promise<PublishedPort[]> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async nodeAddress(): Promise<string | undefined> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async readFile(): Promise<FileContent> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async writeFile(): Promise<FileWriteResult> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async listDirectory(): Promise<{ path: string; entries: DirectoryEntry[]; truncated: boolean }> {
    throw new SlipwayError('ENGINE_UNAVAILABLE', 'The Docker engine is not reachable.');
  }

  async notReady(): Promise<string | undefined> {
    return 'The Docker engine is not reachable.';
  }

  onOutOfMemory(): () => void {
    return () => undefined;
  }

  async list(): Promise<SandboxInfo[]> {
    return [];
  }
}
