/**
 * Once per test run: checks the engine, builds the images (cached by content hash) and starts
 * the mirror and the package caches under an instance name unique to this run. The caches run
 * offline (SLIPWAY_OFFLINE=1, as in tests/support/slipway.ts): no test makes them fetch
 * anything from outside. Afterwards removes everything that
 * carries the run's label, and fails the run if a test left a sandbox behind.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { openBackend } from '../server/sandbox/backend.ts';
import { connectEngine } from '../server/sandbox/docker/engine.ts';
import { labelKeys } from '../server/sandbox/docker/labels.ts';
import { removeCaches } from '../server/sandbox/docker/caches.ts';
import { removeMirror } from '../server/sandbox/docker/mirror.ts';
import { leftovers } from './support/leftovers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    instance: string;
  }
}

/** Whether the test run that named an instance `test-<pid>-<random>` is still running. */
function runAlive(instance: string): boolean {
  const pid = Number(/^test-(\d+)-/.exec(instance)?.[1]);
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what earlier test runs left when they were killed before their teardown; runs that
 * are still going (another checkout testing on the same engine) keep theirs.
 */
async function removeEarlierRuns(): Promise<void> {
  const docker = connectEngine();
  const filters = { label: [labelKeys.instance] };
  const earlier = (labels: Record<string, string> | null | undefined) => {
    const instance = labels?.[labelKeys.instance] ?? '';
    return instance.startsWith('test-') && !runAlive(instance);
  };
  for (const info of await docker.listContainers({ all: true, filters })) {
    if (earlier(info.Labels)) await docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined);
  }
  for (const info of await docker.listNetworks({ filters })) {
    if (earlier(info.Labels)) await docker.getNetwork(info.Id).remove().catch(() => undefined);
  }
  for (const info of (await docker.listVolumes({ filters } as object)).Volumes ?? []) {
    if (earlier(info.Labels)) await docker.getVolume(info.Name).remove().catch(() => undefined);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await removeEarlierRuns();
  const instance = `test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const config = loadConfig({ ...process.env, SLIPWAY_INSTANCE: instance, SLIPWAY_OFFLINE: '1' });
  await openBackend(config, createLogger('info'));
  project.provide('instance', instance);
  return async () => {
    const docker = connectEngine();
    const left = await leftovers(docker, instance, { includeMirror: false });
    for (const id of left.containers) await docker.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
    for (const id of left.networks) await docker.getNetwork(id).remove().catch(() => undefined);
    for (const name of left.volumes) await docker.getVolume(name).remove().catch(() => undefined);
    await removeCaches(docker, instance);
    await removeMirror(docker, instance);
    const after = await leftovers(docker, instance, { includeMirror: true });
    const count = after.containers.length + after.networks.length + after.volumes.length;
    if (left.containers.length + left.networks.length + left.volumes.length > 0 || count > 0) {
      throw new Error(`tests left engine objects behind: ${JSON.stringify(left)}; still there after cleanup: ${JSON.stringify(after)}`);
    }
  };
}
