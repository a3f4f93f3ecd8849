/**
 * The learner's files, read and written for the editor panel through the engine's exec API:
 * exactly as the learner's shell sees the node (its namespaces: their home, /tmp, their copy of
 * /etc), never through that shell. Paths and content travel as environment and stdin, never in
 * a command line; sizes are bounded both ways; a write replaces the file only when it is still
 * what the editor read (a hash), and through a temporary file, so a full disk loses nothing.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { SlipwayError } from '../../errors.ts';
import type { DirectoryEntry, FileContent, FileWriteResult } from '../driver.ts';
import { engineUnavailable, isEngineUnreachable, statusOf, type Docker } from './engine.ts';
import { exitCodeOf, streamEnded } from './exec.ts';
import { normalizePath } from '../../../protocol/paths.ts';

export const maxFileBytes = 1024 * 1024;
export const maxDirectoryEntries = 1000;
const enter = '/usr/local/bin/slipway-enter';
const timeoutSeconds = 10;

/** What went wrong with a file, for the learner: a stable code and a sentence. */
export class FileError extends Error {
  readonly code: 'NOT_FOUND' | 'NOT_A_FILE' | 'NOT_A_DIRECTORY' | 'TOO_LARGE' | 'BINARY' | 'CHANGED' | 'NO_SPACE' | 'DENIED' | 'BAD_PATH' | 'FAILED';
  constructor(code: FileError['code'], message: string) {
    super(message);
    this.name = 'FileError';
    this.code = code;
  }
}

/** An absolute path, normalised, or a FileError: the editor always names files from /. */
export function checkPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096 || path.includes('\0') || !path.startsWith('/')) {
    throw new FileError('BAD_PATH', 'A file is named by its full path, starting with /.');
  }
  return normalizePath(path);
}

export function hashOf(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Whether `content` is text the editor can show: valid UTF-8 with no NUL byte. */
export function isText(content: Buffer): boolean {
  if (content.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return true;
  } catch {
    return false;
  }
}

interface ExecResult {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a script in the learner's view of the node with `env`, `stdin` piped in, stdout kept up to `maxStdout` bytes. */
async function execInLearnerView(docker: Docker, container: Dockerode.Container, script: string, env: Record<string, string>, stdin: Buffer | undefined, maxStdout: number): Promise<ExecResult> {
  let exec: Dockerode.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ['timeout', '-k', '2', String(timeoutSeconds), enter, 'sh', '-c', script],
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      AttachStdin: stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as Duplex;
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409) throw new SlipwayError('SANDBOX_MISSING', 'Your sandbox node is gone (it was stopped or removed). Reload the page to get a new one.', { cause: error });
    if (isEngineUnreachable(error)) throw engineUnavailable(error);
    throw error;
  }
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  let outSize = 0;
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    if (outSize <= maxStdout) out.push(chunk);
    outSize += chunk.length;
  });
  stderr.on('data', (chunk: Buffer) => {
    if (err.length < 4096) err += chunk.toString('utf8');
  });
  docker.modem.demuxStream(stream, stdout, stderr);
  if (stdin !== undefined) {
    stream.write(stdin);
    // Half-close: the script's `cat` sees the end of its input.
    (stream as Duplex & { end(): void }).end();
  }
  await streamEnded(stream, (timeoutSeconds + 5) * 1000);
  return { exitCode: await exitCodeOf(exec), stdout: Buffer.concat(out), stderr: err };
}

/** The sentence for what a script said on stderr with its exit status (see the scripts below). */
function failure(result: ExecResult, path: string): FileError {
  const reason = result.stderr.trim();
  if (result.exitCode === null) return new FileError('FAILED', `Reading or writing ${path} took too long.`);
  if (/^NOT_FOUND/.test(reason)) return new FileError('NOT_FOUND', `${path} does not exist.`);
  if (/^NO_DIR/.test(reason)) return new FileError('NOT_FOUND', `The folder ${reason.slice(7) || 'for that file'} does not exist: make it first (mkdir -p).`);
  if (/^NOT_A_FILE/.test(reason)) return new FileError('NOT_A_FILE', `${path} is not a regular file.`);
  if (/^NOT_A_DIRECTORY/.test(reason)) return new FileError('NOT_A_DIRECTORY', `${path} is not a folder.`);
  if (/^CHANGED/.test(reason)) return new FileError('CHANGED', `${path} changed since you opened it (a command in the terminal, or another tab). Reload it, or save again to replace it.`);
  if (/No space left/i.test(reason)) return new FileError('NO_SPACE', `Your sandbox's disk is full, so ${path} was not saved (the file is as it was). Free some space (docker system prune, rm) and save again.`);
  if (/Permission denied|Read-only/i.test(reason)) return new FileError('DENIED', `${path} cannot be written here: ${reason.split('\n')[0]}`);
  return new FileError('FAILED', `${path}: ${reason.split('\n')[0] || `exit status ${result.exitCode}`}`);
}

const readScript = `
[ -e "$P" ] || { echo NOT_FOUND >&2; exit 3; }
[ -f "$P" ] || { echo NOT_A_FILE >&2; exit 3; }
head -c "$MAX" -- "$P"`;

