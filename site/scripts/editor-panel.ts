/**
 * The editor panel above the terminal: the shown node's working folder as a tree, a file opened
 * by path or from the tree, saved back into the sandbox through the file API (never typed into
 * the shell), and a file changed underneath (by a command in the terminal) noticed: reloaded when
 * nothing was edited here, otherwise the learner chooses.
 */
import type { DirectoryEntry, FileContent } from '../../server/sandbox/driver.ts';
import { api, ApiError, fill } from './api.ts';
import { normalizePath } from '../../protocol/paths.ts';
import type { CodeEditor } from './code-editor.ts';

export interface EditorStrings {
  files: string;
  open: string;
  save: string;
  saved: string;
  newFile: string;
  reloaded: string;
  changedUnder: string;
  reload: string;
  overwrite: string;
  unsaved: string;
  loading: string;
  confirmReplace: string;
  created: string;
}

export interface EditorPanel {
  /** Opens the panel and a file by path (absolute, ~/…, or relative to the node's working folder). */
  open(path: string): Promise<void>;
  /** Writes `content` as a new file at `path` (asking first if a different file is there), then shows it. */
  openAs(path: string, content: string): Promise<void>;
  readonly visible: boolean;
}

const home = '/home/learner';
/** How often an open file is compared with the sandbox's copy. */
const pollMs = 3000;

/** `path` made absolute: `~` is the learner's home, a relative path starts at `cwd`. */
export function resolvePath(path: string, cwd: string): string {
  const trimmed = path.trim();
  return normalizePath(trimmed.startsWith('~') ? home + trimmed.slice(1) : trimmed.startsWith('/') ? trimmed : `${cwd}/${trimmed}`);
}

