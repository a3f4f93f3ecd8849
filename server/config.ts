/**
 * The one place that reads the environment. Every option has a default that suits one laptop
 * or one classroom server; a bad value stops start-up with a sentence naming the variable.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { backendNames } from './sandbox/backend.ts';
import { parseCidr } from './sandbox/docker/session-network.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A whole number written in decimal digits ("8080"; not "", "0x1F90" or "8e3"). */
const integer = (min: number, max: number) =>
  z.preprocess((value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value), z.number().int().min(min).max(max));

/** A yes/no switch: "1", "true" or "yes" turn it on; "0", "false" or "no" off. */
const flag = () =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
    z.enum(['1', 'true', 'yes', '0', 'false', 'no']).transform((value) => ['1', 'true', 'yes'].includes(value)),
  );

export const configSchema = z.object({
  SLIPWAY_HOST: z.string().default('0.0.0.0').describe('Address the HTTP server listens on.'),
  SLIPWAY_PORT: integer(0, 65535).default(8080).describe('Port the HTTP server listens on (0 picks a free one).'),
  SLIPWAY_PUBLIC_URL: z
    .url()
    .optional()
    .describe('URL learners open, when Slipway sits behind a proxy; WebSocket origins must match it.'),
  SLIPWAY_PORTS_PORT: integer(0, 65535)
    .default(8081)
    .describe("Port of the ports origin, where learners' published ports are proxied (0 picks a free one); a port of its own keeps their apps' scripts out of Slipway's origin."),
  SLIPWAY_PORTS_URL: z
    .url()
    .optional()
    .describe('URL of the ports origin as learners reach it, when a proxy forwards a host name of its own (not a path of Slipway\'s) to SLIPWAY_PORTS_PORT.'),
  SLIPWAY_SECRET: z
    .string()
    .min(32, 'use at least 32 characters (e.g. openssl rand -hex 32)')
    .optional()
    .describe('Key that signs learner cookies; by default a random one kept in the state folder (secret.key).'),
  SLIPWAY_TEACHER_KEY: z
    .string()
    .min(16, 'use at least 16 characters (e.g. openssl rand -base64 18)')
    .optional()
    .describe('Key that opens the teacher pages, workshops and /metrics; by default one is made on the first start, kept in the state folder (teacher.key) and printed.'),
  SLIPWAY_SITE_DIR: z
    .string()
    .default(path.join(projectRoot, 'dist'))
    .describe('Folder holding the built site (`astro build` output).'),
  SLIPWAY_LESSONS_DIR: z
    .string()
    .default(path.join(projectRoot, 'lessons'))
    .describe('Folder of lesson folders (each with lesson.yaml, zh.mdx, en.mdx); the site is built from the same folder.'),
  SLIPWAY_STATE_DIR: z
    .string()
    .default(path.join(projectRoot, '.slipway'))
    .describe('Folder for Slipway\'s own files: the progress database (slipway.db) and image build scratch space.'),
  SLIPWAY_BASE_IMAGE: z
    .string()
    .min(1)
    .optional()
    .describe('Debian image to build on instead of debootstrapping one (e.g. debian:bookworm where Docker Hub is reachable).'),
  SLIPWAY_OFFLINE: flag()
    .default(false)
    .describe(
      'Run the package caches (apt-cache, pypi) offline: they serve only what they were warmed with and never contact Debian or PyPI.',
    ),
  SLIPWAY_MAX_SANDBOXES: integer(1, 10000).default(20).describe('Most learner sandboxes running at once.'),
  SLIPWAY_BACKEND: z.enum(backendNames).default('docker').describe('Where sandboxes run: `docker` (the local Docker engine, or DOCKER_HOST).'),
  SLIPWAY_SANDBOXES_PER_ADDRESS: integer(1, 10000)
    .default(5)
    .describe('Most sandboxes learners from one network address may hold (raise it for a classroom behind one NAT address).'),
  SLIPWAY_SOCKETS_PER_LEARNER: integer(1, 100)
    .default(8)
    .describe('Most terminals one learner may have open at once (tabs, nodes); an address may have this many per sandbox it may hold.'),
  SLIPWAY_UNUSED_MINUTES: integer(1, 24 * 60)
    .default(3)
    .describe('A sandbox nobody has typed into is removed after this long without an open terminal (sooner than SLIPWAY_IDLE_MINUTES).'),
  SLIPWAY_MIN_FREE_DISK_MB: integer(0, 10_000_000)
    .default(2048)
    .describe("Free space the engine's data filesystem must have for a new sandbox to start (0: no check)."),
  SLIPWAY_SUBNET_POOL: z
    .string()
    .refine((value) => {
      try {
        parseCidr(value);
        return true;
      } catch {
        return false;
      }
    }, 'expected an IPv4 network such as 10.213.0.0/16')
    .default('10.213.0.0/16')
    .describe('IPv4 range from which each session network takes a /28 (a /16 holds 4,096 sessions); must not overlap the networks learners reach.'),
  SLIPWAY_SANDBOX_MEMORY_MB: integer(256, 65536).default(1024).describe('Memory limit of one sandbox node.'),
  SLIPWAY_SANDBOX_CPUS: z.coerce.number().min(0.1).max(64).default(1).describe('CPU limit of one sandbox node.'),
  SLIPWAY_SANDBOX_PIDS: integer(64, 100000).default(1024).describe('Process limit of one sandbox node.'),
  SLIPWAY_SANDBOX_DISK_MB: integer(0, 10_000_000)
    .refine((value) => value === 0 || value >= 64, 'use at least 64, or 0 for no limit')
    .default(4096)
    .describe('Disk limit of one sandbox node (home, /tmp, its Docker images and volumes): a filesystem of this size; 0: none (needs no root).'),
  SLIPWAY_SANDBOX_DISK_DIR: z
    .string()
    .regex(/^\/./, 'expected an absolute path')
    .default('/var/lib/slipway/sandboxes')
    .describe("Where the nodes' disks are kept: a sparse ext4 image per node, mounted beside it."),
  SLIPWAY_SANDBOX_RUNTIME: z
    .string()
    .min(1)
    .optional()
    .describe('OCI runtime for sandbox nodes (engine default when unset), e.g. a Kata runtime for a VM boundary.'),
  SLIPWAY_POOL_SIZE: integer(0, 100)
    .default(1)
    .describe('Sandboxes kept started for learners yet to come, so a new learner gets a prompt at once; refilled in the background.'),
  SLIPWAY_IDLE_MINUTES: integer(1, 24 * 60)
    .default(30)
    .describe('A sandbox with no open terminal for this long is removed.'),
  SLIPWAY_HEARTBEAT_SECONDS: integer(1, 3600)
    .default(30)
    .describe('How often terminal sockets are pinged; a socket that misses one answer is closed.'),
  SLIPWAY_RESUME_SECONDS: integer(0, 24 * 3600)
    .default(120)
    .describe('How long a shell whose socket closed (reload, dropped connection) waits to be taken over.'),
  SLIPWAY_CHECK_TIMEOUT_MS: integer(100, 120000).default(10000).describe('Longest a lesson check may run.'),
  SLIPWAY_INSTANCE: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/)
    .default('default')
    .describe('Name of this Slipway installation; labels every container it creates.'),
  SLIPWAY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Least severe log level written.'),
});
export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // A variable set to the empty string (common in .env and compose files) means "use the default".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    return `${name}=${JSON.stringify(env[name] ?? '')} is not valid: ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}
