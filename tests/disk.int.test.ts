/**
 * Each node writes only to a disk of its own whose size the filesystem limits
 * (server/sandbox/docker/node-disk.ts): a learner who fills it is stopped by it and told so at
 * the next prompt, the host and another learner are unaffected, deleting makes room again,
 * nothing else in the node is writable, and the disk goes with the node, or with the next
 * sweep after a crash.
 *
 * Traffic: none beyond the local engine and the test run's mirror.
 */
import { asLearner, docker } from './support/engine.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { loadConfig } from '../server/config.ts';
import { typingShell } from '../server/lessons/typing-shell.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { mountsUnder } from '../server/sandbox/docker/node-disk.ts';
import { leftovers } from './support/leftovers.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

const limitMb = 200;
const diskDir = loadConfig().SLIPWAY_SANDBOX_DISK_DIR;
let slipway: Slipway;
const filler = randomBytes(6).toString('hex');
const neighbour = randomBytes(6).toString('hex');

const run = (sessionId: string, command: string, timeoutMs = 60000) => slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs, asLearner);
const ok = async (sessionId: string, command: string, timeoutMs = 60000) => {
  const result = await run(sessionId, command, timeoutMs);
  expect(result.exitCode, `${command}\n${result.output}`).toBe(0);
  return result.output;
};
const imageOf = (sessionId: string) => path.join(diskDir, testInstance(), sessionId, 'node1.img');
/** What a node's disk takes from the host: the blocks its sparse image holds. */
const allocated = async (sessionId: string) => (await stat(imageOf(sessionId))).blocks * 512;
const hostFree = async () => {
  const stats = await statfs(diskDir);
  return stats.bavail * stats.bsize;
};
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

beforeAll(async () => {
  slipway = await startTestSlipway({ SLIPWAY_SANDBOX_DISK_MB: String(limitMb) });
  await Promise.all(
    [filler, neighbour].map((sessionId) => slipway.runtime.driver.start({ sessionId, learnerId: `disk-${sessionId}`, nodes: ['node1'] }, () => undefined)),
  );
});

afterAll(async () => {
  await Promise.all([filler, neighbour].map((sessionId) => slipway.runtime.driver.stop(sessionId)));
  await slipway.stop();
});

