/**
 * The package caches sandboxes install from: `apt-cache` (apt-cacher-ng, for Debian's archive)
 * and `pypi` (a static PEP 503 index). Both are filled when their images are built (see
 * images/caches/), so they serve the course's packages with no upstream. Like the mirror, each
 * runs once per installation and joins every session's network under its name.
 *
 * Offline (SLIPWAY_OFFLINE), apt-cache runs with apt-cacher-ng's Offlinemode on the mirror's
 * internal network and with no resolver, so nothing it is asked for can leave the machine.
 * Online, it sits on a network of its own with a route out, and fetches from Debian what it
 * does not hold. pypi never needs the outside: it only serves files, from the mirror's
 * network. (Sharing that network saves one from the engine's small pool of subnets.)
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { idempotent, statusOf, type Docker } from './engine.ts';
import type { ImageSet } from './images.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from './labels.ts';
import { noForwarding, type SessionService } from './services.ts';

export interface CachesOptions {
  instance: string;
  offline: boolean;
  /** An internal network to live on between sessions: the mirror's. */
  internalNetwork: string;
}

type CreateOptions = Parameters<Docker['createContainer']>[0];

async function ensureOnlineNetwork(docker: Docker, instance: string, name: string): Promise<string> {
  const existing = await docker.listNetworks({ filters: { name: [name] } } as object);
  if (!existing.some((network) => network.Name === name)) {
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: baseLabels(instance, 'cache') });
  }
  return name;
}

/** Starts a service container unless one with the same definition already runs. */
async function ensureService(docker: Docker, name: string, definition: CreateOptions, log: Logger): Promise<void> {
  const hash = createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 12);
  try {
    const current = await docker.getContainer(name).inspect();
    if (current.Config.Labels[labelKeys.contentHash] === hash && current.State.Running) return;
    await idempotent(() => docker.getContainer(name).remove({ force: true, v: true }));
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  const container = await docker.createContainer({
    ...definition,
    name,
    Labels: { ...definition.Labels, [labelKeys.contentHash]: hash },
  });
  await container.start();
  log.info('package cache started', { container: name, image: definition.Image });
}

/** Starts (or keeps) apt-cache and pypi; returns them for the driver to wire into sessions. */
export async function ensureCaches(docker: Docker, images: ImageSet, options: CachesOptions, log: Logger): Promise<SessionService[]> {
  const { instance, offline, internalNetwork } = options;
  const labels = baseLabels(instance, 'cache');
  const onlineNetwork = objectName(instance, 'caches', 'online');
  const aptNetwork = offline ? internalNetwork : await ensureOnlineNetwork(docker, instance, onlineNetwork);
  const hardening = {
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    RestartPolicy: { Name: 'unless-stopped' },
    Sysctls: noForwarding,
  };

  const aptCache = objectName(instance, 'apt-cache');
  await ensureService(
    docker,
    aptCache,
    {
      Image: images['apt-cache'],
      Labels: labels,
      // apt-cacher-ng takes settings as arguments too; Offlinemode answers from the cache only.
      Cmd: offline ? ['Offlinemode=1'] : [],
      HostConfig: {
        ...hardening,
        Memory: 256 * 1024 * 1024,
        PidsLimit: 256,
        NetworkMode: aptNetwork,
        // Offline, no name outside resolves, so not even a lookup leaves the machine.
        ...(offline ? { Dns: ['127.0.0.1'] } : {}),
      },
    },
    log,
  );

  // pypi passes what it lacks through to PyPI when online (from the online network, like
  // apt-cache), and keeps it in a volume of its own, so it is there when the host goes offline.
  const pypi = objectName(instance, 'pypi');
  const pypiCache = objectName(instance, 'pypi-cache');
  await docker.createVolume({ Name: pypiCache, Labels: labels });
  await ensureService(
    docker,
    pypi,
    {
      Image: images.pypi,
      Labels: labels,
      Env: offline ? ['PYPI_OFFLINE=1'] : [],
      HostConfig: {
        ...hardening,
        ReadonlyRootfs: true,
        Memory: 128 * 1024 * 1024,
        PidsLimit: 64,
        NetworkMode: aptNetwork,
        Mounts: [{ Type: 'volume', Source: pypiCache, Target: '/var/cache/pypi' }],
        ...(offline ? { Dns: ['127.0.0.1'] } : {}),
      },
    },
    log,
  );
  // The network of the other mode is no longer used.
  if (offline) await idempotent(() => docker.getNetwork(onlineNetwork).remove());
  log.info('package caches ready', { offline });
  return [
    { containerName: aptCache, alias: 'apt-cache' },
    { containerName: pypi, alias: 'pypi' },
  ];
}

/** Removes the caches and their own network (the test suite's teardown, `slipway clean`). */
export async function removeCaches(docker: Docker, instance: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: labelFilter(instance, { [labelKeys.role]: 'cache' }) });
  for (const info of containers) await idempotent(() => docker.getContainer(info.Id).remove({ force: true, v: true }));
  const networks = await docker.listNetworks({ filters: labelFilter(instance, { [labelKeys.role]: 'cache' }) });
  for (const info of networks) await idempotent(() => docker.getNetwork(info.Id).remove());
  const volumes = (await docker.listVolumes({ filters: labelFilter(instance, { [labelKeys.role]: 'cache' }) } as object)).Volumes ?? [];
  for (const info of volumes) await idempotent(() => docker.getVolume(info.Name).remove());
}
