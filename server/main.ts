/**
 * Puts Slipway together: the sandbox back-end, the course, progress, sessions, and the HTTP server.
 * Used by the command line (server/cli.ts), the integration tests and the benchmarks.
 */
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { createApp, type App } from './http/app.ts';
import { loadCourse } from '../lessons/course.ts';
import { existsSync } from 'node:fs';
import { SqliteProgressStore } from './store/sqlite-store.ts';
import { loadOrCreateSecret } from './store/secret.ts';
import { loadOrCreateTeacherKey } from './workshops/teacher-key.ts';
import { WorkshopStore } from './workshops/workshop-store.ts';
import { Workshops } from './workshops/workshops.ts';
import { Metrics } from './ops/metrics.ts';
import { openBackend, type SandboxBackend } from './sandbox/backend.ts';
import { SessionManager } from './sessions/session-manager.ts';
import path from 'node:path';

export interface Slipway {
  url: string;
  /** Where learners' published ports are proxied (the ports origin). */
  portsUrl: string;
  app: App;
  sessions: SessionManager;
  store: SqliteProgressStore;
  workshops: Workshops;
  metrics: Metrics;
  runtime: SandboxBackend;
  /** The teacher key, and whether this start made it (then it is printed once). */
  teacherKey: { key: string; created: boolean; file?: string };
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
  const teacherKey = config.SLIPWAY_TEACHER_KEY
    ? { key: config.SLIPWAY_TEACHER_KEY, created: false }
    : { ...(await loadOrCreateTeacherKey(config.SLIPWAY_STATE_DIR)), file: path.join(config.SLIPWAY_STATE_DIR, 'teacher.key') };
  const store = new SqliteProgressStore(path.join(config.SLIPWAY_STATE_DIR, 'slipway.db'));
  const runtime = await openBackend(config, log);
  const sessions = new SessionManager(
    runtime.driver,
    {
      maxSandboxes: config.SLIPWAY_MAX_SANDBOXES,
      idleMs: config.SLIPWAY_IDLE_MINUTES * 60_000,
      unusedIdleMs: config.SLIPWAY_UNUSED_MINUTES * 60_000,
      perAddress: config.SLIPWAY_SANDBOXES_PER_ADDRESS,
      heldShellGraceMs: config.SLIPWAY_RESUME_SECONDS * 1000,
      poolSize: config.SLIPWAY_POOL_SIZE,
      // Bound once the metrics exist (they read the manager).
      observer: { sandboxReady: (seconds, source) => metrics.sandboxReady(seconds, source) },
    },
    log,
  );
  const metrics = new Metrics(sessions);
  if (options.recover !== false) {
    const { adopted, removed } = await sessions.recover();
    if (adopted + removed > 0) log.info('sandboxes left by an earlier run', { adopted, removed });
  }
  sessions.fillPool();
  const workshopStore = new WorkshopStore(path.join(config.SLIPWAY_STATE_DIR, 'slipway.db'));
  const workshops = new Workshops({ store: workshopStore, progress: store, sessions, course, driver: runtime.driver, log });
  await workshops.tick();
  const app = createApp({
    workshops,
    metrics,
    siteDir: config.SLIPWAY_SITE_DIR,
    publicUrl: config.SLIPWAY_PUBLIC_URL,
    secret,
    teacherKey: teacherKey.key,
    course,
    store,
    driver: runtime.driver,
    sessions,
    checkTimeoutMs: config.SLIPWAY_CHECK_TIMEOUT_MS,
    heartbeatMs: config.SLIPWAY_HEARTBEAT_SECONDS * 1000,
    resumeGraceMs: config.SLIPWAY_RESUME_SECONDS * 1000,
    socketsPerLearner: config.SLIPWAY_SOCKETS_PER_LEARNER,
    socketsPerAddress: config.SLIPWAY_SOCKETS_PER_LEARNER * config.SLIPWAY_SANDBOXES_PER_ADDRESS,
    portsUrl: config.SLIPWAY_PORTS_URL,
    log,
  });
  if (config.SLIPWAY_PUBLIC_URL && !config.SLIPWAY_PORTS_URL) {
    log.warn('SLIPWAY_PUBLIC_URL is set but SLIPWAY_PORTS_URL is not: learners are sent to published ports at the public host name on SLIPWAY_PORTS_PORT over http; behind a proxy, give the ports origin a host name and set SLIPWAY_PORTS_URL', {
      portsPort: config.SLIPWAY_PORTS_PORT,
    });
  }
  const url = await app.listen(config.SLIPWAY_PORT, config.SLIPWAY_HOST);
  const portsUrl = await app.listenPorts(config.SLIPWAY_PORTS_PORT, config.SLIPWAY_HOST).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  return {
    url,
    portsUrl,
    app,
    sessions,
    store,
    workshops,
    metrics,
    runtime,
    teacherKey,
    stop: async () => {
      workshops.close();
      await app.close();
      await sessions.shutdown();
      workshopStore.close();
      store.close();
    },
  };
}
