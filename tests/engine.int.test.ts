/**
 * The Docker engine inside a node behaves like the one on a Debian host: it survives being
 * killed (the node, the shell and the images stay), `service docker restart` and its
 * relatives work, and the learner configures it in /etc/docker/daemon.json, with a clear
 * message when that file is wrong.
 *
 * Traffic goes only to containers this file creates.
 */
import { asLearner, docker } from './support/engine.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { typingShell } from '../server/lessons/typing-shell.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const sessionId = randomBytes(6).toString('hex');

const run = async (node: string, command: string, timeoutMs = 60000) => slipway.runtime.driver.run(sessionId, node, command, timeoutMs, asLearner);
/** Runs a command that must succeed, and returns what it printed. */
const ok = async (node: string, command: string, timeoutMs = 60000) => {
  const result = await run(node, command, timeoutMs);
  expect(result.exitCode, `${node}: ${command}\n${result.output}`).toBe(0);
  return result.output;
};
/** Waits until the node's engine answers again (it is restarted after a short pause). */
const engineAnswers = (node: string) => ok(node, 'for i in $(seq 1 300); do docker info >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1', 40000);

beforeAll(async () => {
  slipway = await startTestSlipway();
  await slipway.runtime.driver.start({ sessionId, learnerId: 'engine-test', nodes: ['node1', 'node2'] }, () => undefined);
});

afterAll(async () => {
  await slipway.runtime.driver.stop(sessionId);
  await slipway.stop();
});

