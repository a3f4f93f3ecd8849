import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, projectRoot } from './config.ts';

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      SLIPWAY_HOST: '0.0.0.0',
      SLIPWAY_LESSONS_DIR: path.join(projectRoot, 'lessons'),
      SLIPWAY_SANDBOXES_PER_ADDRESS: 5,
      SLIPWAY_SOCKETS_PER_LEARNER: 8,
      SLIPWAY_UNUSED_MINUTES: 3,
      SLIPWAY_SUBNET_POOL: '10.213.0.0/16',
      SLIPWAY_BACKEND: 'docker',
      SLIPWAY_MIN_FREE_DISK_MB: 2048,
      SLIPWAY_PORT: 8080,
      SLIPWAY_PORTS_PORT: 8081,
      SLIPWAY_SITE_DIR: path.join(projectRoot, 'dist'),
      SLIPWAY_STATE_DIR: path.join(projectRoot, '.slipway'),
      SLIPWAY_OFFLINE: false,
      SLIPWAY_MAX_SANDBOXES: 20,
      SLIPWAY_SANDBOX_MEMORY_MB: 1024,
      SLIPWAY_SANDBOX_CPUS: 1,
      SLIPWAY_SANDBOX_PIDS: 1024,
      SLIPWAY_POOL_SIZE: 1,
      SLIPWAY_SANDBOX_DISK_MB: 4096,
      SLIPWAY_SANDBOX_DISK_DIR: '/var/lib/slipway/sandboxes',
      SLIPWAY_IDLE_MINUTES: 30,
      SLIPWAY_HEARTBEAT_SECONDS: 30,
      SLIPWAY_RESUME_SECONDS: 120,
      SLIPWAY_CHECK_TIMEOUT_MS: 10000,
      SLIPWAY_INSTANCE: 'default',
      SLIPWAY_LOG_LEVEL: 'info',
    });
  });

  it('points projectRoot at the folder holding package.json', () => {
    expect(existsSync(path.join(projectRoot, 'package.json'))).toBe(true);
    expect(path.join(projectRoot, 'server')).toBe(path.dirname(new URL(import.meta.url).pathname));
  });

  it('coerces numbers', () => {
    const config = loadConfig({ SLIPWAY_PORT: '9000', SLIPWAY_MAX_SANDBOXES: '3', SLIPWAY_SANDBOX_CPUS: '0.5' });
    expect(config.SLIPWAY_PORT).toBe(9000);
    expect(config.SLIPWAY_MAX_SANDBOXES).toBe(3);
    expect(config.SLIPWAY_SANDBOX_CPUS).toBe(0.5);
  });

  it('accepts port 0', () => {
    expect(loadConfig({ SLIPWAY_PORT: '0' }).SLIPWAY_PORT).toBe(0);
  });

  it('keeps strings and enums', () => {
    const config = loadConfig({
      SLIPWAY_HOST: '127.0.0.1',
      SLIPWAY_PUBLIC_URL: 'https://docker.example.edu',
      SLIPWAY_INSTANCE: 'class-a',
      SLIPWAY_LOG_LEVEL: 'silent',
    });
    expect(config.SLIPWAY_HOST).toBe('127.0.0.1');
    expect(config.SLIPWAY_PUBLIC_URL).toBe('https://docker.example.edu');
    expect(config.SLIPWAY_INSTANCE).toBe('class-a');
    expect(config.SLIPWAY_LOG_LEVEL).toBe('silent');
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' }).SLIPWAY_PORT).toBe(8080);
  });

  it('rejects a non-numeric port with a ConfigError naming SLIPWAY_PORT', () => {
    const error = errorOf(() => loadConfig({ SLIPWAY_PORT: 'abc' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('SLIPWAY_PORT');
    expect((error as ConfigError).message).toContain('"abc"');
  });

  it('reads the ports origin settings and names them when they are wrong', () => {
    const config = loadConfig({ SLIPWAY_PORTS_PORT: '0', SLIPWAY_PORTS_URL: 'https://ports.slipway.example' });
    expect(config.SLIPWAY_PORTS_PORT).toBe(0);
    expect(config.SLIPWAY_PORTS_URL).toBe('https://ports.slipway.example');
    expect(() => loadConfig({ SLIPWAY_PORTS_PORT: 'x' })).toThrow(/SLIPWAY_PORTS_PORT="x"/);
    expect(() => loadConfig({ SLIPWAY_PORTS_URL: 'ports' })).toThrow(/SLIPWAY_PORTS_URL="ports"/);
  });

  it('rejects a port above 65535', () => {
    expect(() => loadConfig({ SLIPWAY_PORT: '65536' })).toThrow(/SLIPWAY_PORT/);
  });

  it('rejects a fractional port', () => {
    expect(() => loadConfig({ SLIPWAY_PORT: '80.5' })).toThrow(ConfigError);
  });

  it('rejects SLIPWAY_MAX_SANDBOXES=0', () => {
    const error = errorOf(() => loadConfig({ SLIPWAY_MAX_SANDBOXES: '0' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('SLIPWAY_MAX_SANDBOXES');
  });

  it('takes a sandbox disk limit of 0 (none) or at least 64 MB, and an absolute disk folder', () => {
    expect(loadConfig({ SLIPWAY_SANDBOX_DISK_MB: '0' }).SLIPWAY_SANDBOX_DISK_MB).toBe(0);
    expect(loadConfig({ SLIPWAY_SANDBOX_DISK_MB: '200' }).SLIPWAY_SANDBOX_DISK_MB).toBe(200);
    expect(() => loadConfig({ SLIPWAY_SANDBOX_DISK_MB: '10' })).toThrow(/SLIPWAY_SANDBOX_DISK_MB="10" is not valid: use at least 64, or 0 for no limit/);
    expect(() => loadConfig({ SLIPWAY_SANDBOX_DISK_DIR: 'disk' })).toThrow(/SLIPWAY_SANDBOX_DISK_DIR="disk" is not valid: expected an absolute path/);
  });

  it('rejects an invalid instance name, log level and public URL', () => {
    expect(() => loadConfig({ SLIPWAY_INSTANCE: 'Has Spaces' })).toThrow(/SLIPWAY_INSTANCE/);
    expect(() => loadConfig({ SLIPWAY_LOG_LEVEL: 'verbose' })).toThrow(/SLIPWAY_LOG_LEVEL/);
    expect(() => loadConfig({ SLIPWAY_PUBLIC_URL: 'not a url' })).toThrow(/SLIPWAY_PUBLIC_URL/);
  });

  it('names every bad variable, one a line', () => {
    const error = errorOf(() => loadConfig({ SLIPWAY_PORT: 'abc', SLIPWAY_IDLE_MINUTES: '0' })) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.some((line) => line.startsWith('SLIPWAY_PORT='))).toBe(true);
    expect(lines.some((line) => line.startsWith('SLIPWAY_IDLE_MINUTES='))).toBe(true);
  });

  it('treats a variable set to the empty string as unset', () => {
    const config = loadConfig({ SLIPWAY_PORT: '', SLIPWAY_MAX_SANDBOXES: ' ' });
    expect(config.SLIPWAY_PORT).toBe(8080);
    expect(config.SLIPWAY_MAX_SANDBOXES).toBe(20);
  });

  it('accepts only decimal digits for whole numbers', () => {
    expect(errorOf(() => loadConfig({ SLIPWAY_PORT: '0x1F90' }))).toBeInstanceOf(ConfigError);
    expect(errorOf(() => loadConfig({ SLIPWAY_PORT: '8e3' }))).toBeInstanceOf(ConfigError);
  });

  it('reads SLIPWAY_OFFLINE as a switch and rejects anything else', () => {
    expect(loadConfig({ SLIPWAY_OFFLINE: '1' }).SLIPWAY_OFFLINE).toBe(true);
    expect(loadConfig({ SLIPWAY_OFFLINE: 'True' }).SLIPWAY_OFFLINE).toBe(true);
    expect(loadConfig({ SLIPWAY_OFFLINE: '0' }).SLIPWAY_OFFLINE).toBe(false);
    expect(loadConfig({ SLIPWAY_OFFLINE: 'no' }).SLIPWAY_OFFLINE).toBe(false);
    expect(() => loadConfig({ SLIPWAY_OFFLINE: 'maybe' })).toThrow(/SLIPWAY_OFFLINE/);
  });
});
