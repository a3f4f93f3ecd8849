/**
 * Wires a lesson page together: a terminal tab per node (each its own connection, opened when
 * first shown), the steps panel with hints and solutions on request, the setup button, and
 * the clickable command blocks in the lesson text.
 */
import type { ErrorCode, PublishedPortEntry, ServerMessage, StepResult } from '../../protocol/terminal.ts';
import { TerminalConnection } from './terminal-connection.ts';
import { wireKeyBar } from './key-bar.ts';
import type { TerminalView } from './terminal-view.ts';
import { deferredTerminalView } from './deferred-view.ts';

// xterm.js is most of the page's script: fetched and compiled while the terminal socket opens.
const terminalViews = import('./terminal-view.ts').then((module) => module.createTerminalView);
import { wireEditorPanel, type EditorStrings } from './editor-panel.ts';

type Phase = 'queued' | 'connecting' | 'starting' | 'waiting-engine' | 'attaching' | 'ready' | 'reconnecting' | 'exited';

interface Strings {
  status: Record<Phase, string>;
  errors: Record<ErrorCode, string>;
  run: string;
  runTitle: string;
  done: string;
  notDone: string;
  showSolution: string;
  typeSolution: string;
  setupRunning: string;
  setupDone: string;
  setupFailed: string;
  copy: string;
  copied: string;
  interrupt: string;
  interruptTitle: string;
  stillRunning: string;
  portTitle: string;
  sharePort: string;
  sharePortTitle: string;
  portShared: string;
  closeNotice: string;
  editor: EditorStrings;
  openAs: string;
}

declare global {
  interface Window {
    /** For tests and debugging: a terminal's text (the shown tab's by default) and its state. */
    slipway?: { terminalText(node?: string): string; ready: boolean; activeNode: string };
  }
}

interface Tab {
  node: string;
  view: TerminalView;
  connection: TerminalConnection;
  screen: HTMLElement;
  button: HTMLButtonElement | undefined;
  status: { text: string; kind: 'info' | 'error' };
  ready: boolean;
  started: boolean;
  /** A command was sent (Enter) and its prompt has not come back yet. */
  busy: boolean;
  /** Called at the next prompt. */
  onPrompt: (() => void)[];
  /** The ports the node publishes, as the server last said. */
  ports: PublishedPortEntry[];
  /** The shell's working folder, as its last prompt said. */
  cwd: string;
}

/** How long a Run click waits for a command that is just finishing before it says so. */
const runWaitMs = 1500;

function setStatus(element: HTMLElement, text: string, kind: 'info' | 'error'): void {
  element.textContent = text;
  element.dataset.kind = kind;
}

