/**
 * Session networks at the scale of a busy server: each takes a /28 of Slipway's own pool, so
 * far more than Docker's ~30 default pools fit, and a crash half-way through a start leaves
 * nothing for good (the next start sweeps it).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectEngine } from '../server/sandbox/docker/engine.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from '../server/sandbox/docker/labels.ts';
import { createSessionNetwork, parseCidr } from '../server/sandbox/docker/session-network.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

const pool = '10.214.0.0/16';

describe('session networks', () => {
  it('creates 200 on distinct subnets of the pool, and removes them all', { timeout: 300_000 }, async () => {
    const docker = connectEngine();
    const instance = testInstance();
    const run = randomBytes(3).toString('hex');
    const names = Array.from({ length: 200 }, (_, i) => objectName(instance, `scale-${run}-${i}`));
    const subnets: string[] = [];
    try {
      // Ten at a time, as a classroom arriving together would.
      for (let i = 0; i < names.length; i += 10) {
        const batch = names.slice(i, i + 10);
        subnets.push(
          ...(await Promise.all(
            batch.map((name) => createSessionNetwork(docker, { name, labels: { ...baseLabels(instance, 'sandbox'), [labelKeys.session]: name }, options: {}, pool })),
          )),
        );
      }
      expect(new Set(subnets).size).toBe(200);
      const range = parseCidr(pool);
      for (const subnet of subnets) {
        const { start } = parseCidr(subnet);
        expect(start >= range.start && start < range.start + range.size, subnet).toBe(true);
      }
    } finally {
      await Promise.all(names.map((name) => docker.getNetwork(name).remove().catch(() => undefined)));
    }
    const left = await docker.listNetworks({ filters: labelFilter(instance) });
    expect(left.filter((info) => info.Name.includes(`scale-${run}`))).toEqual([]);
  });

  it('sweeps the network and volumes of a start that died before its nodes', async () => {
    const slipway = await startTestSlipway();
    try {
      const docker = connectEngine();
      const instance = testInstance();
      const session = randomBytes(6).toString('hex');
      const labels = { ...baseLabels(instance, 'sandbox'), [labelKeys.session]: session };
      await createSessionNetwork(docker, { name: objectName(instance, session), labels, options: {}, pool: '10.213.0.0/16' });
      await docker.createVolume({ Name: objectName(instance, session, 'node1-docker'), Labels: labels });
      expect(await slipway.runtime.driver.sweep()).toBeGreaterThanOrEqual(2);
      const filters = labelFilter(instance, { [labelKeys.session]: session });
      expect(await docker.listNetworks({ filters })).toEqual([]);
      expect((await docker.listVolumes({ filters } as object)).Volumes ?? []).toEqual([]);
    } finally {
      await slipway.stop();
    }
  });
});
