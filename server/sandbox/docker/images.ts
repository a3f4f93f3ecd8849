/**
 * Builds every image Slipway needs, locally and without a container registry: a Debian base
 * from debootstrap, then the targets of server/sandbox/images/Dockerfile. Tags carry a hash
 * of their inputs, so a second start finds them and builds nothing.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import { SlipwayError } from '../../errors.ts';
import { hostSentences } from './host-checks.ts';
import { followStream, statusOf, type Docker } from './engine.ts';
import { labelKeys } from './labels.ts';

export const imagesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'images');

/**
 * Targets of the Dockerfile. Debian's engine builds with the classic builder, which runs every
 * stage before a target too (from its layer cache after the first build).
 */
export const dockerfileTargets = [
  'sandbox',
  'registry',
  'hello-world',
  'busybox',
  'learner-debian',
  'apt-cache',
  'pypi',
  'python-slim',
  'python',
] as const;
export type Target = (typeof dockerfileTargets)[number];

/** The Debian base Slipway builds on, and every Dockerfile target, by local tag. */
export type ImageSet = { debian: string } & Record<Target, string>;

/** Images learners can pull inside their sandboxes: mirror repository:tag -> local image. */
export function mirrorCatalog(images: ImageSet): Array<{ repository: string; tag: string; image: string }> {
  const entries = (repository: string, tags: string[], image: string) => tags.map((tag) => ({ repository: `library/${repository}`, tag, image }));
  return [
    ...entries('hello-world', ['latest'], images['hello-world']),
    ...entries('busybox', ['latest'], images.busybox),
    ...entries('registry', ['2', 'latest'], images.registry),
    // The base with apt and pip pointed at the course's caches (apt-cache, pypi).
    ...entries('debian', ['bookworm', '12', 'latest'], images['learner-debian']),
    // Debian bookworm's Python is 3.11, so python:3 is 3.11 here (Docker Hub's is newer).
    ...entries('python', ['3.11-slim', '3.11-slim-bookworm', '3-slim', 'slim'], images['python-slim']),
    ...entries('python', ['3.11', '3.11-bookworm', '3', 'latest'], images.python),
  ];
}

const debianSuite = 'bookworm';
/** Bump when the debootstrap recipe below changes, so the base is rebuilt. */
const baseRecipeVersion = '1';

async function hashDirectory(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        hash.update(path.relative(dir, full) + '\0');
        hash.update(await readFile(full));
        hash.update('\0');
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

function run(command: string, args: string[], log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        log.error('command failed', { command, args, output: tail });
        reject(new Error(`${command} exited with status ${code}: ${tail.trim().split('\n').slice(-3).join(' / ')}`));
      }
    });
  });
}

async function buildDebianBase(docker: Docker, tag: string, scratchDir: string, log: Logger): Promise<void> {
  if (!existsSync('/usr/sbin/debootstrap')) throw new SlipwayError('SANDBOX_FAILED', hostSentences.debootstrapMissing);
  if (process.getuid?.() !== 0) throw new SlipwayError('SANDBOX_FAILED', hostSentences.debootstrapNotRoot);
  const rootfs = path.join(scratchDir, `debian-rootfs-${process.pid}`);
  await rm(rootfs, { recursive: true, force: true });
  await mkdir(scratchDir, { recursive: true });
  log.info('building the Debian base image with debootstrap (about a minute)', { tag });
  try {
    await run('/usr/sbin/debootstrap', ['--variant=minbase', debianSuite, rootfs], log);
    await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    await rm(path.join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    await mkdir(path.join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
    const tar = spawn('tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, version] = tag.split(':') as [string, string];
    const stream = await docker.importImage(tar.stdout, { repo, tag: version, changes: ['CMD ["bash"]'] } as object);
    await followStream(docker, stream);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

async function buildTarget(docker: Docker, target: Target, tag: string, base: string, hash: string, log: Logger): Promise<void> {
  log.info('building image', { target, tag });
  const files = (await readdir(imagesDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(imagesDir, path.join(entry.parentPath, entry.name)));
  const stream = await docker.buildImage(
    { context: imagesDir, src: files },
    {
      t: tag,
      target,
      buildargs: { BASE: base },
      labels: { [labelKeys.managed]: 'true', [labelKeys.contentHash]: hash },
      forcerm: true,
    } as object,
  );
  await followStream(docker, stream, (line) => log.debug('build', { target, line }));
}

/** The tag of the Debian base image made here with debootstrap (when SLIPWAY_BASE_IMAGE is unset). */
export function debianBaseTag(): string {
  const baseHash = createHash('sha256').update(`${debianSuite}\0${process.arch}\0${baseRecipeVersion}`).digest('hex').slice(0, 12);
  return `slipway/debian:${debianSuite}-${baseHash}`;
}

/** Whether start-up will have to debootstrap the Debian base image (so needs root and debootstrap). */
export async function debianBaseMissing(docker: Docker, baseImage: string | undefined): Promise<boolean> {
  return !baseImage && !(await imageExists(docker, debianBaseTag()));
}

export interface EnsureImagesOptions {
  scratchDir: string;
  /** Use this image as the Debian base instead of debootstrapping one (it is pulled if missing). */
  baseImage?: string | undefined;
}

/** Makes sure every image exists, building only what is missing. Returns their tags. */
export async function ensureImages(docker: Docker, log: Logger, options: EnsureImagesOptions): Promise<ImageSet> {
  let debian: string;
  if (options.baseImage) {
    debian = options.baseImage;
    if (!(await imageExists(docker, debian))) {
      await followStream(docker, await docker.pull(debian));
    }
  } else {
    debian = debianBaseTag();
    if (!(await imageExists(docker, debian))) await buildDebianBase(docker, debian, options.scratchDir, log);
  }
  const baseId = (await docker.getImage(debian).inspect()).Id;
  const contentHash = createHash('sha256')
    .update(await hashDirectory(imagesDir))
    .update(baseId)
    .digest('hex')
    .slice(0, 12);
  const tags = Object.fromEntries(dockerfileTargets.map((target) => [target, `slipway/${target}:${contentHash}`])) as Record<Target, string>;
  for (const target of dockerfileTargets) {
    if (!(await imageExists(docker, tags[target]))) await buildTarget(docker, target, tags[target], debian, contentHash, log);
  }
  return { debian, ...tags };
}