export function startLessonPage(): void {
  const root = document.querySelector<HTMLElement>('[data-terminal]');
  const statusLine = root?.querySelector<HTMLElement>('[data-terminal-status]');
  if (!root || !statusLine) return;
  const strings = JSON.parse(root.dataset.strings ?? '{}') as Strings;
  const lesson = root.dataset.lesson ?? '';
  const checkButton = document.querySelector<HTMLButtonElement>('[data-check-button]');
  const tabs = new Map<string, Tab>();
  let active: Tab | undefined;
  window.slipway = {
    terminalText: (node) => (node ? tabs.get(node) : active)?.view.text() ?? '',
    ready: false,
    activeNode: '',
  };

  const anyConnection = () => (active?.connection.connected ? active.connection : [...tabs.values()].find((tab) => tab.connection.connected)?.connection);

  const updateSteps = (results: StepResult[], showHints: boolean) => {
    const panel = document.querySelector<HTMLElement>('[data-steps]');
    if (!panel) return;
    let firstFailed = true;
    for (const result of results) {
      const item = panel.querySelector<HTMLElement>(`[data-step-id="${CSS.escape(result.stepId)}"]`);
      if (!item) continue;
      const hint = item.querySelector<HTMLElement>('[data-step-hint]');
      const output = item.querySelector<HTMLElement>('[data-step-output]');
      const state = item.querySelector<HTMLElement>('[data-step-state]');
      const help = item.querySelector<HTMLElement>('[data-step-help]');
      if (result.done) {
        item.dataset.state = 'done';
        if (hint) hint.hidden = true;
        if (output) output.hidden = true;
        if (help) help.hidden = true;
      } else {
        const show = showHints && firstFailed;
        firstFailed = false;
        if (show || item.dataset.state !== 'failed') item.dataset.state = show ? 'failed' : 'pending';
        const shown = item.dataset.state === 'failed';
        if (hint) hint.hidden = !shown;
        if (output && show) {
          output.textContent = result.output;
          output.hidden = result.output === '';
        }
        if (help) help.hidden = !shown;
      }
      if (state) state.textContent = item.dataset.state === 'done' ? strings.done : strings.notDone;
    }
    const allDone = panel.querySelector<HTMLElement>('[data-all-done]');
    if (allDone) allDone.hidden = !results.every((result) => result.done);
  };

  const showSolution = (stepId: string, node: string, commands: string[]) => {
    const item = document.querySelector<HTMLElement>(`[data-step-id="${CSS.escape(stepId)}"]`);
    const box = item?.querySelector<HTMLElement>('[data-step-solution]');
    if (!box) return;
    box.replaceChildren();
    const pre = document.createElement('pre');
    pre.textContent = commands.join('\n');
    const type = document.createElement('button');
    type.type = 'button';
    type.textContent = strings.typeSolution;
    type.dataset.typeSolution = stepId;
    type.addEventListener('click', () => {
      const tab = show(node);
      for (const command of commands) send(tab, `${command}\r`);
      tab.view.focus();
    });
    box.append(pre, type);
    box.hidden = false;
  };

  const setupBox = document.querySelector<HTMLElement>('[data-setup]');
  const setupButton = setupBox?.querySelector<HTMLButtonElement>('[data-setup-button]');
  const setupOutput = setupBox?.querySelector<HTMLElement>('[data-setup-output]');
  const setupState = setupBox?.querySelector<HTMLElement>('[data-setup-state]');

  const portsBox = root.querySelector<HTMLElement>('[data-ports]');
  const portsList = portsBox?.querySelector<HTMLElement>('[data-ports-list]');
  const shareBox = portsBox?.querySelector<HTMLElement>('[data-port-share]');
  /** The shown tab's published ports: each opens in a new tab through Slipway, or gives a share link. */
  const renderPorts = () => {
    if (!portsBox || !portsList || !active) return;
    const tab = active;
    portsList.replaceChildren(
      ...tab.ports.map((entry) => {
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = entry.url;
        link.target = '_blank';
        link.rel = 'noopener';
        link.title = strings.portTitle;
        link.dataset.portLink = String(entry.port);
        link.textContent = `${entry.port} → ${entry.container}:${entry.target}`;
        const share = document.createElement('button');
        share.type = 'button';
        share.textContent = strings.sharePort;
        share.title = strings.sharePortTitle;
        share.dataset.sharePort = String(entry.port);
        share.addEventListener('click', () => tab.connection.send({ type: 'share-port', port: entry.port }));
        item.append(link, share);
        return item;
      }),
    );
    portsBox.hidden = tab.ports.length === 0;
    if (shareBox && shareBox.dataset.node !== tab.node) shareBox.hidden = true;
  };
  // The teacher's message to the workshop: a banner above the page, once per message (every
  // node's socket brings it), announced to screen readers, closed by the learner.
  let noticeShown = 0;
  const showNotice = (text: string, at: number) => {
    if (at <= noticeShown) return;
    noticeShown = at;
    let banner = document.querySelector<HTMLElement>('[data-notice]');
    if (!banner) {
      banner = document.createElement('div');
      banner.dataset.notice = '';
      banner.className = 'notice';
      banner.setAttribute('role', 'status');
      const words = document.createElement('p');
      const close = document.createElement('button');
      close.type = 'button';
      close.textContent = '×';
      close.setAttribute('aria-label', strings.closeNotice);
      close.addEventListener('click', () => banner?.remove());
      banner.append(words, close);
      document.body.prepend(banner);
    }
    banner.querySelector('p')!.textContent = text;
  };

  const showShare = (node: string, port: number, url: string) => {
    if (!shareBox) return;
    shareBox.dataset.node = node;
    const text = shareBox.querySelector<HTMLElement>('[data-port-share-text]');
    const input = shareBox.querySelector<HTMLInputElement>('[data-port-share-url]');
    if (text) text.textContent = strings.portShared.replace('{port}', String(port));
    if (input) input.value = url;
    shareBox.hidden = false;
    input?.select();
    void navigator.clipboard?.writeText(url).catch(() => undefined);
  };

  const onMessage = (tab: Tab, message: ServerMessage) => {
    switch (message.type) {
      case 'status': {
        const text = (strings.status[message.phase] ?? message.message).replace('{position}', String(message.position ?? ''));
        tab.status = { text, kind: 'info' };
        tab.ready = message.phase === 'ready';
        if (tab.ready) tab.view.focus();
        else tab.view.notice(text);
        break;
      }
      case 'error': {
        const text = strings.errors[message.code] ?? message.message;
        tab.status = { text, kind: 'error' };
        tab.view.notice(`\x1b[31m${text}`);
        if (checkButton) checkButton.disabled = false;
        break;
      }
      case 'checks':
        updateSteps(message.results, message.trigger === 'button');
        if (checkButton && message.trigger === 'button') {
          checkButton.disabled = false;
          checkButton.textContent = checkButton.dataset.label ?? '';
        }
        break;
      case 'notice':
        showNotice(message.text, message.at);
        break;
      case 'solution':
        showSolution(message.stepId, message.node, message.commands);
        break;
      case 'setup':
        if (setupState) setupState.textContent = { running: strings.setupRunning, done: strings.setupDone, failed: strings.setupFailed }[message.state];
        if (setupButton) setupButton.disabled = message.state === 'running';
        if (setupOutput) {
          setupOutput.textContent = message.output;
          setupOutput.hidden = message.state !== 'failed' || message.output === '';
        }
        if (setupBox) setupBox.dataset.state = message.state;
        break;
      case 'exit':
        tab.status = { text: strings.status.exited, kind: 'info' };
        tab.ready = false;
        tab.view.notice(strings.status.exited);
        break;
      case 'shell':
        // What runs in a shell taken back is not known; its next prompt will tell.
        tab.busy = false;
        // A screen that starts afresh: clear it (RIS), then draw the screen the server kept, in
        // the output's own order (the binary frames that follow come after it).
        if (message.reset) tab.view.write(`\x1bc${message.screen ?? ''}`);
        break;
      case 'ports':
        tab.ports = message.ports;
        if (tab === active) renderPorts();
        break;
      case 'port-share':
        if (tab === active) showShare(message.node, message.port, message.url);
        break;
      case 'pong':
        break;
    }
    if (tab === active) refreshStatus();
  };

  const refreshStatus = () => {
    if (!active) return;
    setStatus(statusLine, active.status.text, active.status.kind);
    window.slipway!.ready = active.ready;
    window.slipway!.activeNode = active.node;
  };

  const createTab = (screen: HTMLElement): Tab => {
    const node = screen.dataset.node ?? 'node1';
    const view = deferredTerminalView(screen, terminalViews);
    const tab: Tab = {
      node,
      view,
      screen,
      button: root.querySelector<HTMLButtonElement>(`[data-node-tab="${CSS.escape(node)}"]`) ?? undefined,
      status: { text: strings.status.connecting, kind: 'info' },
      ready: false,
      started: false,
      busy: false,
      onPrompt: [],
      ports: [],
      cwd: '/home/learner',
      connection: undefined as unknown as TerminalConnection,
    };
    view.onCwd((path) => (tab.cwd = path));
    view.onPrompt(() => {
      if (performance.getEntriesByName('slipway:prompt', 'mark').length === 0) performance.mark('slipway:prompt');
      tab.busy = false;
      for (const listener of tab.onPrompt.splice(0)) listener();
    });
    tab.connection = new TerminalConnection(lesson, node, () => ({ cols: view.cols, rows: view.rows }), {
      output: (data, parsed) => view.write(data, parsed),
      message: (message) => onMessage(tab, message),
      closed: (willRetry) => {
        tab.ready = false;
        if (checkButton) {
          checkButton.disabled = false;
          checkButton.textContent = checkButton.dataset.label ?? '';
        }
        if (willRetry) {
          tab.status = { text: strings.status.reconnecting, kind: 'info' };
          view.notice(strings.status.reconnecting);
        }
        if (tab === active) refreshStatus();
      },
    });
    view.onInput((typed) => {
      const data = keyBar.transform(typed);
      if (tab.connection.shellExited) {
        if (data === '\r') tab.connection.connect();
        return;
      }
      send(tab, data);
    });
    view.onResize((cols, rows) => tab.connection.send({ type: 'resize', cols, rows }));
    return tab;
  };

  /** Sends input to a tab's shell; an Enter starts a command, which ends at the next prompt. */
  const send = (tab: Tab, data: string) => {
    if (data.includes('\r')) tab.busy = true;
    tab.connection.input(data);
  };

  /**
   * Types a command into a tab's shell, unless a command is still running there (it would go
   * to that program, not to the shell): then waits a moment for the prompt, and if none comes,
   * says so and types nothing.
   */
  const runIn = async (tab: Tab, command: string) => {
    if (tab.busy) {
      const prompted = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), runWaitMs);
        tab.onPrompt.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!prompted) {
        tab.status = { text: strings.stillRunning.replace('{node}', tab.node), kind: 'error' };
        if (tab === active) refreshStatus();
        return;
      }
    }
    send(tab, `${command}\r`);
    tab.view.focus();
  };

  /** Shows a node's tab, connecting it the first time. */
  const show = (node: string): Tab => {
    const tab = tabs.get(node) ?? [...tabs.values()][0]!;
    active = tab;
    for (const other of tabs.values()) {
      other.screen.hidden = other !== tab;
      other.button?.setAttribute('aria-selected', String(other === tab));
      if (other.button) other.button.tabIndex = other === tab ? 0 : -1;
    }
    tab.view.fit();
    if (!tab.started) {
      tab.started = true;
      tab.view.notice(strings.status.connecting);
      tab.connection.connect();
    }
    refreshStatus();
    renderPorts();
    tab.view.focus();
    return tab;
  };

  const keyBar = wireKeyBar(
    root.querySelector<HTMLElement>('[data-key-bar]'),
    (data) => active && !active.connection.shellExited && send(active, data),
    () => active?.view.focus(),
  );
  root.querySelector<HTMLInputElement>('[data-screen-reader]')?.addEventListener('change', (event) => {
    const on = (event.target as HTMLInputElement).checked;
    for (const tab of tabs.values()) tab.view.setScreenReader(on);
  });
  // Kept across pages: a keyboard-only learner sets it once.
  const tabToggle = root.querySelector<HTMLInputElement>('[data-tab-moves-focus]');
  const applyTabMode = (on: boolean) => {
    for (const tab of tabs.values()) tab.view.setTabMovesFocus(on);
    try {
      localStorage.setItem('slipway.tabMovesFocus', on ? '1' : '0');
    } catch {
      // Storage off: the choice lasts for this page.
    }
  };
  tabToggle?.addEventListener('change', () => applyTabMode(tabToggle.checked));

  for (const screen of root.querySelectorAll<HTMLElement>('[data-terminal-screen]')) {
    const tab = createTab(screen);
    tabs.set(tab.node, tab);
    tab.button?.addEventListener('click', () => show(tab.node));
  }
  if (tabToggle) {
    let saved = false;
    try {
      saved = localStorage.getItem('slipway.tabMovesFocus') === '1';
    } catch {
      // Storage off.
    }
    tabToggle.checked = saved;
    applyTabMode(saved);
  }
  if (tabs.size === 0) return;

  checkButton?.addEventListener('click', () => {
    // Not connected (yet, or any more): the checks run by themselves once the shell is back.
    if (!anyConnection()?.send({ type: 'check' })) return;
    checkButton.disabled = true;
    checkButton.textContent = checkButton.dataset.busyLabel ?? '';
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-show-solution]')) {
    button.addEventListener('click', () => anyConnection()?.send({ type: 'solution', stepId: button.dataset.showSolution ?? '' }));
  }
  setupButton?.addEventListener('click', () => anyConnection()?.send({ type: 'setup' }));

  for (const block of document.querySelectorAll<HTMLElement>('[data-lesson-text] pre[data-language="sh"]')) {
    const command = (block.textContent ?? '').trim();
    if (!command) continue;
    // A block can name its node in the text before it ("on node2") through a data attribute
    // set by the lesson's markup; otherwise it runs in the tab that is shown.
    const node = block.closest<HTMLElement>('[data-node]')?.dataset.node;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'run-command';
    button.textContent = node && tabs.size > 1 ? `▶ ${strings.run} · ${node}` : `▶ ${strings.run}`;
    button.title = strings.runTitle;
    button.addEventListener('click', () => {
      showPane('terminal');
      const tab = node && tabs.has(node) ? show(node) : active!;
      void runIn(tab, command);
    });
    const interrupt = document.createElement('button');
    interrupt.type = 'button';
    interrupt.className = 'interrupt-command';
    interrupt.textContent = strings.interrupt;
    interrupt.title = strings.interruptTitle;
    interrupt.addEventListener('click', () => {
      const tab = node && tabs.has(node) ? show(node) : active!;
      tab.connection.input('\x03');
      tab.view.focus();
    });
    const actions = document.createElement('div');
    actions.className = 'command-actions';
    actions.append(interrupt, button);
    block.append(actions);
  }
  // The editor panel, and lesson blocks that say "open this as <path>".
  const editor = wireEditorPanel(root.closest<HTMLElement>('.lesson-terminal') ?? root, {
    node: () => active?.node ?? 'node1',
    cwd: () => active?.cwd ?? '/home/learner',
    strings: strings.editor,
    onToggle: () => {
      for (const tab of tabs.values()) tab.view.fit();
    },
  });
  for (const block of document.querySelectorAll<HTMLElement>('[data-lesson-text] [data-open-as]')) {
    const pre = block.querySelector<HTMLElement>('pre');
    const path = block.dataset.openAs ?? '';
    if (!pre || !path || !editor) continue;
    // The block's text (taken before any button is added to it), ending in a newline as a text file does.
    const content = `${(pre.querySelector('code')?.textContent ?? pre.textContent ?? '').replace(/\n*$/, '')}\n`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'run-command open-as';
    button.textContent = `✎ ${strings.openAs.replace('{path}', path)}`;
    button.addEventListener('click', () => {
      showPane('terminal');
      const node = block.closest<HTMLElement>('[data-node]')?.dataset.node;
      if (node && tabs.has(node)) show(node);
      void editor.openAs(path, content);
    });
    const actions = document.createElement('div');
    actions.className = 'command-actions';
    actions.append(button);
    pre.append(actions);
  }
  for (const paneTab of document.querySelectorAll<HTMLButtonElement>('[data-pane-tab]')) {
    paneTab.addEventListener('click', () => showPane(paneTab.dataset.paneTab === 'terminal' ? 'terminal' : 'lesson'));
  }
  addCopyButtons(strings);
  show([...tabs.keys()][0]!);
}

/**
 * On a small screen the lesson and the terminal are two tabs (the page's CSS shows the pane
 * named by data-pane); on a wide one both show and this changes nothing visible.
 */
function showPane(pane: 'lesson' | 'terminal'): void {
  const layout = document.querySelector<HTMLElement>('[data-lesson-layout]');
  if (!layout || layout.dataset.pane === pane) return;
  layout.dataset.pane = pane;
  for (const tab of document.querySelectorAll<HTMLElement>('[data-pane-tab]')) tab.setAttribute('aria-selected', String(tab.dataset.paneTab === pane));
}

/** A Copy button on every code block of the lesson text (commands, files, sample output). */
function addCopyButtons(strings: Strings): void {
  for (const block of document.querySelectorAll<HTMLElement>('[data-lesson-text] pre')) {
    const code = block.querySelector('code') ?? block;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.textContent = strings.copy;
    button.addEventListener('click', async () => {
      const text = (code.textContent ?? '').replace(/\n$/, '');
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // No clipboard API (plain http on a LAN address): select the text for Ctrl+C instead.
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
      }
      button.textContent = strings.copied;
      setTimeout(() => (button.textContent = strings.copy), 1500);
    });
    block.append(button);
  }
}
