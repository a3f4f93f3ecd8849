/**
 * For the browser tests: a context kept to loopback, and waits on the lesson page's terminal
 * that, when they time out, say what the terminal showed.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Slipway } from '../../server/main.ts';
import { launchChromium } from './chromium.ts';
import { startTestSlipway } from './slipway.ts';

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A context whose pages may only talk to loopback: every other HTTP(S) request and WebSocket
 * is refused and recorded in the returned list (data: and blob: URLs are not network traffic).
 */
export async function loopbackContext(browser: Browser): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !loopbackHosts.has(url.hostname)) {
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  // WebSockets to anywhere else are never connected; loopback ones are not intercepted.
  await context.routeWebSocket(
    (url) => !loopbackHosts.has(url.hostname),
    (socket) => {
      blocked.push(socket.url());
      void socket.close({ code: 1008, reason: 'loopback only' });
    },
  );
  return { context, blocked };
}

/** The terminal's text as the page sees it, or a note on why it cannot be read. */
export async function terminalText(page: Page): Promise<string> {
  return page
    .evaluate(() => window.slipway?.terminalText() ?? '(window.slipway is not set)')
    .catch((error: unknown) => `(the page could not be read: ${(error as Error).message.split('\n')[0]})`);
}

async function describePage(page: Page): Promise<string> {
  const status = await page
    .locator('[data-terminal-status]')
    .textContent({ timeout: 1000 })
    .catch(() => null);
  const text = await terminalText(page);
  return `Status line: ${JSON.stringify(status ?? '')}. Terminal text (last 1500 characters):\n${text.slice(-1500)}`;
}

/** Runs a wait; if it fails, rethrows with the status line and the end of the terminal text. */
export async function explainFailure<T>(page: Page, what: string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    const detail = await describePage(page);
    throw new Error(`Waiting for ${what} failed: ${(error as Error).message.split('\n')[0]}\n${detail}`, { cause: error });
  }
}

/** Waits until the terminal text contains `expected` (a string, or a pattern to match). */
export async function waitForTerminal(page: Page, expected: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const arg = typeof expected === 'string' ? { text: expected, source: '', flags: '' } : { text: '', source: expected.source, flags: expected.flags };
  await explainFailure(page, `the terminal to show ${String(expected)}`, () =>
    page.waitForFunction(
      ({ text, source, flags }) => {
        const shown = window.slipway?.terminalText() ?? '';
        return source ? new RegExp(source, flags).test(shown) : shown.includes(text);
      },
      arg,
      { timeout: timeoutMs, polling: 50 },
    ),
  );
}

/** Waits until the shell is attached and its prompt is on the screen. */
export async function waitForReady(page: Page, prompt: string, timeoutMs = 30_000): Promise<void> {
  await explainFailure(page, `a ready terminal showing '${prompt}'`, () =>
    page.waitForFunction((expected) => window.slipway?.ready === true && window.slipway.terminalText().includes(expected), prompt, {
      timeout: timeoutMs,
      polling: 20,
    }),
  );
}

/** Waits until the lesson step `stepId` has `data-state` equal to `state`. */
export async function waitForStep(page: Page, stepId: string, state: 'pending' | 'done' | 'failed', timeoutMs = 15_000): Promise<void> {
  await explainFailure(page, `step ${stepId} to be ${state}`, () =>
    page.locator(`[data-step-id="${stepId}"][data-state="${state}"]`).waitFor({ state: 'attached', timeout: timeoutMs }),
  );
}

/** Types a command into the terminal as a learner does: focus the shown terminal, type, Enter. */
export async function typeCommand(page: Page, command: string): Promise<void> {
  await page.locator('[data-terminal-screen]:not([hidden]) .xterm').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

/**
 * page.goto, again when Chromium gives up with ERR_NETWORK_CHANGED: the engine adding or
 * removing a network (a sandbox starting, here or in another test run on the same engine)
 * changes the host's addresses, and Chromium then abandons requests in flight.
 */
export async function gotoRetrying(page: Page, url: string): Promise<Awaited<ReturnType<Page['goto']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (error) {
      if (attempt >= 4 || !/ERR_NETWORK_CHANGED/.test((error as Error).message)) throw error;
    }
  }
}

/** What a browser test file works with: a real Slipway on loopback and Chromium kept to it. */
export interface BrowserSetup {
  slipway: Slipway;
  browser: Browser;
  context: BrowserContext;
  /** Requests the page tried to make to anywhere but loopback. */
  blocked: string[];
  page: Page;
}

/**
 * Starts Slipway (on loopback only) and Chromium with a loopback-only context and one page
 * whose uncaught errors go to `pageErrors`. `stopBrowserTest` ends both.
 */
export async function startBrowserTest(pageErrors: string[]): Promise<BrowserSetup> {
  const slipway = await startTestSlipway();
  const host = new URL(slipway.url).hostname;
  if (!loopbackHosts.has(host)) throw new Error(`Slipway listens on ${host}, not loopback.`);
  const browser = await launchChromium();
  const { context, blocked } = await loopbackContext(browser);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  return { slipway, browser, context, blocked, page };
}

export async function stopBrowserTest(setup: Partial<BrowserSetup> | undefined): Promise<void> {
  await setup?.browser?.close();
  await setup?.slipway?.stop();
}
