/**
 * The terminal as a workbench in Chromium: copy and paste the ways people try them, a Run
 * click that will not type into a running program, the Ctrl-C button, the screen-reader
 * toggle, and the small-screen layout with its key bar.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { startBrowserTest, stopBrowserTest, terminalText, typeCommand, waitForReady, waitForTerminal } from './support/browser.ts';

const prompt = 'root@node1';
let slipway: Slipway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const at = (path: string) => new URL(path, slipway.url).href;
const status = () => page.locator('[data-terminal-status]').textContent();

beforeAll(async () => {
  ({ slipway, browser, context, page } = await startBrowserTest(pageErrors));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(slipway.url).origin });
  await page.goto(at('/en/hello-world/'));
  await waitForReady(page, prompt, 90_000);
});

afterAll(() => stopBrowserTest({ slipway, browser }));

describe('the workbench', () => {
  it('pastes a multi-line command with a right click as one bracketed paste: nothing runs before Enter', async () => {
    await page.evaluate(() => navigator.clipboard.writeText('echo first-$((40+2))\necho second-$((40+3))'));
    await page.locator('[data-terminal-screen]:not([hidden]) .xterm').click({ button: 'right' });
    await waitForTerminal(page, 'echo second-$((40+3))', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await terminalText(page)).not.toMatch(/^first-42$/m);
    await page.keyboard.press('Enter');
    await waitForTerminal(page, /^first-42$/m, 10_000);
    await waitForTerminal(page, /^second-43$/m, 10_000);
  });

  it('copies the selection with Ctrl+Shift+C', async () => {
    await typeCommand(page, 'clear; echo copy-me-$((6*7))');
    await waitForTerminal(page, /^copy-me-42$/m, 10_000);
    // A triple click selects the row under the pointer: the first, where the output is (the
    // command line went with the screen it cleared).
    const screen = page.locator('[data-terminal-screen]:not([hidden]) .xterm-screen');
    const box = (await screen.boundingBox())!;
    const rows = await page.evaluate(() => document.querySelectorAll('[data-terminal-screen]:not([hidden]) .xterm-rows > div').length);
    const rowHeight = box.height / rows;
    await screen.click({ position: { x: 20, y: rowHeight * 0.5 }, clickCount: 3 });
    // Selecting copies already (as in a Linux terminal); the keys copy again what is selected.
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 }).toMatch(/^copy-me-42\s*$/);
    await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 }).toMatch(/^copy-me-42\s*$/);
  });

  it('will not type a command into a running program, says why, and stops it with the Ctrl-C button', async () => {
    await typeCommand(page, 'sleep 60');
    const block = page.locator('[data-lesson-text] pre[data-language="sh"]').first();
    const command = ((await block.locator('code').textContent()) ?? '').trim();
    await block.locator('button.run-command').click();
    await expect.poll(status, { timeout: 5000 }).toContain('still running');
    expect(await terminalText(page)).not.toContain(`sleep 60${command}`);
    await block.locator('button.interrupt-command').click();
    await waitForTerminal(page, /\^C/, 5000);
    await block.locator('button.run-command').click();
    await waitForTerminal(page, new RegExp(`# ${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 10_000);
  });

  it('lets a keyboard-only learner leave the terminal with Tab once they ask for it, and keeps Tab for the shell otherwise', async () => {
    const terminalHasFocus = () => page.evaluate(() => Boolean(document.activeElement?.closest('[data-terminal-screen]')));
    // By default Tab is the shell's: completion.
    await typeCommand(page, 'clear');
    await page.keyboard.type('ech');
    await page.keyboard.press('Tab');
    await waitForTerminal(page, /# echo $/m, 5000);
    await page.keyboard.press('Control+U');
    expect(await terminalHasFocus()).toBe(true);
    // The toggle, reached and switched with the keyboard alone.
    await page.locator('[data-tab-moves-focus]').focus();
    await page.keyboard.press('Space');
    expect(await page.locator('[data-tab-moves-focus]').isChecked()).toBe(true);
    await page.locator('[data-terminal-screen]:not([hidden]) .xterm').click();
    expect(await terminalHasFocus()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await terminalHasFocus()).toBe(false);
    await page.locator('[data-terminal-screen]:not([hidden]) .xterm').click();
    await page.keyboard.press('Shift+Tab');
    expect(await terminalHasFocus()).toBe(false);
    // Kept for the next page.
    expect(await page.evaluate(() => localStorage.getItem('slipway.tabMovesFocus'))).toBe('1');
    await page.locator('[data-tab-moves-focus]').uncheck();
  });

  it('turns xterm screen-reader mode on from the toggle', async () => {
    expect(await page.locator('.xterm-accessibility').count()).toBe(0);
    await page.locator('[data-screen-reader]').check();
    await expect.poll(() => page.locator('[data-terminal-screen]:not([hidden]) .xterm-accessibility').count()).toBe(1);
    await page.locator('[data-screen-reader]').uncheck();
  });

  it('shows lesson and terminal as tabs on a phone, with the keys a phone keyboard lacks', async () => {
    const phone = await context.newPage();
    phone.on('pageerror', (error) => pageErrors.push(error.message));
    await phone.setViewportSize({ width: 390, height: 800 });
    await phone.goto(at('/en/hello-world/'));
    expect(await phone.locator('[data-lesson-text]').isVisible()).toBe(true);
    expect(await phone.locator('.lesson-terminal').isVisible()).toBe(false);
    await phone.locator('[data-pane-tab="terminal"]').click();
    expect(await phone.locator('[data-lesson-text]').isVisible()).toBe(false);
    expect(await phone.locator('[data-key-bar]').isVisible()).toBe(true);
    await waitForReady(phone, prompt, 60_000);
    await typeCommand(phone, 'echo phone-$((6*7))');
    await waitForTerminal(phone, /^phone-42$/m, 10_000);
    // Up recalls the command; Enter runs it again.
    await phone.locator('[data-key="up"]').click();
    await phone.keyboard.press('Enter');
    await expect.poll(async () => ((await terminalText(phone)).match(/^phone-42$/gm) ?? []).length, { timeout: 10_000 }).toBe(2);
    // Ctrl, then "c": a Ctrl-C.
    await typeCommand(phone, 'sleep 60');
    await phone.locator('[data-key="ctrl"]').click();
    await phone.keyboard.type('c');
    await waitForTerminal(phone, /sleep 60\s*\n\^C/, 5000);
    // A Run click in the lesson tab switches to the terminal.
    await phone.locator('[data-pane-tab="lesson"]').click();
    await phone.locator('[data-lesson-text] pre[data-language="sh"] button.run-command').first().click();
    expect(await phone.locator('.lesson-terminal').isVisible()).toBe(true);
    await phone.close();
  });

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
