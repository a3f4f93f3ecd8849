/**
 * CodeMirror 6 for the editor panel, loaded only when the panel first opens (the lesson page's
 * first load does not carry it). Highlighting by file name: Dockerfile, shell, YAML, Python;
 * anything else as plain text.
 */
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching } from '@codemirror/language';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { python } from '@codemirror/lang-python';
import { yaml } from '@codemirror/lang-yaml';

export interface CodeEditor {
  /** Shows `content` for `path` (its highlighting chosen by name); not dirty afterwards. */
  load(path: string, content: string): void;
  text(): string;
  readonly dirty: boolean;
  focus(): void;
}

/** The language for a file, by its name. */
export function languageFor(path: string): Extension {
  const name = path.split('/').pop() ?? '';
  if (/^(Dockerfile|Containerfile)(\..*)?$|\.dockerfile$/i.test(name)) return StreamLanguage.define(dockerFile);
  if (/\.(ya?ml)$/i.test(name) || /^docker-compose/i.test(name)) return yaml();
  if (/\.py$/i.test(name)) return python();
  if (/\.(sh|bash)$|^\.?(bashrc|profile)$/i.test(name)) return StreamLanguage.define(shell);
  return [];
}

export function createCodeEditor(host: HTMLElement, options: { onSave(): void; onChange(): void; label: string }): CodeEditor {
  let dirty = false;
  const base = (path: string): Extension[] => [
    lineNumbers(),
    history(),
    drawSelection(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    bracketMatching(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    // Ctrl+S (Cmd+S) saves; Tab indents, and Escape then Tab leaves the editor (CodeMirror's own rule).
    keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => (options.onSave(), true) }, indentWithTab, ...defaultKeymap, ...historyKeymap, ...searchKeymap]),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      dirty = true;
      options.onChange();
    }),
    EditorView.contentAttributes.of({ 'aria-label': options.label }),
    languageFor(path),
  ];
  const view = new EditorView({ parent: host, state: EditorState.create({ doc: '', extensions: base('') }) });
  return {
    load(path, content) {
      view.setState(EditorState.create({ doc: content, extensions: base(path) }));
      dirty = false;
    },
    text: () => view.state.doc.toString(),
    get dirty() {
      return dirty;
    },
    focus: () => view.focus(),
  };
}