export async function readFileInNode(docker: Docker, container: Dockerode.Container, path: string): Promise<FileContent> {
  const file = checkPath(path);
  const result = await execInLearnerView(docker, container, readScript, { P: file, MAX: String(maxFileBytes + 1) }, undefined, maxFileBytes + 1);
  if (result.exitCode !== 0) throw failure(result, file);
  if (result.stdout.length > maxFileBytes) throw new FileError('TOO_LARGE', `${file} is larger than ${maxFileBytes / 1024 / 1024} MiB; open it with less or vi in the terminal.`);
  if (!isText(result.stdout)) throw new FileError('BINARY', `${file} is not text (it has bytes that are not UTF-8); the editor opens text files only.`);
  return { path: file, content: result.stdout.toString('utf8'), version: hashOf(result.stdout) };
}

/*
 * The write: the file must still be what the editor read (EXPECT: its sha256, or "new" for a
 * file that must not exist yet, or "any"); the content goes to a temporary file beside it, takes
 * the old file's mode, and replaces it in one rename. A disk that fills up leaves the old file.
 */
const writeScript = `
dir=$(dirname -- "$P")
[ -d "$dir" ] || { echo "NO_DIR $dir" >&2; exit 3; }
if [ -e "$P" ]; then
  [ -f "$P" ] || { echo NOT_A_FILE >&2; exit 3; }
  if [ "$EXPECT" != any ]; then
    now=$(sha256sum -- "$P" | cut -d' ' -f1)
    [ "$now" = "$EXPECT" ] || { echo CHANGED >&2; exit 3; }
  fi
elif [ "$EXPECT" != new ] && [ "$EXPECT" != any ]; then
  echo CHANGED >&2; exit 3
fi
tmp=$(mktemp -- "$P.XXXXXX") || exit 4
if head -c "$MAX" > "$tmp" && [ "$(wc -c < "$tmp")" = "$SIZE" ]; then
  if [ -e "$P" ]; then chmod --reference="$P" -- "$tmp" 2>/dev/null; else chmod 0644 -- "$tmp"; fi
  mv -f -- "$tmp" "$P" && exit 0
fi
rm -f -- "$tmp"; exit 4`;

/** `expected`: the version read (the file must still have it), 'new' (it must not exist), or 'any'. */
export async function writeFileInNode(docker: Docker, container: Dockerode.Container, path: string, content: string, expected: string): Promise<FileWriteResult> {
  const file = checkPath(path);
  const bytes = Buffer.from(content, 'utf8');
  if (bytes.length > maxFileBytes) throw new FileError('TOO_LARGE', `The editor saves files of at most ${maxFileBytes / 1024 / 1024} MiB.`);
  if (!/^([0-9a-f]{64}|new|any)$/.test(expected)) throw new FileError('BAD_PATH', 'The version to replace is not valid.');
  const result = await execInLearnerView(docker, container, writeScript, { P: file, EXPECT: expected, MAX: String(maxFileBytes), SIZE: String(bytes.length) }, bytes, 0);
  if (result.exitCode !== 0) {
    // A short write (the disk filled up) is said as such; the old file is still there.
    if (result.exitCode === 4 && !result.stderr.trim()) throw new FileError('NO_SPACE', `${file} was not saved: the sandbox could not write it all (is its disk full?). The file is as it was.`);
    throw failure(result, file);
  }
  return { path: file, version: hashOf(bytes) };
}

const listScript = `
[ -e "$P" ] || { echo NOT_FOUND >&2; exit 3; }
[ -d "$P" ] || { echo NOT_A_DIRECTORY >&2; exit 3; }
find "$P" -mindepth 1 -maxdepth 1 -printf '%y\\t%s\\t%f\\0' 2>/dev/null | head -z -n "$MAX"`;

/** The entries of a folder, folders first, then by name; at most maxDirectoryEntries. */
export async function listDirectoryInNode(docker: Docker, container: Dockerode.Container, path: string): Promise<{ path: string; entries: DirectoryEntry[]; truncated: boolean }> {
  const directory = checkPath(path);
  const result = await execInLearnerView(docker, container, listScript, { P: directory, MAX: String(maxDirectoryEntries + 1) }, undefined, 512 * 1024);
  if (result.exitCode !== 0) throw failure(result, directory);
  const entries: DirectoryEntry[] = [];
  for (const record of result.stdout.toString('utf8').split('\0')) {
    const [type, size, ...name] = record.split('\t');
    if (!type || name.length === 0) continue;
    entries.push({ name: name.join('\t'), kind: type === 'd' ? 'directory' : type === 'f' ? 'file' : type === 'l' ? 'link' : 'other', size: Number(size) });
  }
  const truncated = entries.length > maxDirectoryEntries;
  entries.splice(maxDirectoryEntries);
  entries.sort((a, b) => Number(b.kind === 'directory') - Number(a.kind === 'directory') || a.name.localeCompare(b.name));
  return { path: directory, entries, truncated };
}
