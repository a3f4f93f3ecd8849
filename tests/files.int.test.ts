/**
 * The editor's file API on a real engine: what it saves is what the learner's shell sees, a
 * file changed underneath is not overwritten, binary and oversized files and missing folders
 * get a sentence, a full disk loses nothing, and a learner reaches their own sandbox only.
 *
 * Traffic: none beyond the local engine and the test run's mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { docker } from './support/engine.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';
import { learnerCookie, newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';

let slipway: Slipway;
const ann = newLearnerId();
let terminal: TestTerminal;

beforeAll(async () => {
  slipway = await startTestSlipway({ SLIPWAY_SANDBOX_DISK_MB: '128' });
  terminal = openTerminal(slipway.url, { learnerId: ann });
  await terminal.waitForMessage('status', (message) => message.phase === 'ready', 60_000);
});

afterAll(async () => {
  terminal?.socket.close();
  await slipway?.stop();
});

interface Answer {
  status: number;
  body: { error?: string; message?: string; content?: string; version?: string; entries?: { name: string; kind: string }[] };
}

async function call(route: string, options: { learner?: string; body?: unknown; origin?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const learner = options.learner === undefined ? ann : options.learner;
  if (learner) headers.cookie = learnerCookie(learner);
  if (options.origin) headers.origin = options.origin;
  const response = await fetch(new URL(route, slipway.url), options.body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(options.body) });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}
const read = (path: string, learner?: string) => call(`/api/files/read?node=node1&path=${encodeURIComponent(path)}`, { learner });
const write = (path: string, content: string, expected: string, extra: { learner?: string; origin?: string } = {}) => call('/api/files/write', { ...extra, body: { node: 'node1', path, content, expected } });

/** Runs a command in the learner's terminal and waits for its marker. */
async function shell(command: string, marker: string): Promise<string> {
  const before = terminal.output().length;
  terminal.type(`${command}; echo ${marker}-$((1+1))\r`);
  await terminal.waitFor(() => terminal.output().slice(before).includes(`${marker}-2\r\n`), 30_000, marker);
  return terminal.output().slice(before);
}

describe('the file API', () => {
  it("saves a new file that the learner's shell then sees, owned by the learner's root, and reads it back", async () => {
    const dockerfile = 'FROM busybox\nCMD ["echo", "built from the editor: 你好"]\n';
    const saved = await write('/home/learner/app/Dockerfile', dockerfile, 'new');
    expect(saved.status).toBe(404);
    expect(saved.body.message).toContain('/home/learner/app does not exist');
    await shell('mkdir -p /home/learner/app', 'made');
    const created = await write('/home/learner/app/Dockerfile', dockerfile, 'new');
    expect(created.status).toBe(200);
    const seen = await shell('cat /home/learner/app/Dockerfile; stat -c "owner=%U mode=%a" /home/learner/app/Dockerfile', 'shown');
    expect(seen).toContain('built from the editor: 你好');
    expect(seen).toContain('owner=root mode=644');
    const back = await read('/home/learner/app/Dockerfile');
    expect(back.body).toMatchObject({ content: dockerfile, version: created.body.version });
    const listed = await call(`/api/files/list?node=node1&path=${encodeURIComponent('/home/learner/app/../app')}`);
    expect(listed.body.entries).toEqual([{ name: 'Dockerfile', kind: 'file', size: Buffer.byteLength(dockerfile) }]);
  });

  it('does not overwrite a file that changed since it was read, unless told to, and keeps its mode', async () => {
    // (Single quotes: in an interactive bash, "!" in double quotes is history expansion.)
    await shell("printf '%s\\n' '#!/bin/sh' 'echo one' > /home/learner/run.sh; chmod 755 /home/learner/run.sh", 'script');
    const opened = await read('/home/learner/run.sh');
    await shell('echo "echo two" >> /home/learner/run.sh', 'changed');
    const refused = await write('/home/learner/run.sh', '#!/bin/sh\necho mine\n', opened.body.version!);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'CHANGED' });
    expect(await shell('cat /home/learner/run.sh', 'kept')).toContain('echo two');
    expect((await write('/home/learner/run.sh', '#!/bin/sh\necho mine\n', 'any')).status).toBe(200);
    expect(await shell('/home/learner/run.sh', 'ran')).toContain('mine\r\n');
  });

  it('says so for a binary file, a file over 1 MiB, a folder, a missing file and a path that is not absolute', async () => {
    await shell('head -c 64 /dev/urandom > /tmp/random.bin; printf "a\\0b" >> /tmp/random.bin; head -c 1100000 /dev/zero | tr "\\0" a > /tmp/big.txt', 'files');
    expect(await read('/tmp/random.bin')).toMatchObject({ status: 415, body: { error: 'BINARY' } });
    expect(await read('/tmp/big.txt')).toMatchObject({ status: 413, body: { error: 'TOO_LARGE' } });
    expect(await read('/home/learner')).toMatchObject({ status: 409, body: { error: 'NOT_A_FILE' } });
    expect(await read('/home/learner/nothing-here')).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } });
    expect(await read('root/app/Dockerfile')).toMatchObject({ status: 400, body: { error: 'BAD_PATH' } });
    expect((await write('/tmp/too-big.txt', 'a'.repeat(1024 * 1024 + 1), 'new')).status).toBe(413);
  });

  it('loses nothing when the disk is full: the old file stays as it was', async () => {
    const before = 'FROM busybox\n';
    expect((await write('/home/learner/keep.txt', before, 'any')).status).toBe(200);
    await shell('dd if=/dev/zero of=/home/learner/filler bs=1M count=200 2>/dev/null', 'filled');
    const full = await write('/home/learner/keep.txt', 'x'.repeat(900_000), 'any');
    expect(full.status).toBe(507);
    expect(full.body.message).toMatch(/disk is full|could not write it all/);
    expect((await read('/home/learner/keep.txt')).body.content).toBe(before);
    await shell('rm -f /home/learner/filler', 'freed');
  });

  it('refuses a stranger, a learner without a sandbox, another site and a vanished node', async () => {
    expect((await read('/home/learner/app/Dockerfile', '')).status).toBe(401);
    const bob = newLearnerId();
    expect(await read('/home/learner/app/Dockerfile', bob)).toMatchObject({ status: 409, body: { error: 'NO_SANDBOX' } });
    expect((await write('/home/learner/x', 'x', 'any', { origin: 'http://evil.example' })).status).toBe(403);
    expect(await call('/api/files/read?node=node2&path=/home/learner')).toMatchObject({ status: 404, body: { error: 'NO_NODE' } });
    const session = slipway.sessions.sessionOf(ann)!;
    await docker.getContainer(objectName(testInstance(), session.id, 'node1')).remove({ force: true });
    expect(await read('/home/learner/app/Dockerfile')).toMatchObject({ status: 410, body: { error: 'SANDBOX_MISSING' } });
  });
});
