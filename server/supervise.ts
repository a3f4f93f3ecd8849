/**
 * Keeps the server up: runs it as a child process and starts it again when it dies
 * unexpectedly (a crash, a kill), waiting longer after each quick failure. The restarted
 * server takes back the sandboxes that still run (SessionManager.recover), so learners
 * reconnect to what they had.
 */
import { spawn } from 'node:child_process';
import type { Logger } from './log.ts';

/** The exit code of an expected start-up failure (bad setting, port taken): not retried. */
export const exitConfigError = 78;

export interface SuperviseOptions {
  command: string;
  args: string[];
  log: Logger;
  /** First wait before a restart; doubles after each quick failure up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A child that ran this long counts as healthy: the next failure waits `minDelayMs` again. */
  healthyAfterMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface Supervisor {
  /** Resolves with the exit code the supervisor should end with. */
  done: Promise<number>;
  /** Forwards a signal to the child and stops restarting it. */
  stop(signal: NodeJS.Signals): void;
  /** How many times the child was started. */
  readonly starts: number;
}

export function supervise(options: SuperviseOptions): Supervisor {
  const minDelayMs = options.minDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const healthyAfterMs = options.healthyAfterMs ?? 60_000;
  let delay = minDelayMs;
  let stopping = false;
  let starts = 0;
  let child: ReturnType<typeof spawn> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const run = () => {
    starts += 1;
    const startedAt = Date.now();
    const current = spawn(options.command, options.args, { stdio: 'inherit', env: options.env ?? process.env });
    child = current;
    current.on('error', (error) => {
      options.log.error('could not start the server', { error });
      finish(1);
    });
    current.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return finish(code ?? 0);
      if (code === 0 || code === exitConfigError) return finish(code);
      if (Date.now() - startedAt >= healthyAfterMs) delay = minDelayMs;
      options.log.error('the server stopped unexpectedly; starting it again', { code, signal, inMs: delay });
      restartTimer = setTimeout(run, delay);
      delay = Math.min(maxDelayMs, delay * 2);
    });
  };
  run();

  return {
    done,
    get starts() {
      return starts;
    },
    stop(signal) {
      stopping = true;
      clearTimeout(restartTimer);
      if (child) child.kill(signal);
      else finish(0);
    },
  };
}
