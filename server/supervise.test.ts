import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { exitConfigError, supervise } from './supervise.ts';

/** A child that counts its starts in a file and exits with the code given for that start. */
function child(codes: number[]): { args: string[]; starts: () => number } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-supervise-')), 'count');
  const script = `
    const fs = require('fs');
    const n = (fs.existsSync(${JSON.stringify(file)}) ? Number(fs.readFileSync(${JSON.stringify(file)}, 'utf8')) : 0) + 1;
    fs.writeFileSync(${JSON.stringify(file)}, String(n));
    const codes = ${JSON.stringify(codes)};
    const code = codes[Math.min(n, codes.length) - 1];
    if (code === -1) setInterval(() => {}, 1000); else if (code === -2) process.kill(process.pid, 'SIGKILL'); else process.exit(code);
  `;
  return { args: ['-e', script], starts: () => Number(readFileSync(file, 'utf8')) };
}

const log = createLogger('silent');

describe('supervise', () => {
  it('restarts a server that crashes or is killed, until it exits cleanly', async () => {
    const { args, starts } = child([1, -2, 0]);
    const supervisor = supervise({ command: process.execPath, args, log, minDelayMs: 10 });
    expect(await supervisor.done).toBe(0);
    expect(starts()).toBe(3);
  });

  it('does not restart after an expected start-up failure', async () => {
    const { args, starts } = child([exitConfigError, 0]);
    const supervisor = supervise({ command: process.execPath, args, log, minDelayMs: 10 });
    expect(await supervisor.done).toBe(exitConfigError);
    expect(starts()).toBe(1);
  });

  it('stops restarting once told to stop, and passes the signal on', async () => {
    const { args, starts } = child([-1]);
    const supervisor = supervise({ command: process.execPath, args, log, minDelayMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    supervisor.stop('SIGTERM');
    await supervisor.done;
    expect(starts()).toBe(1);
  });

  it('waits longer after each quick failure', async () => {
    const { args } = child([1, 1, 1, 0]);
    const began = Date.now();
    const supervisor = supervise({ command: process.execPath, args, log, minDelayMs: 100, maxDelayMs: 1000 });
    await supervisor.done;
    // 100 + 200 + 400 ms of waiting between the four starts.
    expect(Date.now() - began).toBeGreaterThanOrEqual(700);
    expect(supervisor.starts).toBe(4);
  });
});
