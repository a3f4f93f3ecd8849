/**
 * The registry mirror that sandboxes pull lesson images from. A short-lived writable registry
 * (bound to loopback) is filled from the local images; then a read-only registry serves the
 * same storage to sandboxes, joined to each session's network under the alias `mirror`.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { followStream, idempotent, statusOf, type Docker } from './engine.ts';
import { mirrorCatalog, type ImageSet } from './images.ts';
import { baseLabels, labelFilter, labelKeys, objectName } from './labels.ts';
import { noForwarding } from './services.ts';

export interface Mirror {
  containerName: string;
  /** The mirror's own internal network (no route out), which the offline caches share. */
  network: string;
}

async function waitForRegistry(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the seeding registry did not answer on 127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function seed(docker: Docker, instance: string, images: ImageSet, volume: string, log: Logger): Promise<void> {
  const name = objectName(instance, 'mirror-seed');
  await idempotent(() => docker.getContainer(name).remove({ force: true, v: true }));
  await docker.createVolume({ Name: volume, Labels: baseLabels(instance, 'mirror') });
  const container = await docker.createContainer({
    name,
    Image: images.registry,
    Labels: baseLabels(instance, 'mirror-seed'),
    Cmd: ['serve', '/etc/docker/registry/config.yml'],
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: {
      Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/registry' }],
      PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort);
    await waitForRegistry(port, 15000);
    for (const entry of mirrorCatalog(images)) {
      const target = `127.0.0.1:${port}/${entry.repository}:${entry.tag}`;
      log.info('publishing image to the mirror', { image: `${entry.repository}:${entry.tag}` });
      const [repo, tag] = [target.slice(0, target.lastIndexOf(':')), entry.tag];
      await docker.getImage(entry.image).tag({ repo, tag });
      await followStream(docker, await docker.getImage(target).push({ authconfig: {} } as object));
      await idempotent(() => docker.getImage(target).remove({ noprune: true }));
    }
  } finally {
    await idempotent(() => container.remove({ force: true, v: true }));
  }
}

async function ensureMirrorNetwork(docker: Docker, instance: string): Promise<string> {
  const name = objectName(instance, 'mirror');
  const existing = await docker.listNetworks({ filters: { name: [name] } } as object);
  if (!existing.some((network) => network.Name === name)) {
    await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, Labels: baseLabels(instance, 'mirror') });
  }
  return name;
}

/** Starts the mirror if it is not running with the current images, filling it first if needed. */
export async function ensureMirror(docker: Docker, instance: string, images: ImageSet, log: Logger): Promise<Mirror> {
  const catalog = mirrorCatalog(images);
  const contentHash = createHash('sha256').update(JSON.stringify(catalog)).update(images.registry).digest('hex').slice(0, 12);
  const containerName = objectName(instance, 'mirror');
  const network = await ensureMirrorNetwork(docker, instance);
  try {
    const current = await docker.getContainer(containerName).inspect();
    if (current.Config.Labels[labelKeys.contentHash] === contentHash && current.State.Running) return { containerName, network };
    await idempotent(() => docker.getContainer(containerName).remove({ force: true, v: true }));
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  const volume = objectName(instance, 'mirror', contentHash);
  await seed(docker, instance, images, volume, log);
  const labels = { ...baseLabels(instance, 'mirror'), [labelKeys.contentHash]: contentHash };
  const container = await docker.createContainer({
    name: containerName,
    Image: images.registry,
    Labels: labels,
    Cmd: ['serve', '/etc/docker/registry/mirror.yml'],
    HostConfig: {
      Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/registry', ReadOnly: true }],
      RestartPolicy: { Name: 'unless-stopped' },
      Memory: 256 * 1024 * 1024,
      PidsLimit: 256,
      Sysctls: noForwarding,
      // A network of its own with no route out; sessions' networks are joined later.
      NetworkMode: network,
    },
  });
  await container.start();
  // Volumes of older mirror contents are no longer needed.
  const volumes = await docker.listVolumes({ filters: JSON.stringify({ name: [objectName(instance, 'mirror')] }) } as object);
  for (const old of volumes.Volumes ?? []) {
    if (old.Name !== volume && old.Name.startsWith(objectName(instance, 'mirror') + '-')) {
      await idempotent(() => docker.getVolume(old.Name).remove());
    }
  }
  log.info('mirror ready', { container: containerName, images: catalog.length });
  return { containerName, network };
}

/**
 * Removes the mirror and its storage (used by the test suite's teardown and `slipway clean`).
 * Remove the caches first (removeCaches): offline, they share the mirror's network.
 */
export async function removeMirror(docker: Docker, instance: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: labelFilter(instance) });
  for (const info of containers) {
    const role = info.Labels[labelKeys.role];
    if (role === 'mirror' || role === 'mirror-seed') await idempotent(() => docker.getContainer(info.Id).remove({ force: true, v: true }));
  }
  const volumes = await docker.listVolumes({ filters: JSON.stringify({ name: [objectName(instance, 'mirror')] }) } as object);
  for (const volume of volumes.Volumes ?? []) await idempotent(() => docker.getVolume(volume.Name).remove());
  await idempotent(() => docker.getNetwork(objectName(instance, 'mirror')).remove());
}
