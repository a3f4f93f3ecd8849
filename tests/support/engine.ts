/**
 * The Docker engine and images for tests that look behind the driver (containers' settings,
 * escape attempts, the caches): the server itself hands out only its SandboxDriver.
 */
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { connectEngine, idempotent } from '../../server/sandbox/docker/engine.ts';
import { ensureImages, type ImageSet } from '../../server/sandbox/docker/images.ts';

export const docker = connectEngine();

let images: Promise<ImageSet> | undefined;

/** The images global setup built (found by their content hash, so nothing is rebuilt). */
export function testImages(): Promise<ImageSet> {
  const config = loadConfig();
  images ??= ensureImages(docker, createLogger('silent'), {
    scratchDir: path.join(config.SLIPWAY_STATE_DIR, 'build'),
    baseImage: config.SLIPWAY_BASE_IMAGE,
  });
  return images;
}

/** For driver.run: see the node exactly as the learner's shell does (what a learner can reach). */
export const asLearner = { view: 'learner' } as const;

/**
 * Runs a shell script in a throwaway container on a network a test made (no resolver, so no
 * name outside it resolves); returns what it printed, and removes the container.
 */
export async function runClient(options: { network: string; image: string; script: string; labels: Record<string, string>; user?: string }): Promise<string> {
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: ['sh', '-c', options.script],
    ...(options.user ? { User: options.user } : {}),
    Tty: true,
    Labels: options.labels,
    HostConfig: { NetworkMode: options.network, Dns: ['127.0.0.1'] },
  });
  try {
    await container.start();
    await container.wait();
    return (await container.logs({ stdout: true, stderr: true })).toString();
  } finally {
    await idempotent(() => container.remove({ force: true }));
  }
}
