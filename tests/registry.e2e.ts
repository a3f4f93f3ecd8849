/**
 * The private-registry lesson in Chromium: two steps on node1 (one typed, one from the
 * solution a stuck learner asks for), one on node2 through its terminal tab, and all three
 * still done after a reload and on the course index. The browser talks only to the local server.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { startBrowserTest, stopBrowserTest, typeCommand, waitForReady, waitForStep, waitForTerminal } from './support/browser.ts';

let slipway: Slipway;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const at = (path: string) => new URL(path, slipway.url).href;

beforeAll(async () => {
  ({ slipway, browser, page } = await startBrowserTest(pageErrors));
});

afterAll(() => stopBrowserTest({ slipway, browser }));

describe('the private-registry lesson in a browser', () => {
  it('opens with a terminal tab per node, node1 shown', async () => {
    await page.goto(at('/en/private-registry/'));
    await waitForReady(page, 'root@node1', 60_000);
    expect(await page.locator('[data-node-tab]').allTextContents()).toEqual(['node1', 'node2']);
    expect(await page.locator('[data-node-tab="node1"]').getAttribute('aria-selected')).toBe('true');
  });

  it('marks a step on node1 done when the learner types it', async () => {
    await typeCommand(page, 'docker run -d -p 5000:5000 --name registry registry:2');
    await waitForStep(page, 'run-registry', 'done', 30_000);
  });

  it('shows a stuck learner the solution and types it on a second click', async () => {
    await page.locator('[data-check-button]').click();
    await waitForStep(page, 'push-busybox', 'failed', 15_000);
    await page.locator('[data-show-solution="push-busybox"]').click();
    const solution = page.locator('[data-step-id="push-busybox"] [data-step-solution] pre');
    await solution.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await solution.textContent()).toContain('docker push localhost:5000/busybox');
    await page.locator('[data-type-solution="push-busybox"]').click();
    await waitForStep(page, 'push-busybox', 'done', 60_000);
  });

  it('does a step on node2 through its tab', async () => {
    await page.locator('[data-node-tab="node2"]').click();
    await waitForReady(page, 'root@node2', 60_000);
    expect(await page.evaluate(() => window.slipway?.activeNode)).toBe('node2');
    await typeCommand(page, 'docker pull node1:5000/busybox');
    await waitForTerminal(page, /server gave HTTP respons/, 30_000);
    await waitForStep(page, 'pull-refused', 'done', 30_000);
    // node1's terminal kept its own screen.
    expect(await page.evaluate(() => window.slipway?.terminalText('node1') ?? '')).toContain('registry:2');
  });

  it('still shows all three done after a reload, and on the course index', async () => {
    await page.reload();
    await waitForReady(page, 'root@node1', 60_000);
    for (const step of ['run-registry', 'push-busybox', 'pull-refused']) await waitForStep(page, step, 'done', 30_000);
    expect(await page.locator('[data-step-id="trust-registry"]').getAttribute('data-state')).not.toBe('done');
    await page.goto(at('/en/'));
    const progress = page.locator('[data-lesson="private-registry"] [data-lesson-progress]');
    await expect.poll(() => progress.textContent(), { timeout: 10_000 }).toMatch(/^3 of 7 steps$/);
    expect(pageErrors).toEqual([]);
  });
});