describe('the engine in a node', () => {
  it('comes back after kill -9 of dockerd, with the node, its files and its images kept, and tells the open shell', async () => {
    await ok('node1', 'docker pull -q busybox && docker volume create kept && echo precious > ~/notes.txt');
    const containerBefore = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
    const shell = await slipway.runtime.driver.openShell(sessionId, 'node1', { cols: 200, rows: 50, id: randomUUID() });
    try {
      const typing = await typingShell(shell);
      await typing.type('kill -9 $(pidof dockerd); echo killed-$((6*7))');
      await engineAnswers('node1');
      await typing.type('true');
      const after = await typing.type('docker images --format "{{.Repository}}"; docker volume ls -q; cat ~/notes.txt');
      expect(after).toContain('busybox');
      expect(after).toContain('kept');
      expect(after).toContain('precious');
      // The prompts since the kill carried the news, each line once.
      const news = typing.output();
      expect(news.split('Docker stopped unexpectedly (dockerd killed by SIGKILL)').length).toBe(2);
      expect(news.split('Docker is running again').length).toBe(2);
    } finally {
      await shell.close();
    }
    const containerAfter = await docker.getContainer(objectName(testInstance(), sessionId, 'node1')).inspect();
    expect(containerAfter.State.Running).toBe(true);
    expect(containerAfter.State.StartedAt).toBe(containerBefore.State.StartedAt);
    expect(await slipway.runtime.driver.isRunning(sessionId)).toBe(true);
    // The restarted engine still pulls through the mirror and runs containers.
    expect(await ok('node1', 'docker run --rm busybox echo alive-again')).toContain('alive-again');
  });

  it('answers service docker, systemctl and /etc/init.d/docker as a Debian host does', async () => {
    const restart = await ok('node1', 'service docker restart && docker info --format "{{.Name}}"');
    expect(restart).toContain('Stopping Docker: docker.');
    expect(restart).toContain('Starting Docker: docker.');
    expect(restart).toContain('node1');
    expect(await ok('node1', 'systemctl restart docker && systemctl is-active docker')).toContain('active');
    expect(await ok('node1', '/etc/init.d/docker restart && service docker status')).toContain('Docker is running.');

    // reload: dockerd rereads the (merged) file without stopping, for the settings it can.
    const reloaded = await ok('node1', `jq '. + {"labels": ["reloaded=yes"]}' /etc/docker/daemon.json > /tmp/d.json && cp /tmp/d.json /etc/docker/daemon.json && service docker reload && for i in $(seq 1 50); do docker info --format '{{json .Labels}}' | grep -q reloaded=yes && break; sleep 0.1; done; docker info --format '{{json .Labels}} {{json .RegistryConfig.Mirrors}}'`);
    expect(reloaded).toContain('reloaded=yes');
    expect(reloaded).toContain('http://mirror:5000/');

    const stopped = await run('node1', 'service docker stop; service docker status; echo "status=$?"; docker info >/dev/null 2>&1; echo "info=$?"');
    expect(stopped.output).toContain('status=3');
    expect(stopped.output).toContain('info=1');
    // Stopped on request means stopped: the supervisor does not start it behind the learner's back.
    const stillStopped = await run('node1', 'sleep 3; docker info >/dev/null 2>&1; echo "info=$?"');
    expect(stillStopped.output).toContain('info=1');
    await ok('node1', 'service docker start');
    await ok('node1', 'docker images -q busybox | grep .');

    const other = await run('node1', 'systemctl restart nginx');
    expect(other.exitCode).not.toBe(0);
    expect(other.output).toContain('System has not been booted with systemd');
  });

  it('explains a broken /etc/docker/daemon.json and starts again once it is fixed', async () => {
    await ok('node1', 'cp /etc/docker/daemon.json ~/daemon.json.good');
    const broken = await run('node1', `printf '{ "insecure-registries": ["node2:5000"], }\\n' > /etc/docker/daemon.json && service docker restart`);
    expect(broken.exitCode).not.toBe(0);
    // (stdout and stderr arrive separately here, so the lines may interleave)
    expect(broken.output).toContain('Starting Docker: ');
    expect(broken.output).toContain('failed.');
    expect(broken.output).toMatch(/\/etc\/docker\/daemon\.json is not valid: .*line 1/);
    expect((await run('node1', 'docker info')).exitCode).not.toBe(0);

    // A file that is JSON but that dockerd refuses: dockerd's own words, naming the learner's file.
    const refused = await run('node1', `printf '{ "debug": "yes" }\\n' > /etc/docker/daemon.json && service docker restart`);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toContain('unable to configure the Docker daemon with file /etc/docker/daemon.json');

    // Fixed (here: emptied of everything but one setting of the learner's own); Slipway's own
    // settings stay in force without being in the file.
    const fixed = await run('node1', `printf '{ "labels": ["lesson=engine"] }\\n' > /etc/docker/daemon.json && service docker start`);
    expect(fixed.output).toContain('Starting Docker: docker.');
    expect(fixed.exitCode).toBe(0);
    const info = await ok('node1', "docker info --format '{{json .RegistryConfig.Mirrors}} {{.Driver}} {{json .Labels}}'");
    expect(info).toContain('http://mirror:5000/');
    expect(info).toContain('overlay2');
    expect(info).toContain('lesson=engine');
    expect(await ok('node1', 'docker run --rm busybox echo pulled-again')).toContain('pulled-again');
    await ok('node1', 'cp ~/daemon.json.good /etc/docker/daemon.json && service docker restart');
  });

  it('lets node2 pull from a registry on node1 once node1:5000 is an insecure registry in daemon.json', async () => {
    await ok('node1', 'docker run -d -p 5000:5000 --name registry registry:2');
    await ok('node1', 'docker pull -q busybox && docker tag busybox localhost:5000/busybox && docker push localhost:5000/busybox');

    const refused = await run('node2', 'docker pull node1:5000/busybox');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toContain('server gave HTTP response to HTTPS client');

    await ok('node2', `jq '. + {"insecure-registries": ["node1:5000"]}' /etc/docker/daemon.json > /tmp/daemon.json && cp /tmp/daemon.json /etc/docker/daemon.json`);
    expect(await ok('node2', 'service docker restart')).toContain('Starting Docker: docker.');
    const pulled = await ok('node2', 'docker pull node1:5000/busybox && docker run --rm node1:5000/busybox echo from-node1');
    expect(pulled).toContain('from-node1');
  });
});
