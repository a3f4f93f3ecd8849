/**
 * Every node is a host user of its own, and none is an account on the host: one learner who
 * uses up a per-user kernel limit (here inotify instances) does not take it from another.
 *
 * Traffic: none beyond the local engine.
 */
import { asLearner, docker } from './support/engine.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { nodeUidBase } from '../server/sandbox/docker/node-users.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const learnerA = randomBytes(6).toString('hex');
const learnerB = randomBytes(6).toString('hex');

const ok = async (sessionId: string, command: string, timeoutMs = 30000) => {
  const result = await slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs, asLearner);
  expect(result.exitCode, `${command}\n${result.output}`).toBe(0);
  return result.output;
};

beforeAll(async () => {
  slipway = await startTestSlipway();
  await Promise.all(
    [learnerA, learnerB].map((sessionId) => slipway.runtime.driver.start({ sessionId, learnerId: `users-${sessionId}`, nodes: ['node1'] }, () => undefined)),
  );
});

afterAll(async () => {
  await Promise.all([learnerA, learnerB].map((sessionId) => slipway.runtime.driver.stop(sessionId)));
  await slipway.stop();
});

describe('node users', () => {
  it('are host uids of their own, with subordinate ranges of their own, and no account on the host', async () => {
    const ranges: Array<[number, number]> = [];
    for (const sessionId of [learnerA, learnerB]) {
      const info = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
      const uid = Number(info.Config.User.split(':')[0]);
      expect(uid).toBeGreaterThanOrEqual(nodeUidBase);
      // What the learner's namespace maps to on the host: root to the node's uid, the rest to its own range.
      const map = (await ok(sessionId, 'cat /proc/self/uid_map')).trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
      expect(map[0]).toEqual([0, uid, 1]);
      const low = Math.min(...map.map(([, host]) => host!));
      const high = Math.max(...map.map(([, host, count]) => host! + count! - 1));
      ranges.push([low, high]);
      expect(high - low + 1).toBe(65536);
      // Not an account here, in /etc/passwd or any other source the host's NSS knows.
      expect((await readFile('/etc/passwd', 'utf8')).split('\n').some((line) => line.split(':')[2] === String(uid))).toBe(false);
      await expect(promisify(execFile)('getent', ['passwd', String(uid)])).rejects.toMatchObject({ code: 2 });
    }
    const [[lowA, highA], [lowB, highB]] = ranges as [[number, number], [number, number]];
    expect(highA < lowB || highB < lowA).toBe(true);
  });

  it("keep one learner's inotify use from another's tail -f", async () => {
    // Learner A opens inotify instances until the per-user limit (128 by default) is reached.
    // /run is a tmpfs (tail watches overlayfs files by polling, without inotify).
    await ok(learnerA, 'touch /run/log && for i in $(seq 1 140); do setsid tail -f /run/log >/dev/null 2>&1 </dev/null & done; sleep 1');
    const exhausted = await ok(learnerA, 'timeout 2 tail -f /run/log 2>&1; true');
    expect(exhausted).toContain('inotify cannot be used');

    const other = await ok(learnerB, 'touch /run/log; (sleep 0.5; echo appended >> /run/log) & timeout 2 tail -n 0 -f /run/log 2>&1; true');
    expect(other).not.toContain('inotify cannot be used');
    expect(other).toContain('appended');
  });
});
