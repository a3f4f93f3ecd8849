/**
 * The Docker back-end, assembled: the engine (checked), the images (built if missing), the
 * registry mirror, the package caches, the host firewall, and the driver over them. The only
 * place that puts those together; server/sandbox/backend.ts picks it by configuration.
 */
import path from 'node:path';
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import type { SandboxBackend } from '../backend.ts';
import { ensureCaches } from './caches.ts';
import { DockerDriver } from './driver.ts';
import { connectEngine, engineUnavailable } from './engine.ts';
import { ensureHostFirewall } from './firewall.ts';
import { assessHost, checkTunDevice, readHostFacts, requireHost } from './host-checks.ts';
import { debianBaseMissing, ensureImages } from './images.ts';
import { ensureMirror } from './mirror.ts';
import { openLoopDisks } from './node-disk.ts';

export async function openDockerBackend(config: Config, log: Logger): Promise<SandboxBackend> {
  const docker = connectEngine();
  try {
    await docker.ping();
  } catch (error) {
    throw engineUnavailable(error);
  }
  await checkTunDevice();
  const info = await docker.info().catch(() => undefined);
  const host = assessHost(
    await readHostFacts({ cgroupVersion: info?.CgroupVersion, securityOptions: info?.SecurityOptions, debianBaseMissing: await debianBaseMissing(docker, config.SLIPWAY_BASE_IMAGE) }),
  );
  requireHost(host);
  for (const note of host.notes) log.info(note, { innerLimits: host.innerLimits });
  const local = !process.env.DOCKER_HOST || process.env.DOCKER_HOST.startsWith('unix://');
  // Checked before the images are built, so a host that cannot limit disks says so at once.
  const disks =
    config.SLIPWAY_SANDBOX_DISK_MB > 0
      ? await openLoopDisks({ dir: config.SLIPWAY_SANDBOX_DISK_DIR, instance: config.SLIPWAY_INSTANCE, limitMb: config.SLIPWAY_SANDBOX_DISK_MB, localEngine: local }, log)
      : undefined;
  if (!disks) {
    log.warn(
      'SANDBOX DISKS ARE NOT LIMITED (SLIPWAY_SANDBOX_DISK_MB=0): every learner writes straight to the host\'s free space, and one can fill it for all; only the free-space watchdog stands in the way',
      { minFreeDiskMb: config.SLIPWAY_MIN_FREE_DISK_MB },
    );
  }
  const images = await ensureImages(docker, log, {
    scratchDir: path.join(config.SLIPWAY_STATE_DIR, 'build'),
    baseImage: config.SLIPWAY_BASE_IMAGE,
  });
  const mirror = await ensureMirror(docker, config.SLIPWAY_INSTANCE, images, log);
  const caches = await ensureCaches(
    docker,
    images,
    { instance: config.SLIPWAY_INSTANCE, offline: config.SLIPWAY_OFFLINE, internalNetwork: mirror.network },
    log,
  );
  const dataRoot = local ? info?.DockerRootDir : undefined;
  await ensureHostFirewall(docker, config.SLIPWAY_INSTANCE, images.sandbox, log);
  const driver = new DockerDriver(
    docker,
    {
      instance: config.SLIPWAY_INSTANCE,
      sandboxImage: images.sandbox,
      mirrorContainer: mirror.containerName,
      caches,
      memoryMb: config.SLIPWAY_SANDBOX_MEMORY_MB,
      cpus: config.SLIPWAY_SANDBOX_CPUS,
      pids: config.SLIPWAY_SANDBOX_PIDS,
      runtime: config.SLIPWAY_SANDBOX_RUNTIME,
      subnetPool: config.SLIPWAY_SUBNET_POOL,
      dataRoot,
      minFreeDiskMb: config.SLIPWAY_MIN_FREE_DISK_MB,
      cgroupDelegation: host.innerLimits === 'enforced' ? { engineCgroupDriver: info?.CgroupDriver } : undefined,
      ...(disks ? { disks, watchedDirs: [config.SLIPWAY_SANDBOX_DISK_DIR] } : {}),
    },
    log,
  );
  return { name: 'docker', driver };
}
