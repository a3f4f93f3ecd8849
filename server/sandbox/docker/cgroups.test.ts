import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { delegatedFiles, delegationScript, hostCgroupPath } from './cgroups.ts';

const id = 'a'.repeat(64);

describe('hostCgroupPath', () => {
  it("follows the engine's cgroup driver", () => {
    expect(hostCgroupPath('systemd', id)).toBe(`system.slice/docker-${id}.scope`);
    expect(hostCgroupPath('cgroupfs', id)).toBe(`docker/${id}`);
  });

  it('takes nothing but a container id into a path', () => {
    expect(() => hostCgroupPath('systemd', '../../etc')).toThrow(/not a container id/);
  });
});

describe('the delegation script', () => {
  function fakeCgroup(root: string, relative: string): string {
    const dir = path.join(root, relative);
    mkdirSync(dir, { recursive: true });
    for (const file of [...delegatedFiles, 'memory.max']) writeFileSync(path.join(dir, file), '');
    return dir;
  }

  it.skipIf(process.getuid?.() !== 0)('gives the uid the directory and the three delegated files, and nothing else', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-cgroup-'));
    const first = fakeCgroup(root, `docker/${id}`);
    const second = fakeCgroup(root, `system.slice/docker-${'b'.repeat(64)}.scope`);
    const lines = `docker/${id} 1879048192\nsystem.slice/docker-${'b'.repeat(64)}.scope 1879113728`;
    execFileSync('sh', ['-c', delegationScript], { env: { ...process.env, SLIPWAY_CGROUP_ROOT: root, SLIPWAY_DELEGATE: lines } });
    for (const file of ['.', ...delegatedFiles]) {
      expect(statSync(path.join(first, file)).uid).toBe(1879048192);
      expect(statSync(path.join(second, file)).uid).toBe(1879113728);
    }
    // The limits stay root's: the node cannot raise its own.
    expect(statSync(path.join(first, 'memory.max')).uid).toBe(0);
    expect(statSync(path.join(root, 'docker')).uid).toBe(0);
  });

  it('fails, naming the path, when a cgroup is not there', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-cgroup-'));
    expect(() =>
      execFileSync('sh', ['-c', delegationScript], { env: { ...process.env, SLIPWAY_CGROUP_ROOT: root, SLIPWAY_DELEGATE: `docker/${id} 1000` }, stdio: 'pipe' }),
    ).toThrow(/no cgroup at docker\/a+/);
  });
});
