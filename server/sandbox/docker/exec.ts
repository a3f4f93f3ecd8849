/**
 * Processes in a sandbox node through the engine's exec API: the learner's interactive
 * shell (TTY, hijacked stream) and non-interactive commands with a timeout (checks, probes).
 */
import { Duplex, PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { SlipwayError } from '../../errors.ts';
import type { RunResult, Shell, ShellOptions } from '../driver.ts';
import { DtachOutput } from './dtach-output.ts';
import { engineUnavailable, isEngineUnreachable, statusOf, type Docker } from './engine.ts';

const maxRunOutput = 64 * 1024;

/** What a failed exec call means for the learner: their node is gone, or the engine is. */
function explain(error: unknown, node: string): unknown {
  const status = statusOf(error);
  if (status === 404 || status === 409) {
    return new SlipwayError('SANDBOX_MISSING', `Your sandbox node ${node} is gone (it was stopped or removed). Reload the page to get a new one.`, {
      cause: error,
    });
  }
  if (isEngineUnreachable(error)) return engineUnavailable(error);
  return error;
}

/*
 * Execs name no user: they run as the node container's own, the unprivileged host uid the
 * driver gave it (node-users.ts), never root. Nothing in a node may be the host's root (see
 * docs/security.md).
 */
/** Enters the node's rootless namespaces, where the learner's engine and files are. */
const enter = '/usr/local/bin/slipway-enter';

/**
 * Runs `command` with `sh -c` in the node, as the learner sees it (`enter`) or in the node's
 * own namespaces (probes, signals); the output of stdout and stderr together, capped.
 */
export async function runInNode(
  docker: Docker,
  container: Dockerode.Container,
  node: string,
  command: string,
  timeoutMs: number,
  options: { enter: boolean },
): Promise<RunResult> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  let stream: Duplex;
  let exec: Dockerode.Exec;
  try {
    exec = await container.exec({
      // coreutils' timeout ends the command inside the node even if this side goes away.
      Cmd: ['timeout', '-k', '2', String(seconds), ...(options.enter ? [enter] : []), 'sh', '-c', command],
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  } catch (error) {
    throw explain(error, node);
  }
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  sink.on('data', (chunk: Buffer) => {
    if (size < maxRunOutput) chunks.push(chunk);
    size += chunk.length;
  });
  docker.modem.demuxStream(stream, sink, sink);
  await streamEnded(stream, (seconds + 5) * 1000);
  const exitCode = await exitCodeOf(exec);
  return {
    exitCode,
    output: Buffer.concat(chunks).toString('utf8').slice(0, maxRunOutput),
    timedOut: exitCode === 124 || exitCode === null,
  };
}

/** Waits until an exec's stream ends (or fails); after `timeoutMs`, destroys it and goes on. */
export function streamEnded(stream: Duplex, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** An exec's exit code; null while it still runs (it was cut off) or when the engine cannot say. */
export async function exitCodeOf(exec: Dockerode.Exec): Promise<number | null> {
  const info = await exec.inspect().catch(() => undefined);
  return info?.Running ? null : (info?.ExitCode ?? null);
}

/** Holds learners' shells in the node (images/sandbox/shell.sh); its commands take a shell id. */
const shellHolder = '/usr/local/lib/slipway/shell';
/** Longest wait for the dtach client to attach before the shell is handed over anyway. */
const attachTimeoutMs = 10_000;
const shellIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function holderCommand(command: 'open' | 'attach' | 'held' | 'close', id: string): string {
  // The id goes into a command line: nothing but a UUID passes.
  if (!shellIdPattern.test(id)) throw new SlipwayError('BAD_MESSAGE', 'That is not a shell id.');
  return `${shellHolder} ${command} ${id}`;
}

/**
 * Opens the learner's login shell, held in the node by dtach under `options.id` (`attach`:
 * attaches to the shell the node already holds under that id, after a server restart). The
 * exec is only a dtach client: ending it leaves the shell running, and `close` ends the
 * shell through `run`.
 */
export async function openShellInNode(
  container: Dockerode.Container,
  node: string,
  options: ShellOptions & { attach?: boolean },
  run: (command: string) => Promise<RunResult>,
): Promise<Shell> {
  const command = holderCommand(options.attach ? 'attach' : 'open', options.id);
  let raw: Duplex;
  let exec: Dockerode.Exec;
  try {
    exec = await container.exec({
      Cmd: ['/bin/sh', '-c', `exec ${command}`],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: ['TERM=xterm-256color', 'COLORTERM=truecolor', 'LANG=C.UTF-8'],
    });
    raw = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  } catch (error) {
    throw explain(error, node);
  }
  const startedExec = exec;
  const output = new DtachOutput();
  raw.pipe(output);
  // The learner's keys reach the shell once the dtach client has made its terminal raw (a
  // Ctrl-C before that would be a signal to the client, not a byte to the shell); until then
  // they wait here, bounded (a full buffer makes write() return false, and the caller pauses).
  // Output flows from the start, so the page gets its screen without waiting for that.
  const input = new PassThrough();
  const stream = Duplex.from({ readable: output, writable: input });
  // Errors end the shell through `exited` below; the composed stream reports them again.
  stream.on('error', () => undefined);
  const resize = async (cols: number, rows: number) => {
    await startedExec.resize({ w: cols, h: rows }).catch((error: unknown) => {
      // A resize that races the shell's start or end is harmless.
      const status = statusOf(error);
      if (status !== 404 && status !== 409 && status !== 500) throw error;
    });
  };
  await resize(options.cols, options.rows);
  let waited: NodeJS.Timeout | undefined;
  void Promise.race([output.attached, new Promise((resolve) => (waited = setTimeout(resolve, attachTimeoutMs)))]).then(() => {
    clearTimeout(waited);
    if (!raw.destroyed) input.pipe(raw);
  });
  const exited = new Promise<number | null>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      startedExec
        .inspect()
        .then((info) => resolve(info.ExitCode ?? null))
        .catch(() => resolve(null));
    };
    raw.on('end', finish);
    raw.on('close', finish);
    raw.on('error', finish);
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await run(holderCommand('close', options.id)).catch(() => undefined);
    clearTimeout(waited);
    raw.destroy();
    stream.destroy();
  };
  return { stream, resize, close, exited };
}

/** Whether the node holds a shell with this id. */
export async function isShellHeld(id: string, run: (command: string) => Promise<RunResult>): Promise<boolean> {
  const result = await run(holderCommand('held', id));
  return result.exitCode === 0;
}

/** Marks every shell the node holds as an orphan (`end`: ends the marked shells no client took over since). */
export async function orphanShellsInNode(action: 'mark' | 'end', run: (command: string) => Promise<RunResult>): Promise<void> {
  const result = await run(`${shellHolder} ${action === 'mark' ? 'orphan' : 'sweep'}`);
  if (result.exitCode !== 0) throw new Error(`shell ${action === 'mark' ? 'orphan' : 'sweep'} failed: ${result.output.slice(-300)}`);
}
