/**
 * Processes in a sandbox node through the engine's exec API: the learner's interactive
 * shell (TTY, hijacked stream) and non-interactive commands with a timeout (checks, probes).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { SlipwayError } from '../../errors.ts';
import type { RunResult, Shell, ShellOptions } from '../driver.ts';
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
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, (seconds + 5) * 1000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  const info = await exec.inspect().catch(() => undefined);
  const exitCode = info?.Running ? null : (info?.ExitCode ?? null);
  return {
    exitCode,
    output: Buffer.concat(chunks).toString('utf8').slice(0, maxRunOutput),
    timedOut: exitCode === 124 || exitCode === null,
  };
}

/** Opens an interactive login shell; `run` is used to end it (ending the stream does not). */
export async function openShellInNode(
  container: Dockerode.Container,
  node: string,
  options: ShellOptions,
  run: (command: string) => Promise<unknown>,
): Promise<Shell> {
  const pidFile = `"$XDG_RUNTIME_DIR/slipway-shell-${randomUUID()}.pid"`;
  let stream: Duplex;
  let exec: Dockerode.Exec;
  try {
    exec = await container.exec({
      Cmd: ['/bin/sh', '-c', `echo $$ > ${pidFile}; cd "$HOME"; exec ${enter} /bin/bash -l`],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: ['TERM=xterm-256color', 'COLORTERM=truecolor', 'LANG=C.UTF-8'],
    });
    stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  } catch (error) {
    throw explain(error, node);
  }
  const startedExec = exec;
  const resize = async (cols: number, rows: number) => {
    await startedExec.resize({ w: cols, h: rows }).catch((error: unknown) => {
      // A resize that races the shell's start or end is harmless.
      const status = statusOf(error);
      if (status !== 404 && status !== 409 && status !== 500) throw error;
    });
  };
  await resize(options.cols, options.rows);
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
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Ending the attach stream does not end the process; the shell is told to hang up.
    await run(`[ -f ${pidFile} ] && kill -HUP "$(cat ${pidFile})" 2>/dev/null; rm -f ${pidFile}`).catch(() => undefined);
    stream.destroy();
  };
  return { stream, resize, close, exited };
}
