/**
 * The course's Flask app, built the ordinary way inside a learner's sandbox with the package
 * caches offline: once with apt (FROM debian, apt-get install python3-pip, pip3 install flask,
 * as the course's Dockerfile does) and once FROM python:3.11 with `pip install flask`. Each
 * image runs with `-d -P` and answers over the published port.
 *
 * The sandbox has no route out, and the caches run offline on an internal network with no
 * resolver (SLIPWAY_OFFLINE=1, set by the test set-up): everything installed comes from what
 * the caches were warmed with. Traffic goes only to containers this test run created.
 */
import { asLearner, docker } from './support/engine.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

let slipway: Slipway;
const sessionId = randomBytes(6).toString('hex');
const run = (command: string, timeoutMs = 30000) => slipway.runtime.driver.run(sessionId, 'node1', command, timeoutMs, asLearner);

const app = `from flask import Flask
app = Flask(__name__)

@app.route('/hi')
def hello_world():
    return 'Hello World!'

if __name__ == '__main__':
    app.run(host='0.0.0.0', port=5000)
`;

const dockerfiles = {
  apt: `FROM debian
RUN apt-get update && apt-get install -y python3-pip
RUN pip3 install flask
COPY hello.py /tmp/hello.py
EXPOSE 5000
CMD ["python3", "/tmp/hello.py"]
`,
  pip: `FROM python:3.11
RUN pip install flask
COPY hello.py /tmp/hello.py
EXPOSE 5000
CMD ["python", "/tmp/hello.py"]
`,
};

/** Shell lines that write `text` to `file` in the node. */
const write = (file: string, text: string) => `cat > ${file} <<'SLIPWAY_EOF'\n${text}SLIPWAY_EOF\n`;

/**
 * Build containers resolve names through the node; until the node runs a resolver for the
 * names in its /etc/hosts (being added to the sandbox image), the build is told the caches'
 * addresses. With that resolver in place these flags change nothing.
 */
const addHosts = '$(for name in apt-cache pypi; do printf -- "--add-host %s:%s " "$name" "$(getent hosts "$name" | cut -d" " -f1)"; done)';

async function buildAndServe(name: 'apt' | 'pip'): Promise<{ build: string; answer: string }> {
  const started = Date.now();
  const build = await run(
    `set -e; mkdir -p ~/${name} && cd ~/${name}\n${write('hello.py', app)}${write('Dockerfile', dockerfiles[name])}` +
      `docker build ${addHosts} -t flask-${name} . 2>&1`,
    600_000,
  );
  if (build.exitCode !== 0) throw new Error(`docker build (${name}) failed:\n${build.output.slice(-3000)}`);
  const buildSeconds = ((Date.now() - started) / 1000).toFixed(1);
  const serve = await run(
    `docker run -d -P --name web-${name} flask-${name} >/dev/null && port=$(docker port web-${name} 5000/tcp | head -n1 | sed 's/.*://') && ` +
      `for i in $(seq 100); do curl -sf http://127.0.0.1:$port/hi && exit 0; sleep 0.1; done; docker logs web-${name}; exit 1`,
    30000,
  );
  console.log(`flask-${name}: docker build ${buildSeconds} s in the sandbox`);
  return { build: build.output, answer: serve.exitCode === 0 ? serve.output : `(no answer) ${serve.output}` };
}

beforeAll(async () => {
  slipway = await startTestSlipway();
  await slipway.runtime.driver.start({ sessionId, learnerId: 'test-offline-build', nodes: ['node1'] }, () => undefined);
});

afterAll(async () => {
  await slipway.runtime.driver.stop(sessionId);
  await slipway.stop();
});

describe('with the caches offline, a learner', () => {
  it('uses caches that cannot reach anything outside', async () => {
    const aptCache = await docker.getContainer(objectName(testInstance(), 'apt-cache')).inspect();
    expect(aptCache.Config.Cmd).toContain('Offlinemode=1');
    expect(aptCache.HostConfig.Dns).toEqual(['127.0.0.1']);
    expect(Object.keys(aptCache.NetworkSettings.Networks)).toContain(objectName(testInstance(), 'mirror'));
    for (const network of Object.keys(aptCache.NetworkSettings.Networks)) {
      expect((await docker.getNetwork(network).inspect()).Internal, network).toBe(true);
    }
  });

  it('shares containers with the session that do not route between sessions', async () => {
    for (const name of ['mirror', 'apt-cache', 'pypi']) {
      const info = await docker.getContainer(objectName(testInstance(), name)).inspect();
      expect(info.HostConfig.Sysctls, name).toMatchObject({ 'net.ipv4.ip_forward': '0' });
      expect(Object.keys(info.NetworkSettings.Networks), name).toContain(objectName(testInstance(), sessionId));
    }
  });

  it('reaches the caches by name from the node', async () => {
    const result = await run(
      'curl -sf http://pypi:3141/simple/flask/ && ' +
        'curl -s -o /dev/null -w "apt-cache=%{http_code}\\n" -x http://apt-cache:3142 http://deb.debian.org/debian/dists/bookworm/InRelease',
    );
    expect(result.output).toMatch(/Flask-[\d.]+-py3-none-any\.whl#sha256=[0-9a-f]{64}/);
    expect(result.output).toContain('apt-cache=200');
  });

  it('builds and runs the Flask app with apt-get and pip3 FROM debian', { timeout: 600_000 }, async () => {
    const { build, answer } = await buildAndServe('apt');
    expect(build).toMatch(/Get:\d+ http:\/\/deb\.debian\.org\/debian bookworm\/main amd64 python3-pip/);
    expect(build).toMatch(/Successfully installed .*[Ff]lask-2/);
    expect(answer).toContain('Hello World!');
  });

  it('builds and runs the Flask app with pip FROM python:3.11', { timeout: 600_000 }, async () => {
    const { build, answer } = await buildAndServe('pip');
    expect(build).toContain('Looking in indexes: http://pypi:3141/simple/');
    expect(build).toMatch(/Successfully installed .*[Ff]lask-2/);
    expect(answer).toContain('Hello World!');
  });
});
