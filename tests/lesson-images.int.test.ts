/**
 * The images learners pull do what the course expects of their Docker Hub namesakes: registry:2
 * (a scratch image here) runs a private registry that takes a push and gives the image back,
 * and the python images run Python with pip pointed at the course's index.
 *
 * Traffic stays inside the sandbox this test starts.
 */
import { asLearner } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { startTestSlipway } from './support/slipway.ts';

let slipway: Slipway;
const sessionId = randomBytes(6).toString('hex');
const run = (command: string, timeoutMs = 60000) => slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs, asLearner);

beforeAll(async () => {
  slipway = await startTestSlipway();
  await slipway.runtime.driver.start({ sessionId, learnerId: 'test-lesson-images', nodes: ['node1'] }, () => undefined);
});

afterAll(async () => {
  await slipway.runtime.driver.stop(sessionId);
  await slipway.stop();
});

describe('lesson images', () => {
  it('registry:2 runs a private registry that takes a push and serves it back', async () => {
    const result = await run(
      [
        'set -e',
        'docker run -d -p 5000:5000 --name registry registry:2 >/dev/null',
        'for i in $(seq 50); do curl -sf http://127.0.0.1:5000/v2/ >/dev/null && break; sleep 0.1; done',
        'docker pull -q busybox >/dev/null',
        'docker tag busybox 127.0.0.1:5000/my-busybox',
        'docker push 127.0.0.1:5000/my-busybox >/dev/null',
        'docker rmi 127.0.0.1:5000/my-busybox >/dev/null',
        'docker run --rm 127.0.0.1:5000/my-busybox echo pulled-back',
        'curl -s http://127.0.0.1:5000/v2/_catalog',
        'docker exec registry ls /var/lib/registry/docker/registry/v2/repositories',
      ].join('\n'),
    );
    expect(result.output).toContain('pulled-back');
    expect(result.output).toContain('{"repositories":["my-busybox"]}');
    expect(result.exitCode).toBe(0);
  });

  it('python:3.11-slim and python:3.11 run Python 3.11 with pip pointed at the course index', async () => {
    for (const image of ['python:3.11-slim', 'python:3.11']) {
      const result = await run(`docker run --rm ${image} sh -c 'python --version && pip config list && pip --version'`, 120000);
      expect(result.output, image).toMatch(/Python 3\.11\./);
      expect(result.output, image).toContain("global.index-url='http://pypi:3141/simple/'");
      expect(result.exitCode, image).toBe(0);
    }
  });
});
