/**
 * The acceptance case of published ports, in Chromium: the web-app lesson's Flask app, run
 * with `docker run -d -P` in the learner's terminal, shows in the page's Ports list; its link
 * opens the app in a new tab through Slipway's ports origin and the app's answer is read there.
 * A second learner (another browser context, so another cookie) is refused on the same URLs,
 * and opens them with the share link the first one gives.
 * The browser talks only to the local server.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { asLearner } from './support/engine.ts';
import { gotoRetrying, loopbackContext, startBrowserTest, stopBrowserTest, typeCommand, waitForReady } from './support/browser.ts';

let slipway: Slipway;
let browser: Browser;
let context: BrowserContext;
let blocked: string[];
let page: Page;
/** The page's link for the app's port, and the proxied URL it led to. */
let portLink = '';
let appUrl = '';
const pageErrors: string[] = [];

/** The course's Flask app (lessons/web-app), on the slim base: the quickest of its builds. */
const buildFlask = [
  'mkdir -p /tmp/flask && cd /tmp/flask',
  `printf '%s\\n' 'from flask import Flask' 'app = Flask(__name__)' "@app.route('/hi')" 'def hello_world():' "    return 'Hello World!'" "if __name__ == '__main__':" "    app.run(host='0.0.0.0', port=5000)" > hello.py`,
  `printf '%s\\n' 'FROM python:3.11-slim' 'RUN pip install --no-cache-dir flask' 'COPY hello.py /app/hello.py' 'EXPOSE 5000' 'CMD ["python", "/app/hello.py"]' > Dockerfile`,
  'docker build -q -t flask:v3 . >/dev/null',
].join(' && ');

/** With SLIPWAY_E2E_SCREENSHOTS=<dir>, saves what the page looks like (for looking, not asserting). */
async function snap(name: string): Promise<void> {
  const dir = process.env.SLIPWAY_E2E_SCREENSHOTS;
  if (dir) await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

beforeAll(async () => {
  ({ slipway, browser, context, blocked, page } = await startBrowserTest(pageErrors));
});

afterAll(() => stopBrowserTest({ slipway, browser }));

/** Reloads until the page's body has `text` (a program that has just started may need a moment). */
async function readUntil(tab: Page, text: string): Promise<string> {
  let body = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    body = (await tab.locator('body').textContent().catch(() => '')) ?? '';
    if (body.includes(text)) return body;
    await tab.waitForTimeout(250);
    await gotoRetrying(tab, tab.url());
  }
  return body;
}

describe('a published port in the browser', () => {
  it('lists the Flask app\'s port on the page after docker run -d -P', async () => {
    await gotoRetrying(page, new URL('/en/web-app/', slipway.url).href);
    await waitForReady(page, 'root@node1', 90_000);
    const session = (await slipway.runtime.driver.list())[0]?.sessionId ?? '';
    const built = await slipway.runtime.driver.run(session, 'node1', buildFlask, 180_000, asLearner);
    expect(built.exitCode, built.output).toBe(0);
    expect(await page.locator('[data-ports]').isHidden()).toBe(true);
    await typeCommand(page, 'docker run -d -P --name hello flask:v3');
    const link = page.locator('[data-port-link]');
    await link.first().waitFor({ state: 'visible', timeout: 15_000 });
    expect(await link.count()).toBe(1);
    expect(await link.textContent()).toMatch(/^\d+ → hello:5000$/);
    portLink = new URL((await link.getAttribute('href')) ?? '', slipway.url).href;
    expect(portLink).toMatch(new RegExp(`^${slipway.url}ports/${session}/node1/\\d+/$`));
    expect(await link.getAttribute('target')).toBe('_blank');
    await snap('ports-listed');
  });

  it('opens it in a new tab through Slipway and reads the app\'s answer', async () => {
    const [tab] = await Promise.all([context.waitForEvent('page'), page.locator('[data-port-link]').click()]);
    await tab.waitForLoadState();
    appUrl = tab.url();
    const ports = new URL(slipway.portsUrl);
    expect(new URL(appUrl).origin).toBe(ports.origin);
    expect(appUrl).toMatch(/\/p\/[0-9a-f]{12}\/node1\/\d+\/$/);
    // Flask has no route for /: its own Not Found page is its answer.
    expect(await readUntil(tab, 'Not Found')).toContain('The requested URL was not found on the server');
    await gotoRetrying(tab, `${appUrl}hi`);
    expect((await readUntil(tab, 'Hello World!')).trim()).toBe('Hello World!');
    await tab.close();
  });

  it('refuses a second learner on the same URLs', async () => {
    const second = await loopbackContext(browser);
    try {
      const stranger = await second.context.newPage();
      const proxied = await gotoRetrying(stranger, `${appUrl}hi`);
      expect(proxied?.status()).toBe(403);
      expect(await stranger.locator('body').textContent()).toContain('not yours');
      expect(await stranger.locator('body').textContent()).not.toContain('Hello World!');
      const link = await gotoRetrying(stranger, portLink);
      expect(link?.status()).toBe(403);
      expect(stranger.url()).toBe(portLink);
    } finally {
      await second.context.close();
    }
  });

  it('gives a share link that the second learner (a teacher) can open', async () => {
    await page.locator('[data-share-port]').click();
    const input = page.locator('[data-port-share-url]');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    const shared = await input.inputValue();
    expect(shared.startsWith(`${appUrl}?slipway-share=`)).toBe(true);
    await snap('ports-shared');
    const teacher = await loopbackContext(browser);
    try {
      const tab = await teacher.context.newPage();
      await gotoRetrying(tab, shared);
      expect(tab.url()).toBe(appUrl);
      await gotoRetrying(tab, `${appUrl}hi`);
      expect((await readUntil(tab, 'Hello World!')).trim()).toBe('Hello World!');
    } finally {
      await teacher.context.close();
    }
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
