/** A real Slipway for a test file: real engine, real images, its own port. */
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
    ...env,
  });
  return startSlipway(config, createLogger(config.SLIPWAY_LOG_LEVEL), options);
}
