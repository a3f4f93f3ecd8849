/**
 * A workshop in Chromium, with two browsers side by side as in a classroom: the teacher signs
 * in and creates a workshop, a learner joins with its code, the teacher's dashboard shows the
 * learner's step turn done live, the teacher watches the learner's terminal read-only, and a
 * message from the dashboard appears on the learner's page.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { loopbackContext, startBrowserTest, stopBrowserTest, terminalText, typeCommand, waitForReady, waitForStep, waitForTerminal } from './support/browser.ts';
import { testTeacherKey } from './support/secret.ts';

const prompt = 'root@node1';
let slipway: Slipway;
let browser: Browser;
let teacher: Page;
let learnerContext: BrowserContext;
let learner: Page;
const pageErrors: string[] = [];
const at = (path: string) => new URL(path, slipway.url).href;
let code = '';

beforeAll(async () => {
  ({ slipway, browser, page: teacher } = await startBrowserTest(pageErrors));
  ({ context: learnerContext } = await loopbackContext(browser));
  learner = await learnerContext.newPage();
  learner.on('pageerror', (error) => pageErrors.push(`learner: ${error.message}`));
});

afterAll(() => stopBrowserTest({ slipway, browser }));

describe('a workshop', () => {
  it('is created by a teacher who signed in with the key, and shows a join code', async () => {
    await teacher.goto(at('/en/teach/'));
    await teacher.getByTestId('teacher-key').fill('not-the-key');
    await teacher.getByTestId('teacher-signin').click();
    await expect.poll(() => teacher.locator('[data-signin-error]').textContent()).toContain('not the teacher key');
    await teacher.getByTestId('teacher-key').fill(testTeacherKey);
    await teacher.getByTestId('teacher-signin').click();
    await teacher.getByTestId('workshop-title').fill('Docker on Monday');
    await teacher.getByTestId('workshop-seats').fill('5');
    await teacher.getByTestId('workshop-create').click();
    await teacher.waitForURL(/\/en\/teach\/workshop\/\?id=[0-9a-f]{16}$/);
    await expect.poll(() => teacher.getByTestId('join-code').textContent(), { timeout: 10_000 }).toMatch(/^[A-Z2-9]{6}$/);
    code = (await teacher.getByTestId('join-code').textContent())!;
    expect(await teacher.locator('[data-title]').textContent()).toBe('Docker on Monday');
    // The QR code is an image the server drew.
    await expect.poll(() => teacher.locator('[data-qr]').evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(0);
  });

  it('is joined by a learner with the code and a name, who lands in the first lesson with a terminal', async () => {
    await learner.goto(at(`/join/${code.toLowerCase()}`));
    expect(await learner.getByTestId('join-code').inputValue()).toBe(code);
    await learner.getByTestId('join-name').fill('Ann Lee');
    await learner.getByTestId('join-submit').click();
    await learner.waitForURL(/\/en\/what-is-docker\/$/);
    await waitForReady(learner, prompt, 90_000);
    await expect.poll(() => teacher.locator('tr[data-learner="Ann Lee"] [data-sandbox]').textContent(), { timeout: 15_000 }).toBe('ready');
  });

  it("fills in the learner's step on the teacher's dashboard as the check passes, without a reload", async () => {
    await learner.goto(at('/en/hello-world/'));
    await waitForReady(learner, prompt, 60_000);
    const step = teacher.locator('tr[data-learner="Ann Lee"] [data-step="hello-world/run-hello-world"]');
    expect(await step.getAttribute('data-done')).toBe('false');
    await typeCommand(learner, 'docker run hello-world');
    await waitForStep(learner, 'run-hello-world', 'done', 60_000);
    await expect.poll(() => step.getAttribute('data-done'), { timeout: 10_000 }).toBe('true');
  });

  it("shows the teacher the learner's terminal as the learner sees it, and refuses the teacher's keystrokes", async () => {
    const row = teacher.locator('tr[data-learner="Ann Lee"]');
    const [watch] = await Promise.all([teacher.context().waitForEvent('page'), row.getByRole('link', { name: 'Watch' }).click()]);
    watch.on('pageerror', (error) => pageErrors.push(`watch: ${error.message}`));
    await watch.waitForFunction(() => (window.slipwayWatch?.screens ?? 0) > 0, undefined, { timeout: 15_000 });
    // The screen as it was: what the learner ran before the teacher looked.
    expect(await watch.evaluate(() => window.slipwayWatch!.text())).toContain('Hello from Slipway');
    await typeCommand(learner, 'echo typed-by-$((2*21))-learner');
    await watch.waitForFunction(() => /^typed-by-42-learner$/m.test(window.slipwayWatch!.text()), undefined, { timeout: 10_000 });
    // The teacher types into the view: nothing reaches the learner's shell.
    await watch.locator('.xterm').click();
    await watch.keyboard.type('echo from-the-teacher');
    await watch.keyboard.press('Enter');
    await typeCommand(learner, 'echo still-$((6*7))');
    await waitForTerminal(learner, /^still-42$/m, 10_000);
    expect(await terminalText(learner)).not.toContain('from-the-teacher');
    await watch.close();
  });

  it("puts the teacher's message on the learner's page", async () => {
    await teacher.getByTestId('message-text').fill('Break until 11:00: coffee is in room 2');
    await teacher.getByTestId('message-send').click();
    await expect.poll(() => teacher.locator('[data-message-status]').textContent(), { timeout: 10_000 }).toContain('open pages that got it: 1');
    await expect.poll(() => learner.locator('[data-notice] p').textContent(), { timeout: 10_000 }).toBe('Break until 11:00: coffee is in room 2');
    expect(await learner.locator('[data-notice]').getAttribute('role')).toBe('status');
  });

  it('left no uncaught errors in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
