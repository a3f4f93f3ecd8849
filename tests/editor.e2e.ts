/**
 * The editor panel in Chromium: a lesson block opened as a file, edited in CodeMirror, saved
 * with Ctrl+S, built in the terminal (the build uses the edited content), the working folder's
 * tree, and a change made in the terminal showing up in the panel.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { startBrowserTest, stopBrowserTest, typeCommand, waitForReady, waitForTerminal } from './support/browser.ts';

const prompt = 'root@node1';
let slipway: Slipway;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const editorText = () => page.locator('[data-editor] .cm-content').innerText();

beforeAll(async () => {
  ({ slipway, browser, page } = await startBrowserTest(pageErrors));
  await page.goto(new URL('/en/first-dockerfile/', slipway.url).href);
  await waitForReady(page, prompt, 90_000);
});

afterAll(() => stopBrowserTest({ slipway, browser }));

describe('the editor panel', () => {
  it('creates the file a lesson block names, in the folder the shell is in', async () => {
    expect(await page.locator('[data-editor]').isHidden()).toBe(true);
    await typeCommand(page, 'mkdir -p ~/first && cd ~/first');
    await waitForTerminal(page, /:~\/first# $/m, 10_000);
    await page.locator('[data-open-as="~/first/Dockerfile"] button.open-as').click();
    await expect.poll(editorText, { timeout: 15_000 }).toContain('CMD ["Hello from my first image!"]');
    expect(await page.locator('[data-editor-path]').inputValue()).toBe('/home/learner/first/Dockerfile');
    // The tree shows the shell's working folder (its prompt reports it), with the new file.
    await expect.poll(() => page.locator('[data-editor-cwd]').textContent(), { timeout: 10_000 }).toBe('node1:/home/learner/first');
    await expect.poll(() => page.locator('[data-editor-tree] button').allTextContents(), { timeout: 10_000 }).toContain('Dockerfile');
    await typeCommand(page, 'cat Dockerfile');
    await waitForTerminal(page, /^ENTRYPOINT \["\/bin\/echo"\]$/m, 10_000);
  });

  it('saves an edit with Ctrl+S, and docker build in the terminal uses it', async () => {
    const line = page.locator('[data-editor] .cm-line', { hasText: 'Hello from my first image!' });
    await line.click();
    await page.keyboard.press('End');
    // Replace the last line: select it to its start, type the new one.
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type('CMD ["Edited in the panel"]');
    expect(await page.locator('[data-editor-status]').textContent()).toContain('Unsaved');
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-editor-status]').textContent(), { timeout: 10_000 }).toContain('Saved node1:/home/learner/first/Dockerfile');
    await typeCommand(page, 'docker build -q -t edited:v1 . >/dev/null && docker run --rm edited:v1');
    await waitForTerminal(page, /^Edited in the panel$/m, 120_000);
  });

  it('shows a change made in the terminal, and does not overwrite it with an older copy', async () => {
    await typeCommand(page, "echo '# added in the terminal' >> Dockerfile");
    await expect.poll(editorText, { timeout: 15_000 }).toContain('# added in the terminal');
    // Edit here, change it there too: saving says so instead of overwriting.
    await page.locator('[data-editor] .cm-line', { hasText: 'FROM busybox' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type(' # mine');
    await typeCommand(page, "echo '# theirs' >> Dockerfile");
    await expect.poll(() => page.locator('[data-editor-conflict]').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.locator('[data-conflict-overwrite]').click();
    await expect.poll(() => page.locator('[data-editor-status]').textContent(), { timeout: 10_000 }).toContain('Saved');
    await typeCommand(page, 'head -1 Dockerfile');
    await waitForTerminal(page, /^FROM busybox # mine$/m, 10_000);
  });

  it('says why a binary file does not open', async () => {
    await page.locator('[data-editor-path]').fill('/bin/ls');
    await page.locator('[data-editor-open] button[type=submit]').click();
    await expect.poll(() => page.locator('[data-editor-status]').textContent(), { timeout: 10_000 }).toContain('is not text');
  });

  it('left no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
