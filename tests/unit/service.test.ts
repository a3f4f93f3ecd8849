/**
 * `./slipway service`: the systemd unit it writes (checked as text here: these machines run no
 * systemd; the install itself was tried in the Debian 12 VM, see the README), and the sentence
 * where there is no systemd.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/config.ts';

const run = (...args: string[]) => spawnSync('bash', [path.join(projectRoot, 'slipway'), 'service', ...args], { encoding: 'utf8', env: { ...process.env, SLIPWAY_UNIT_FILE: path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-unit-')), 'slipway.service') } });

describe('./slipway service', () => {
  it('writes a unit that starts ./slipway start from this clone after Docker, again when it ends, and at boot', () => {
    const { stdout, status } = run('print');
    expect(status).toBe(0);
    expect(stdout).toContain(`WorkingDirectory=${projectRoot}\n`);
    expect(stdout).toContain(`ExecStart=${projectRoot}/slipway start\n`);
    expect(stdout).toMatch(/^After=network-online\.target docker\.service$/m);
    expect(stdout).toMatch(/^Restart=always$/m);
    expect(stdout).toMatch(/^EnvironmentFile=-\/etc\/slipway\.env$/m);
    expect(stdout).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('says in one sentence why it cannot install where systemd does not run', () => {
    if (existsSync('/run/systemd/system')) return; // a systemd machine: nothing to refuse here
    const { stderr, status } = run('install');
    expect(status).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/does not run systemd.*\.\/slipway start/);
  });
});
