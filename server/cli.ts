/**
 * `node server/cli.ts`: starts Slipway and prints its URL. Every failure ends with one sentence
 * that says what to do: expected ones (bad configuration, no engine, no build, a host check)
 * name the fix; an unexpected one names the log file its stack trace went to.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, projectRoot } from './config.ts';
import { SlipwayError } from './errors.ts';
import { LessonError } from '../lessons/course.ts';
import { createLogger } from './log.ts';
import { startSlipway } from './main.ts';
import { exitConfigError } from './supervise.ts';

/** Appends an unexpected start-up failure, stack and all, to the state folder's error.log; returns its path, shortened for the reader. */
function writeErrorLog(error: unknown): string | undefined {
  const stateDir = process.env.SLIPWAY_STATE_DIR || path.join(projectRoot, '.slipway');
  const file = path.join(stateDir, 'error.log');
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  try {
    mkdirSync(stateDir, { recursive: true });
    appendFileSync(file, `${new Date().toISOString()} start-up failed\n${detail}\n\n`);
  } catch {
    return undefined;
  }
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.SLIPWAY_LOG_LEVEL);
  const slipway = await startSlipway(config, log);
  const { teacherKey } = slipway;
  const keyLine = teacherKey.created
    ? `Teacher pages: ${slipway.url}teach/ with the teacher key ${teacherKey.key}\n(made now and kept in ${teacherKey.file}; note it, it is printed only this once)\n`
    : `Teacher pages: ${slipway.url}teach/ (the teacher key is ${teacherKey.file ? `in ${teacherKey.file}` : 'SLIPWAY_TEACHER_KEY'})\n`;
  process.stdout.write(`\nSlipway is running: ${slipway.url}\nLearners' published ports are proxied at ${slipway.portsUrl}\n${keyLine}(Ctrl-C stops it and removes the learners' sandboxes.)\n\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    slipway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    // Either listener: Slipway's own, or the ports origin's (the error names the port it wanted).
    const failed = String((error as { port?: unknown }).port ?? '');
    const portsPort = process.env.SLIPWAY_PORTS_PORT ?? '8081';
    const variable = failed === portsPort && failed !== (process.env.SLIPWAY_PORT ?? '8080') ? 'SLIPWAY_PORTS_PORT' : 'SLIPWAY_PORT';
    const port = variable === 'SLIPWAY_PORTS_PORT' ? portsPort : (process.env.SLIPWAY_PORT ?? '8080');
    const why = code === 'EADDRINUSE' ? 'is already in use' : 'needs more privileges than this user has';
    process.stderr.write(`slipway: port ${port} ${why}: stop what uses it, or choose another with ${variable}.\n`);
  } else if (error instanceof ConfigError || error instanceof SlipwayError || error instanceof LessonError || (error instanceof Error && /not built/.test(error.message))) {
    process.stderr.write(`slipway: ${error.message}\n`);
  } else {
    // Unexpected: the stack is for whoever reports it, not for the person starting Slipway.
    const firstLine = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() || 'unknown error';
    const where = writeErrorLog(error);
    const details = where ? `the details are in ${where}` : 'no details could be written';
    process.stderr.write(`slipway: could not start (${firstLine}): ${details}; fix what they name and run ./slipway start again, or report it with that file.\n`);
    process.exit(1);
  }
  // Expected: the supervisor (server/supervisor.ts) does not retry what only a person can fix.
  process.exit(exitConfigError);
});
