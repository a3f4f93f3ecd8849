import { describe, expect, it } from 'vitest';
import { preloadsFor, withPreloads } from './module-preload.ts';

// The lesson page's graph as Rollup reports it: the entry imports api, and imports the terminal
// view (which imports xterm) and the code editor dynamically.
const chunks = new Map([
  ['_astro/lesson.js', { imports: ['_astro/api.js'], dynamicImports: ['_astro/view.js', '_astro/editor.js'], facade: '/src/site/components/Terminal.astro?astro&type=script' }],
  ['_astro/api.js', { imports: [], dynamicImports: [], facade: null }],
  ['_astro/view.js', { imports: ['_astro/xterm.js'], dynamicImports: [], facade: '/src/site/scripts/terminal-view.ts' }],
  ['_astro/xterm.js', { imports: [], dynamicImports: [], facade: null }],
  ['_astro/editor.js', { imports: ['_astro/api.js'], dynamicImports: [], facade: '/src/site/scripts/code-editor.ts' }],
]);
const eager = ['site/scripts/terminal-view.ts'];

describe('module preloads', () => {
  it('lists what an entry imports and its eager dynamic imports with theirs, not the lazy ones', () => {
    expect(preloadsFor('_astro/lesson.js', chunks, eager).sort()).toEqual(['_astro/api.js', '_astro/view.js', '_astro/xterm.js']);
    expect(preloadsFor('_astro/lesson.js', chunks, [])).toEqual(['_astro/api.js']);
    expect(preloadsFor('_astro/unknown.js', chunks, eager)).toEqual([]);
  });

  it('puts one link per chunk in the head, once, and leaves a page without module scripts alone', () => {
    const page = '<html><head><title>x</title><script type="module" src="/_astro/lesson.js"></script></head><body><script type="module" src="/_astro/lesson.js"></script></body></html>';
    const built = withPreloads(page, '/', chunks, eager);
    const links = [...built.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]);
    expect(links.sort()).toEqual(['/_astro/api.js', '/_astro/view.js', '/_astro/xterm.js']);
    expect(built.indexOf('<link rel="modulepreload"')).toBeLessThan(built.indexOf('</head>'));
    expect(withPreloads(built, '/', chunks, eager)).toBe(built);
    const plain = '<html><head></head><body><p>no scripts</p></body></html>';
    expect(withPreloads(plain, '/', chunks, eager)).toBe(plain);
  });

  it('honours the site base', () => {
    const page = '<head><script type="module" src="/course/_astro/lesson.js"></script></head>';
    expect(withPreloads(page, '/course/', chunks, [])).toContain('<link rel="modulepreload" href="/course/_astro/api.js">');
  });
});
