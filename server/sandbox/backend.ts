/**
 * Sandbox back-ends, chosen by configuration (SLIPWAY_BACKEND). A back-end prepares whatever
 * its sandboxes need and hands the server a SandboxDriver; nothing else of it leaves its
 * folder. Adding one is a folder and a line here: see server/sandbox/README.md.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { SandboxDriver } from './driver.ts';

export const backendNames = ['docker'] as const;
export type BackendName = (typeof backendNames)[number];

export interface SandboxBackend {
  readonly name: BackendName;
  readonly driver: SandboxDriver;
}

const backends: Record<BackendName, (config: Config, log: Logger) => Promise<SandboxBackend>> = {
  docker: async (config, log) => (await import('./docker/backend.ts')).openDockerBackend(config, log),
};

/** Prepares the configured back-end (images, services, …) and returns its driver. */
export function openBackend(config: Config, log: Logger): Promise<SandboxBackend> {
  return backends[config.SLIPWAY_BACKEND](config, log);
}
