/** A real Slipway for a test file: real engine, real images, its own port. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { testSecret, testTeacherKey } from './secret.ts';
import { startSlipway, type Slipway, type StartOptions } from '../../server/main.ts';

export function testInstance(): string {
  return inject('instance');
}

/**
 * Starts a server for this run's instance; by default it leaves other files' sandboxes alone.
 * Its package caches are offline, as global-setup started them: tests send nothing outside.
 */
export async function startTestSlipway(env: Record<string, string> = {}, options: StartOptions = { recover: false }): Promise<Slipway> {
  const config = loadConfig({
    ...process.env,
    SLIPWAY_INSTANCE: testInstance(),
    SLIPWAY_HOST: '127.0.0.1',
    SLIPWAY_PORT: '0',
    SLIPWAY_PORTS_PORT: '0',
    SLIPWAY_LOG_LEVEL: 'warn',
    SLIPWAY_SECRET: testSecret,
    SLIPWAY_TEACHER_KEY: testTeacherKey,
    SLIPWAY_OFFLINE: '1',
    // No warm pool unless a test asks: every test file's server would start a sandbox more.
    SLIPWAY_POOL_SIZE: '0',
    // A state folder of its own (progress, workshops), unless the test keeps one across a restart.
    SLIPWAY_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'slipway-test-state-')),
    ...env,
  });
  return startSlipway(config, createLogger(config.SLIPWAY_LOG_LEVEL), options);
}
