/**
 * Puts Slipway together: engine, images, mirror, firewall, sessions, and the HTTP server.
 * Used by the command line (server/cli.ts), the integration tests and the benchmarks.
 */
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { createApp, type App } from './http/app.ts';
import { loadCourse } from '../lessons/course.ts';
import { existsSync } from 'node:fs';
import { SqliteProgressStore } from './store/sqlite-store.ts';
import { loadOrCreateSecret } from './store/secret.ts';
import { ensureCaches } from './sandbox/docker/caches.ts';
import { connectEngine, engineUnavailable, type Docker } from './sandbox/docker/engine.ts';
import { DockerDriver } from './sandbox/docker/driver.ts';
import { ensureHostFirewall } from './sandbox/docker/firewall.ts';
import { checkTunDevice } from './sandbox/docker/host-checks.ts';
import { ensureImages, type ImageSet } from './sandbox/docker/images.ts';
import { ensureMirror } from './sandbox/docker/mirror.ts';
import { SessionManager } from './sessions/session-manager.ts';
import path from 'node:path';

export interface Runtime {
  docker: Docker;
  images: ImageSet;
  driver: DockerDriver;
}

/** Engine, images, mirror, caches and firewall: everything sandboxes need, built or started if missing. */
export async function prepareSandboxes(config: Config, log: Logger): Promise<Runtime> {
  const docker = connectEngine();
  try {
    await docker.ping();
  } catch (error) {
    throw engineUnavailable(error);
  }
  await checkTunDevice();
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
    },
    log,
  );
  return { docker, images, driver };
}

export interface Slipway {
  url: string;
  app: App;
  sessions: SessionManager;
  store: SqliteProgressStore;
  runtime: Runtime;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Take back (or remove) the sandboxes an earlier run of this installation left (default true). */
  recover?: boolean;
}

export async function startSlipway(config: Config, log: Logger, options: StartOptions = {}): Promise<Slipway> {
  if (!existsSync(path.join(config.SLIPWAY_SITE_DIR, 'index.html'))) {
    throw new Error(`The site is not built (${config.SLIPWAY_SITE_DIR} has no index.html): run \`npm run build\` first.`);
  }
  const course = await loadCourse(config.SLIPWAY_LESSONS_DIR);
  const secret = config.SLIPWAY_SECRET ?? (await loadOrCreateSecret(config.SLIPWAY_STATE_DIR));
  const store = new SqliteProgressStore(path.join(config.SLIPWAY_STATE_DIR, 'slipway.db'));
  const runtime = await prepareSandboxes(config, log);
  const sessions = new SessionManager(
    runtime.driver,
    {
      maxSandboxes: config.SLIPWAY_MAX_SANDBOXES,
      idleMs: config.SLIPWAY_IDLE_MINUTES * 60_000,
      unusedIdleMs: config.SLIPWAY_UNUSED_MINUTES * 60_000,
      perAddress: config.SLIPWAY_SANDBOXES_PER_ADDRESS,
    },
    log,
  );
  if (options.recover !== false) {
    const { adopted, removed } = await sessions.recover();
    if (adopted + removed > 0) log.info('sandboxes left by an earlier run', { adopted, removed });
  }
  const app = createApp({
    siteDir: config.SLIPWAY_SITE_DIR,
    publicUrl: config.SLIPWAY_PUBLIC_URL,
    secret,
    course,
    store,
    driver: runtime.driver,
    sessions,
    checkTimeoutMs: config.SLIPWAY_CHECK_TIMEOUT_MS,
    heartbeatMs: config.SLIPWAY_HEARTBEAT_SECONDS * 1000,
    resumeGraceMs: config.SLIPWAY_RESUME_SECONDS * 1000,
    socketsPerLearner: config.SLIPWAY_SOCKETS_PER_LEARNER,
    socketsPerAddress: config.SLIPWAY_SOCKETS_PER_LEARNER * config.SLIPWAY_SANDBOXES_PER_ADDRESS,
    log,
  });
  const url = await app.listen(config.SLIPWAY_PORT, config.SLIPWAY_HOST);
  return {
    url,
    app,
    sessions,
    store,
    runtime,
    stop: async () => {
      await app.close();
      await sessions.shutdown();
      store.close();
    },
  };
}
