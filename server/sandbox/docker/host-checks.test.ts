import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFreeDisk, checkTunDevice } from './host-checks.ts';

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
