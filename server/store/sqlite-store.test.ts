import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteProgressStore } from './sqlite-store.ts';

describe('SqliteProgressStore', () => {
  it('keeps steps per learner and lesson, once each', async () => {
    const store = new SqliteProgressStore(':memory:');
    await store.markDone('ann', 'hello-world', ['run', 'list']);
    await store.markDone('ann', 'hello-world', ['run']);
    await store.markDone('ann', 'volumes', ['create']);
    await store.markDone('bob', 'hello-world', ['rm']);
    expect([...(await store.doneSteps('ann', 'hello-world'))].sort()).toEqual(['list', 'run']);
    expect(await store.allDone('ann')).toEqual({ 'hello-world': ['list', 'run'], volumes: ['create'] });
    expect([...(await store.doneSteps('bob', 'hello-world'))]).toEqual(['rm']);
    expect((await store.doneSteps('carl', 'hello-world')).size).toBe(0);
    store.close();
  });

  it('finds everything again after the file is reopened (a server restart)', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-store-')), 'state', 'slipway.db');
    const first = new SqliteProgressStore(file);
    await first.markDone('ann', 'registry', ['start', 'push']);
    first.close();
    const second = new SqliteProgressStore(file);
    expect([...(await second.doneSteps('ann', 'registry'))].sort()).toEqual(['push', 'start']);
    second.close();
  });

  it('says which file it cannot open and what to check', () => {
    const notADir = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-store-')), 'file');
    writeFileSync(notADir, '');
    expect(() => new SqliteProgressStore(path.join(notADir, 'slipway.db'))).toThrow(/cannot be opened.*SLIPWAY_STATE_DIR/);
  });
});
