/**
 * A learner's sandbox on the real engine: starts, pulls through the mirror, fails outside
 * lookups at once, carries its limits, and leaves nothing behind.
 */
import { asLearner, docker } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import type { StartPhase } from '../server/sandbox/driver.ts';
import { sandboxCapabilities } from '../server/sandbox/docker/driver.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { nodeUidBase } from '../server/sandbox/docker/node-users.ts';
import { leftovers } from './support/leftovers.ts';
import path from 'node:path';
import { loadConfig } from '../server/config.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const sessionId = randomBytes(6).toString('hex');
const phases: StartPhase[] = [];

beforeAll(async () => {
  slipway = await startTestSlipway();
  await slipway.runtime.driver.start({ sessionId, learnerId: 'test-learner', nodes: ['node1'] }, (phase) => phases.push(phase));
});

afterAll(async () => {
  await slipway.runtime.driver.stop(sessionId);
  await slipway.stop();
});

describe('sandbox', () => {
  it('reports what it is doing while it starts', () => {
    expect(phases).toContain('starting');
    expect(phases).toContain('waiting-engine');
  });

  it('runs hello-world pulled from the mirror', async () => {
    const result = await slipway.runtime.driver.run(sessionId, 'node1', 'docker run hello-world', 30000);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('Pulling from library/hello-world');
    expect(result.output).toContain('Hello from Slipway!');
  });

  it('offers the other lesson images through the mirror', async () => {
    const result = await slipway.runtime.driver.run(
      sessionId,
      'node1',
      'docker run --rm busybox echo busybox-ok && docker pull -q registry:2 && docker pull -q debian:bookworm',
      60000,
    );
    expect(result.output).toContain('busybox-ok');
    expect(result.exitCode).toBe(0);
  });

  it('fails lookups of outside names at once, in the node and for docker pull', async () => {
    const started = Date.now();
    const lookup = await slipway.runtime.driver.run(sessionId, 'node1', 'getent hosts example.org', 20000, asLearner);
    expect(lookup.exitCode).not.toBe(0);
    const pull = await slipway.runtime.driver.run(sessionId, 'node1', 'docker pull no-such-image-anywhere', 20000);
    expect(pull.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('is the learner\'s own engine, not the host\'s', async () => {
    const result = await slipway.runtime.driver.run(sessionId, 'node1', "docker info --format '{{.Name}}'; docker ps -a --format '{{.Names}}'", 10000);
    expect(result.output.split('\n')[0]).toBe('node1');
    expect(result.output).not.toContain('slipway-');
  });

  it('runs with limits, as an unprivileged user, with no host mount but its own disk', async () => {
    const info = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.Memory).toBeGreaterThan(0);
    expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(info.HostConfig.NanoCpus).toBeGreaterThan(0);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd?.sort()).toEqual([...sandboxCapabilities].sort());
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    // The only mounts are the node's own disk (node-disk.ts), on a read-only root filesystem.
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    const disk = path.join(loadConfig().SLIPWAY_SANDBOX_DISK_DIR, testInstance(), sessionId, 'node1');
    expect(info.Mounts.map((mount) => [mount.Type, mount.Source, mount.Destination]).sort()).toEqual([
      ['bind', `${disk}/home`, '/home/learner'],
      ['bind', `${disk}/tmp`, '/tmp'],
      ['bind', `${disk}/var-tmp`, '/var/tmp'],
    ]);
    const [uid, gid] = (info.Config.User ?? '').split(':').map(Number);
    expect(uid).toBeGreaterThanOrEqual(nodeUidBase);
    expect(gid).toBe(uid);
    expect(info.HostConfig.CapAdd).not.toContain('SYS_ADMIN');
    expect(info.HostConfig.CapAdd).not.toContain('NET_ADMIN');
    expect(info.HostConfig.OomKillDisable ?? false).toBe(false);
  });

  it('reports a vanished node as SANDBOX_MISSING and cleans up after it', async () => {
    const other = randomBytes(6).toString('hex');
    const driver = slipway.runtime.driver;
    await driver.start({ sessionId: other, learnerId: 'test-learner-2', nodes: ['node1'] }, () => undefined);
    await docker.getContainer(objectName(testInstance(), other, 'node1')).remove({ force: true });
    expect(await driver.isRunning(other)).toBe(false);
    await expect(driver.run(other, 'node1', 'true', 5000)).rejects.toMatchObject({ code: 'SANDBOX_MISSING' });
    await driver.stop(other);
    await driver.stop(other); // removing what is gone succeeds
    expect(await leftovers(docker, testInstance(), { includeMirror: false, session: other })).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });
});