export function wireEditorPanel(root: HTMLElement, context: { node(): string; cwd(): string; strings: EditorStrings; onToggle(open: boolean): void }): EditorPanel | undefined {
  const panel = root.querySelector<HTMLElement>('[data-editor]');
  const toggle = root.querySelector<HTMLButtonElement>('[data-editor-toggle]');
  if (!panel || !toggle) return undefined;
  const { strings } = context;
  const $ = <T extends HTMLElement>(selector: string) => panel.querySelector<T>(selector)!;
  const pathInput = $<HTMLInputElement>('[data-editor-path]');
  const saveButton = $<HTMLButtonElement>('[data-editor-save]');
  const status = $('[data-editor-status]');
  const tree = $('[data-editor-tree]');
  const conflict = $('[data-editor-conflict]');
  let editor: CodeEditor | undefined;
  let current: { node: string; path: string; version: string } | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;

  const say = (text: string, kind: 'info' | 'error' = 'info') => {
    status.textContent = text;
    status.dataset.kind = kind;
  };
  const sentence = (failure: unknown) => (failure instanceof Error ? failure.message : String(failure));

  const loadEditor = async (): Promise<CodeEditor> => {
    if (editor) return editor;
    // CodeMirror comes with the first opening, not with the page.
    const { createCodeEditor } = await import('./code-editor.ts');
    editor = createCodeEditor($('[data-editor-code]'), {
      label: strings.files,
      onSave: () => void save('checked'),
      onChange: () => {
        saveButton.disabled = current === undefined;
        if (current) say(strings.unsaved);
      },
    });
    return editor;
  };

  const show = (open: boolean) => {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    context.onToggle(open);
    clearInterval(poll);
    poll = open ? setInterval(() => void checkUnderneath(), pollMs) : undefined;
    if (open) void listFolder(context.cwd());
  };

  const listFolder = async (folder: string) => {
    const node = context.node();
    try {
      const listing = await api<{ path: string; entries: DirectoryEntry[]; truncated: boolean }>(`/api/files/list?${new URLSearchParams({ node, path: folder })}`);
      $('[data-editor-cwd]').textContent = `${node}:${listing.path}`;
      const up = listing.path === '/' ? [] : [{ name: '..', kind: 'directory' as const, size: 0 }];
      tree.replaceChildren(
        ...[...up, ...listing.entries].map((entry) => {
          const item = document.createElement('li');
          item.setAttribute('role', 'treeitem');
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = entry.kind === 'directory' ? `${entry.name}/` : entry.name;
          button.dataset.kind = entry.kind;
          const target = resolvePath(entry.name, listing.path);
          button.addEventListener('click', () => void (entry.kind === 'directory' ? listFolder(target) : open(target)));
          item.append(button);
          return item;
        }),
      );
    } catch (failure) {
      say(sentence(failure), 'error');
    }
  };

  const open = async (path: string) => {
    if (panel.hidden) show(true);
    const node = context.node();
    const target = resolvePath(path, context.cwd());
    pathInput.value = target;
    if (editor?.dirty && current && !confirm(strings.unsaved)) return;
    say(strings.loading);
    const code = await loadEditor();
    try {
      const file = await api<FileContent>(`/api/files/read?${new URLSearchParams({ node, path: target })}`);
      code.load(file.path, file.content);
      current = { node, path: file.path, version: file.version };
      say(`${node}:${file.path}`);
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.code === 'NOT_FOUND' && failure.message.startsWith(target))) {
        say(sentence(failure), 'error');
        return;
      }
      // Not there yet: a new file, written on the first save.
      code.load(target, '');
      current = { node, path: target, version: 'new' };
      say(`${node}:${target} (${strings.newFile})`);
    }
    conflict.hidden = true;
    saveButton.disabled = false;
    code.focus();
  };

  const save = async (mode: 'checked' | 'overwrite') => {
    if (!current || !editor) return;
    const file = current;
    try {
      const saved = await api<{ version: string }>('/api/files/write', { node: file.node, path: file.path, content: editor.text(), expected: mode === 'overwrite' ? 'any' : file.version });
      current = { ...file, version: saved.version };
      editor.load(file.path, editor.text());
      conflict.hidden = true;
      say(fill(strings.saved, { path: `${file.node}:${file.path}` }));
      void listFolder(file.path.replace(/\/[^/]*$/, '') || '/');
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'CHANGED') {
        conflict.hidden = false;
        conflict.querySelector('[data-conflict-text]')!.textContent = strings.changedUnder;
      } else say(sentence(failure), 'error');
    }
  };

  /** Compares the open file with the sandbox's copy: reloads it when nothing is edited here. */
  const checkUnderneath = async () => {
    if (!current || !editor || current.version === 'new' || panel.hidden) return;
    const file = current;
    try {
      const fresh = await api<FileContent>(`/api/files/read?${new URLSearchParams({ node: file.node, path: file.path })}`);
      if (current !== file || fresh.version === file.version) return;
      if (!editor.dirty) {
        editor.load(fresh.path, fresh.content);
        current = { ...file, version: fresh.version };
        say(fill(strings.reloaded, { path: `${file.node}:${file.path}` }));
      } else {
        conflict.hidden = false;
        conflict.querySelector('[data-conflict-text]')!.textContent = strings.changedUnder;
      }
    } catch {
      // Gone or unreadable now: the next save says why.
    }
  };

  toggle.addEventListener('click', () => show(panel.hidden === true));
  $('[data-editor-close]').addEventListener('click', () => {
    show(false);
    toggle.focus();
  });
  $<HTMLFormElement>('[data-editor-open]').addEventListener('submit', (event) => {
    event.preventDefault();
    if (pathInput.value.trim()) void open(pathInput.value);
  });
  saveButton.addEventListener('click', () => void save('checked'));
  $('[data-conflict-reload]').addEventListener('click', () => {
    if (current && editor) {
      const path = current.path;
      editor.load(path, '');
      current = undefined;
      void open(path);
    }
  });
  $('[data-conflict-overwrite]').addEventListener('click', () => void save('overwrite'));

  return {
    open,
    get visible() {
      return !panel.hidden;
    },
    async openAs(path, content) {
      const node = context.node();
      const target = resolvePath(path, context.cwd());
      try {
        let expected = 'new';
        try {
          const existing = await api<FileContent>(`/api/files/read?${new URLSearchParams({ node, path: target })}`);
          if (existing.content === content) expected = existing.version;
          else if (confirm(fill(strings.confirmReplace, { path: target }))) expected = existing.version;
          else return void (await open(target));
        } catch (failure) {
          if (!(failure instanceof ApiError && failure.code === 'NOT_FOUND' && failure.message.startsWith(target))) throw failure;
        }
        await api('/api/files/write', { node, path: target, content, expected });
        await open(target);
        say(fill(strings.created, { path: `${node}:${target}` }));
      } catch (failure) {
        if (panel.hidden) show(true);
        say(sentence(failure), 'error');
      }
    },
  };
}
