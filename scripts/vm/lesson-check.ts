/**
 * The browser half of scripts/vm/run.sh: Chromium on the host drives the Hello World lesson of
 * the Slipway running in the VM (SLIPWAY_VM_URL, a loopback port QEMU forwards to the guest):
 * the prompt, `docker run hello-world`, the step turning done by itself, and an inner
 * `docker run --memory 64m` whose memory.max says 64 MiB and a `docker run --cpus 0.5` whose
 * cpu.max says half a CPU (the guest boots with cgroup v2), and a 300 MB allocation under
 * `--memory 64m` that the kernel refuses.
 * Uses the browser tests' helpers; exits non-zero with what the terminal showed on failure.
 */
import { launchChromium } from '../../tests/support/chromium.ts';
import { loopbackContext, typeCommand, waitForReady, waitForStep, waitForTerminal } from '../../tests/support/browser.ts';

const url = process.env.SLIPWAY_VM_URL ?? 'http://127.0.0.1:18080';
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const step = (what: string) => process.stdout.write(`lesson-check: ${what} (${elapsed()})\n`);

const browser = await launchChromium();
try {
  const { context, blocked } = await loopbackContext(browser);
  const page = await context.newPage();
  const response = await page.goto(new URL('/en/hello-world/', url).href, { waitUntil: 'domcontentloaded' });
  if (response?.status() !== 200) throw new Error(`the lesson page answered ${response?.status()}`);
  // A cold sandbox in an emulated VM is slow: give it minutes, not seconds.
  await waitForReady(page, 'root@node1', 300_000);
  step('the prompt is on the screen');
  await typeCommand(page, 'docker run hello-world');
  await waitForTerminal(page, 'Hello from Slipway!', 300_000);
  step('docker run hello-world printed its message');
  await waitForStep(page, 'run-hello-world', 'done', 120_000);
  step('the step turned done');
  await typeCommand(page, 'docker run --rm --memory 64m busybox cat /sys/fs/cgroup/memory.max');
  await waitForTerminal(page, /^67108864\s*$/m, 300_000);
  step('an inner container started with --memory 64m reads memory.max = 67108864');
  await typeCommand(page, 'docker run --rm --cpus 0.5 busybox cat /sys/fs/cgroup/cpu.max');
  await waitForTerminal(page, /^50000 100000\s*$/m, 300_000);
  step('an inner container started with --cpus 0.5 reads cpu.max = 50000 100000');
  // Enforced, not only written down: 300 MB kept in one line by tail, under a 64 MiB limit.
  await typeCommand(page, 'docker run --rm --memory 64m --memory-swap 64m busybox sh -c "head -c 300m /dev/zero | tail >/dev/null"; echo "exit-$?"');
  await waitForTerminal(page, /^exit-137\s*$/m, 300_000);
  step('a 300 MB allocation under --memory 64m was killed (exit 137)');
  if (blocked.length > 0) throw new Error(`the page tried to reach beyond loopback: ${blocked.join(', ')}`);
  step('passed');
} finally {
  await browser.close();
}
