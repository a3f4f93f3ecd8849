/**
 * `node server/cli.ts` (what `npm start` ends in): expected failures end with one sentence
 * on stderr, not a stack trace.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../server/config.ts';
import { exitConfigError } from '../server/supervise.ts';
import { testInstance } from './support/slipway.ts';

/**
 * Runs the command as the test run's instance. It removes that instance's sandboxes it does
 * not know at start-up; test files run one at a time, so none is in use here. Its package
 * caches stay offline, as the rest of the run keeps them.
 */
function startCli(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot, 'server/cli.ts')],
      { env: { ...process.env, SLIPWAY_INSTANCE: testInstance(), SLIPWAY_LOG_LEVEL: 'silent', SLIPWAY_OFFLINE: '1', ...env }, timeout: 60000 },
      (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

function expectOneSentence(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^slipway: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('slipway command', () => {
  it('names a bad setting', async () => {
    const result = await startCli({ SLIPWAY_PORT: 'eighty' });
    expect(result.code).toBe(exitConfigError);
    expectOneSentence(result.stderr, /SLIPWAY_PORT="eighty" is not valid/);
  });

  it('says the site is not built', async () => {
    const result = await startCli({ SLIPWAY_SITE_DIR: mkdtempSync(path.join(os.tmpdir(), 'slipway-no-site-')) });
    expect(result.code).toBe(exitConfigError);
    expectOneSentence(result.stderr, /site is not built.*npm run build/);
  });

  it('says the engine cannot be reached', async () => {
    const result = await startCli({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(result.code).toBe(exitConfigError);
    expectOneSentence(result.stderr, /Docker engine cannot be reached/);
  });

  it('says the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await startCli({ SLIPWAY_HOST: '127.0.0.1', SLIPWAY_PORT: String(port) });
      expect(result.code).toBe(exitConfigError);
      expectOneSentence(result.stderr, new RegExp(`port ${port} is already in use.*SLIPWAY_PORT`));
    } finally {
      blocker.close();
    }
  });

  it('puts an unexpected failure\'s stack in the log file, and says where in one sentence', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-state-'));
    mkdirSync(path.join(stateDir, 'secret.key')); // a folder where the cookie key should be: nothing Slipway expects
    const result = await startCli({ SLIPWAY_STATE_DIR: stateDir });
    expect(result.code).toBe(1);
    expectOneSentence(result.stderr, /could not start \(.+\): the details are in .*error\.log; fix what they name and run \.\/slipway start again/);
    expect(readFileSync(path.join(stateDir, 'error.log'), 'utf8')).toMatch(/\n\s+at /);
  });
});