describe("a node's disk", () => {
  it('is its own filesystem of the limit, which df shows, for home, /tmp and /var/tmp alike', async () => {
    const lines = (await ok(filler, 'df -B1M --output=size,source "$HOME" /tmp /var/tmp | tail -n +2')).trim().split('\n');
    expect(lines).toHaveLength(3);
    const [size, source] = lines[0]!.trim().split(/\s+/);
    // ext4's own tables take a few MiB of the image.
    expect(Number(size)).toBeGreaterThan(limitMb * 0.95);
    expect(Number(size)).toBeLessThanOrEqual(limitMb);
    expect(source).toMatch(/^\/dev\/loop\d+$/);
    for (const line of lines) expect(line.trim().split(/\s+/)).toEqual([size, source]);
    const info = await docker.getContainer(objectName(testInstance(), filler, 'node1')).inspect();
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
  });

  it('is the only disk the learner can write to: the rest is read-only, in memory or the kernel\'s', async () => {
    const attempts = await run(filler, 'for p in /x /usr/x /var/log/x /var/lib/x /var/cache/x /opt/x /root/x /srv/x /usr/local/x; do touch "$p" 2>/dev/null && echo "wrote $p"; done; true');
    expect(attempts.output).not.toContain('wrote');
    // Every read-write mount the learner sees (inner containers' included).
    const mountinfo = await ok(filler, 'cat /proc/self/mountinfo');
    const disk = (await ok(filler, 'df --output=source "$HOME" | tail -n 1')).trim();
    const inMemoryOrKernel = new Set(['tmpfs', 'devpts', 'mqueue', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'nsfs']);
    const strays = mountinfo
      .trim()
      .split('\n')
      .map((line) => {
        const [left, right = ''] = line.split(' - ');
        const fields = left!.split(' ');
        const [fsType, source] = right.split(' ');
        return { target: fields[4]!, writable: fields[5]!.split(',').includes('rw'), fsType: fsType!, source: source! };
      })
      .filter((mount) => mount.writable && !inMemoryOrKernel.has(mount.fsType))
      // The inner engine's container filesystems: overlays whose layers are on the node's disk.
      .filter((mount) => !(mount.fsType === 'overlay' && mount.target.startsWith('/home/learner/')))
      .filter((mount) => mount.source !== disk);
    expect(strays).toEqual([]);
    // And in the node's own namespaces, outside the learner's: only what is on the node's disk.
    const writable = await slipway.runtime.driver.run(
      filler,
      'node1',
      "find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -writable -print 2>/dev/null | grep -vE '^/(home/learner|tmp|var/tmp)(/|$)'; readlink -f /var/log/docker.log",
      30000,
    );
    expect(writable.output.trim().split('\n')).toEqual(['/var/log/docker.log', '/home/learner/.run/docker.log']);
  });

  it("keeps the node's own log (which its processes can write to) small on the host", async () => {
    await ok(filler, 'head -c 20000000 /dev/zero | tr "\\0" x | fold -w 1000 > "/proc/$(cat ~/.run/engine/supervisor.pid)/fd/2"', 60000);
    const info = await docker.getContainer(objectName(testInstance(), filler, 'node1')).inspect();
    const logs = await Promise.all([info.LogPath, `${info.LogPath}.1`].map((file) => stat(file).then((s) => s.size, () => 0)));
    expect(logs.reduce((a, b) => a + b)).toBeLessThan(3 * 2 ** 20);
  });

  it('stops a learner who fills it, says so at the prompt, and leaves the host and another learner alone', async () => {
    await ok(filler, 'echo precious > ~/notes.txt && docker pull -q busybox');
    const freeBefore = await hostFree();

    // An image too large for the disk: the pull fails, and Docker cleans up after itself.
    const pull = await run(filler, 'docker pull python:3.11', 120000);
    expect(pull.exitCode).not.toBe(0);
    // The layers came from the mirror; unpacking them is what failed (Docker then tries Docker
    // Hub and reports that lookup, which no sandbox can make).
    expect(pull.output).toMatch(/Download complete/);
    expect(await allocated(filler)).toBeLessThanOrEqual(limitMb * 2 ** 20);

    // An inner container writing into an inner volume.
    const inner = await run(filler, 'docker run --rm -v fill:/data busybox dd if=/dev/zero of=/data/fill bs=1M count=400', 120000);
    expect(inner.exitCode).not.toBe(0);
    expect(inner.output).toMatch(/No space left on device/);

    // The learner's own shell, writing into home: the write fails, and the prompt says why.
    const shell = await slipway.runtime.driver.openShell(filler, 'node1', { cols: 200, rows: 50, id: randomUUID() });
    try {
      const typing = await typingShell(shell);
      const start = typing.output().length;
      expect(await typing.type('dd if=/dev/zero of=$HOME/fill bs=1M count=400', 60000)).toMatch(/No space left on device/);
      // The line comes after the command's end mark, before the next prompt.
      await typing.type('echo fine-$((6*7))');
      const shown = typing.output().slice(start);
      expect(shown).toMatch(/\[slipway\] this sandbox's disk is full \(\d+ MiB of 200 MiB used\): remove images or files \(docker system prune, rm\) to go on\./);
      // Once: a command that works says nothing more.
      expect(shown.split("disk is full").length).toBe(2);
      expect(shown).toContain('fine-42');
    } finally {
      await shell.close();
    }
    const full = await allocated(filler);
    expect(full).toBeGreaterThan(limitMb * 0.9 * 2 ** 20);
    expect(full).toBeLessThanOrEqual(limitMb * 2 ** 20);
    // The host gave no more than the limit (what the image holds, exactly); its free space is
    // measured too, with room for what other programs on a shared host write meanwhile.
    const drop = freeBefore - (await hostFree());
    console.info(`disk test: the full node's image holds ${mib(full)} MiB; host free space fell by ${mib(drop)} MiB`);
    expect(drop).toBeLessThan((limitMb + 512) * 2 ** 20);

    // Another learner writes and runs containers as before.
    expect(await ok(neighbour, 'dd if=/dev/zero of=$HOME/f bs=1M count=50 2>&1 && docker run --rm hello-world && docker run --rm busybox echo neighbour-ok', 120000)).toContain('neighbour-ok');

    // Deleting makes room: the node works again, with everything it did not delete, and the
    // host gets the space back.
    const after = await ok(filler, 'rm $HOME/fill && docker volume rm fill >/dev/null && docker run --rm busybox echo works-again && cat ~/notes.txt && df -B1M --output=used "$HOME" | tail -n 1', 120000);
    expect(after).toContain('works-again');
    expect(after).toContain('precious');
    expect(Number(after.trim().split('\n').pop())).toBeLessThan(limitMb / 4);
    let given = full;
    for (let i = 0; i < 50 && given > full / 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      given = await allocated(filler);
    }
    expect(given).toBeLessThan(full / 2);
  });

  it('goes with its session, and a sweep removes one a crash left behind', async () => {
    const mountPoint = imageOf(neighbour).replace(/\.img$/, '');
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), mountPoint)).toHaveLength(1);
    await slipway.runtime.driver.stop(neighbour);
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), mountPoint)).toEqual([]);
    await expect(stat(path.dirname(mountPoint))).rejects.toMatchObject({ code: 'ENOENT' });

    // A crash: the node's container is gone, its disk is not.
    const crashed = randomBytes(6).toString('hex');
    await slipway.runtime.driver.start({ sessionId: crashed, learnerId: `disk-${crashed}`, nodes: ['node1'] }, () => undefined);
    await docker.getContainer(objectName(testInstance(), crashed, 'node1')).remove({ force: true });
    expect((await stat(imageOf(crashed))).isFile()).toBe(true);
    expect(await slipway.runtime.driver.sweep()).toBeGreaterThanOrEqual(1);
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), path.dirname(imageOf(crashed)))).toEqual([]);
    await expect(stat(path.dirname(imageOf(crashed)))).rejects.toMatchObject({ code: 'ENOENT' });
    // The live sandbox kept its disk.
    expect((await stat(imageOf(filler))).isFile()).toBe(true);
    await slipway.runtime.driver.stop(crashed);
  });
});

describe('with the limit turned off (SLIPWAY_SANDBOX_DISK_MB=0)', () => {
  it('gives a node Docker volumes at the same paths, on the same read-only root, and removes them with it', async () => {
    const unlimited = await startTestSlipway({ SLIPWAY_SANDBOX_DISK_MB: '0' });
    const sessionId = randomBytes(6).toString('hex');
    try {
      await unlimited.runtime.driver.start({ sessionId, learnerId: `disk-${sessionId}`, nodes: ['node1'] }, () => undefined);
      const info = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.Mounts.map((mount) => [mount.Type, mount.Destination]).sort()).toEqual([
        ['volume', '/home/learner'],
        ['volume', '/tmp'],
        ['volume', '/var/tmp'],
      ]);
      const result = await unlimited.runtime.driver.run(sessionId, 'node1', 'docker run --rm hello-world >/dev/null && touch ~/f /tmp/f && ! touch /usr/f 2>/dev/null && echo unlimited-ok', 60000, asLearner);
      expect(result.output).toContain('unlimited-ok');
    } finally {
      await unlimited.runtime.driver.stop(sessionId);
      await unlimited.stop();
    }
    expect(await leftovers(docker, testInstance(), { includeMirror: false, session: sessionId })).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
