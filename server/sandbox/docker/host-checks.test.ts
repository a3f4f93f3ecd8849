import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assessHost, checkFreeDisk, checkTunDevice, hostSentences, requireHost, type HostFacts } from './host-checks.ts';

describe('checkFreeDisk', () => {
  it('lets a sandbox start while there is room, and says why not when there is not', async () => {
    await expect(checkFreeDisk(os.tmpdir(), 1)).resolves.toBeUndefined();
    await expect(checkFreeDisk(os.tmpdir(), Number.MAX_SAFE_INTEGER)).rejects.toThrow(/low on disk space \(\d+ MiB free\)/);
  });

  it('says nothing about a directory it cannot see (a remote engine)', async () => {
    await expect(checkFreeDisk('/nonexistent/docker', Number.MAX_SAFE_INTEGER)).resolves.toBeUndefined();
  });
});

describe('checkTunDevice', () => {
  it('accepts a character device every user can open', async () => {
    await expect(checkTunDevice(undefined, '/dev/null')).resolves.toBeUndefined();
  });

  it('names the missing device and the fix', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-tun-')), 'tun');
    await expect(checkTunDevice(undefined, file)).rejects.toThrow(/is missing: load the tun module/);
    writeFileSync(file, '');
    chmodSync(file, 0o600);
    await expect(checkTunDevice(undefined, file)).rejects.toThrow(/is missing/);
  });

  it('leaves a remote engine alone', async () => {
    await expect(checkTunDevice('tcp://10.0.0.1:2376', '/nonexistent')).resolves.toBeUndefined();
  });
});

/** A Debian host as `./slipway start` leaves it: local engine, root, AppArmor complete, base image built, cgroup v2. */
const healthy: HostFacts = {
  localEngine: true,
  root: true,
  appArmorEnabled: true,
  appArmorParser: true,
  debianBaseMissing: false,
  tools: { debootstrap: true, tar: true },
  cgroupVersion: '2',
};

describe('assessHost', () => {
  it('finds nothing wrong with a complete host', () => {
    expect(assessHost(healthy).problems).toEqual([]);
    expect(() => requireHost(assessHost(healthy))).not.toThrow();
  });

  it('AppArmor on without apparmor_parser: install apparmor and restart the engine', () => {
    const host = assessHost({ ...healthy, appArmorParser: false });
    expect(host.problems).toEqual([hostSentences.appArmorParser]);
    expect(() => requireHost(host)).toThrow(/sudo apt-get install apparmor/);
  });

  it('AppArmor off, or a remote engine, needs no apparmor_parser here', () => {
    expect(assessHost({ ...healthy, appArmorEnabled: false, appArmorParser: false }).problems).toEqual([]);
    expect(assessHost({ ...healthy, localEngine: false, appArmorParser: false }).problems).toEqual([]);
  });

  it('a missing base image needs debootstrap, root and tar; a built one needs none of them', () => {
    const bare = { ...healthy, root: false, tools: {} };
    expect(assessHost(bare).problems).toEqual([]);
    expect(assessHost({ ...bare, debianBaseMissing: true }).problems).toEqual([hostSentences.debootstrapMissing, hostSentences.tarMissing]);
    expect(assessHost({ ...bare, debianBaseMissing: true, tools: { debootstrap: true, tar: true } }).problems).toEqual([hostSentences.debootstrapNotRoot]);
    expect(assessHost({ ...healthy, debianBaseMissing: true }).problems).toEqual([]);
  });

  it('says what the cgroup version means for limits inside a sandbox', () => {
    expect(assessHost(healthy)).toMatchObject({ innerLimits: 'enforced', notes: [hostSentences.cgroupV2] });
    expect(assessHost({ ...healthy, cgroupVersion: '1' })).toMatchObject({ innerLimits: 'not-enforced', notes: [hostSentences.cgroupV1] });
    expect(assessHost({ ...healthy, cgroupVersion: undefined })).toMatchObject({ innerLimits: 'unknown', notes: [hostSentences.cgroupUnknown] });
    // A rootless engine cannot delegate a node's cgroup, whatever the version.
    expect(assessHost({ ...healthy, engineRootless: true })).toMatchObject({ innerLimits: 'not-enforced', notes: [hostSentences.cgroupV2RootlessEngine] });
    // A note is not a failure: a cgroup v1 host still starts.
    expect(assessHost({ ...healthy, cgroupVersion: '1' }).problems).toEqual([]);
  });

  it('every sentence says what to do, in one sentence', () => {
    for (const sentence of [hostSentences.appArmorParser, hostSentences.debootstrapMissing, hostSentences.debootstrapNotRoot, hostSentences.tarMissing]) {
      expect(sentence).toMatch(/: (install|start|set)/);
      expect(sentence.replace(/\(e\.g\.|etc\.\)/g, '').match(/\. [A-Z]/)).toBeNull();
      expect(sentence.endsWith('.')).toBe(true);
    }
  });
});
