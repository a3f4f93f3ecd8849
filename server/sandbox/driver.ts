/**
 * The seam between sessions and whatever runs sandboxes. The Docker driver is the only
 * implementation today; a Kubernetes driver would implement the same interface.
 */
import type { Duplex } from 'node:stream';

export type StartPhase = 'starting' | 'waiting-engine';

export interface SandboxSpec {
  /** Unique id of the learner session that owns the sandbox. */
  sessionId: string;
  /** Opaque learner id, recorded for operators; empty for a sandbox of the warm pool (see `claim`). */
  learnerId: string;
  /** Node names, node1 first. */
  nodes: string[];
}

export interface SandboxInfo {
  sessionId: string;
  nodes: string[];
  /** The learner the sandbox was started for or given to (to take it back after a restart); empty for a pooled one nobody has. */
  learnerId?: string | undefined;
  /** Whether every node runs. */
  running?: boolean | undefined;
}

export interface ShellOptions {
  cols: number;
  rows: number;
  /**
   * The shell's id, a UUID the server made. The node holds the shell under it, so the shell
   * outlives this process: a restarted server attaches to it again (`reattachShell`).
   */
  id: string;
}

/** An interactive shell with a TTY: a byte stream plus resize and close. */
export interface Shell {
  readonly stream: Duplex;
  resize(cols: number, rows: number): Promise<void>;
  /** Ends the shell process (and the stream). Safe to call twice. */
  close(): Promise<void>;
  /** Resolves with the shell's exit code once it has ended. */
  readonly exited: Promise<number | null>;
}

export interface RunResult {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
}

export interface RunOptions {
  /**
   * `node` (default): outside the learner's reach, as checks must run. `learner`: exactly as
   * the learner's shell sees the node (for tests of what a learner can reach; never a check).
   */
  view?: 'node' | 'learner';
}

/** A TCP port that a node's Docker engine publishes on all the node's addresses (`-p`, `-P`). */
export interface PublishedPort {
  /** The port on the node (8000 in `-p 8000:5000`). */
  port: number;
  /** The container's own port (5000). */
  target: number;
  /** The inner container that publishes it. */
  container: string;
}

/** A text file as the editor gets it; `version` identifies its content (to notice changes underneath). */
export interface FileContent {
  path: string;
  content: string;
  version: string;
}

export interface FileWriteResult {
  path: string;
  version: string;
}

export interface DirectoryEntry {
  name: string;
  kind: 'file' | 'directory' | 'link' | 'other';
  size: number;
}

export interface SandboxDriver {
  /** Starts every node of a sandbox and waits until each node's Docker engine answers. */
  start(spec: SandboxSpec, onProgress: (phase: StartPhase, message: string) => void): Promise<SandboxInfo>;
  /**
   * Starts the nodes of a running sandbox that it does not have yet (a lesson that needs
   * node2), on the sandbox's network, and waits for their engines. Existing nodes are left alone.
   */
  addNodes(sessionId: string, nodes: string[], onProgress: (phase: StartPhase, message: string) => void): Promise<void>;
  /**
   * Gives a sandbox started for no one (the warm pool's) to a learner, recorded where `list`
   * finds it after a restart.
   */
  claim(sessionId: string, learnerId: string): Promise<void>;
  /** Whether the sandbox's nodes still exist and run. */
  isRunning(sessionId: string): Promise<boolean>;
  /** Removes the sandbox and all it owns. Removing what is already gone succeeds. */
  stop(sessionId: string): Promise<void>;
  /** Opens an interactive login shell in a node, held there under `options.id`. */
  openShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell>;
  /**
   * Attaches to a shell the node still holds from an earlier run of the server (after a crash
   * or restart): its programs kept running. Undefined when the node holds no shell with that
   * id. What the shell printed while nothing was attached is not kept.
   */
  reattachShell(sessionId: string, node: string, options: ShellOptions): Promise<Shell | undefined>;
  /** After a restart, before any page can attach: marks every shell the node holds as left by the earlier server. */
  markShellsOrphaned(sessionId: string, node: string): Promise<void>;
  /** Ends the marked shells that no page took over since (their learner did not come back). */
  endOrphanedShells(sessionId: string, node: string): Promise<void>;
  /**
   * Runs a non-interactive command in a node, with a timeout; never through the learner's shell,
   * and where the learner cannot change what it sees (a check must not be fakeable).
   */
  run(sessionId: string, node: string, command: string, timeoutMs: number, options?: RunOptions): Promise<RunResult>;
  /** The ports the node's Docker engine publishes on all its addresses, by port; none when the engine does not answer. */
  listPorts(sessionId: string, node: string): Promise<PublishedPort[]>;
  /**
   * The address at which this server reaches the node's published ports (never the learner:
   * the address is not theirs to choose), or undefined when the node does not exist.
   */
  nodeAddress(sessionId: string, node: string): Promise<string | undefined>;
  /** Removes what half-finished starts left (networks, volumes of sessions with no node); returns how many. */
  sweep(): Promise<number>;
  /** Every sandbox this installation owns, e.g. to clean up after a crash. */
  list(): Promise<SandboxInfo[]>;
  /**
   * Calls `listener` whenever the kernel kills a process in a node because the node reached its
   * memory limit (the node goes on running); returns the function that stops listening.
   */
  onOutOfMemory(listener: (sessionId: string, node: string) => void): () => void;
  /**
   * The learner's files, as their shell sees the node, never through that shell (the editor).
   * Errors are FileErrors (server/sandbox/docker/files.ts) with a code and a sentence.
   */
  readFile(sessionId: string, node: string, path: string): Promise<FileContent>;
  /** Saves a text file; `expected` is the version read ('new': must not exist; 'any': replace whatever is there). */
  writeFile(sessionId: string, node: string, path: string, content: string, expected: string): Promise<FileWriteResult>;
  listDirectory(sessionId: string, node: string, path: string): Promise<{ path: string; entries: DirectoryEntry[]; truncated: boolean }>;
  /**
   * Whether new sandboxes can start now (for /readyz): undefined when they can, otherwise one
   * sentence saying why not (no engine, a shared service down, the disk low).
   */
  notReady(): Promise<string | undefined>;
}
