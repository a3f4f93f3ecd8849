/**
 * An Astro integration that lets the browser fetch a page's whole script graph at once: for
 * each `<script type="module" src>` a built page has, it adds `<link rel="modulepreload">` to
 * the page's head for the chunks that script imports (and theirs), and for the chunks of the
 * dynamic imports named in `eager` (a module that is loaded at once but kept out of the
 * entry, like xterm.js, which the lesson page imports while its socket opens).
 *
 * Without it the browser learns of an import only when it has parsed the chunk that makes it,
 * and a dynamic import only when the entry runs: on the lesson page that put the fetch of
 * xterm.js (356 KB) a tenth of a second after the page's HTML, behind the first layout.
 *
 * The chunk graph is read from Rollup's own bundle (a Vite plugin), not from the built files.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import type { Plugin } from 'vite';

interface ChunkInfo {
  imports: string[];
  dynamicImports: string[];
  /** The source module the chunk is the entry of (for a dynamic import's chunk). */
  facade: string | null;
}

/** The chunks to preload for an entry chunk: what it imports, and the `eager` dynamic imports, with what those import. */
export function preloadsFor(entry: string, chunks: ReadonlyMap<string, ChunkInfo>, eager: readonly string[]): string[] {
  const found = new Set<string>();
  const isEager = (file: string) => {
    const facade = chunks.get(file)?.facade;
    return facade !== null && facade !== undefined && eager.some((suffix) => facade.endsWith(suffix));
  };
  const visit = (file: string) => {
    const chunk = chunks.get(file);
    if (!chunk) return;
    for (const next of [...chunk.imports, ...chunk.dynamicImports.filter(isEager)]) {
      if (next === entry || found.has(next)) continue;
      found.add(next);
      visit(next);
    }
  };
  visit(entry);
  return [...found];
}

/** The page with a modulepreload link for each chunk its module scripts need, before `</head>`. */
export function withPreloads(html: string, base: string, chunks: ReadonlyMap<string, ChunkInfo>, eager: readonly string[]): string {
  const links = new Set<string>();
  for (const match of html.matchAll(/<script type="module" src="([^"]+)"/g)) {
    const src = match[1]!;
    if (!src.startsWith(base)) continue;
    const file = src.slice(base.length);
    for (const chunk of preloadsFor(file, chunks, eager)) links.add(`<link rel="modulepreload" href="${base}${chunk}">`);
  }
  for (const match of html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)) links.delete(`<link rel="modulepreload" href="${match[1]}">`);
  if (links.size === 0 || !html.includes('</head>')) return html;
  return html.replace('</head>', `${[...links].join('')}</head>`);
}

async function htmlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.html')).map((entry) => path.join(entry.parentPath, entry.name));
}

export function modulePreload(options: { eager: string[] }): AstroIntegration {
  const chunks = new Map<string, ChunkInfo>();
  const recorder: Plugin = {
    name: 'slipway:chunk-graph',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue;
        chunks.set(output.fileName, { imports: output.imports, dynamicImports: output.dynamicImports, facade: output.facadeModuleId });
      }
    },
  };
  let base = '/';
  return {
    name: 'slipway:module-preload',
    hooks: {
      'astro:config:setup': ({ config, updateConfig }) => {
        base = config.base.endsWith('/') ? config.base : `${config.base}/`;
        updateConfig({ vite: { plugins: [recorder] } });
      },
      'astro:build:done': async ({ dir }) => {
        for (const file of await htmlFiles(fileURLToPath(dir))) {
          const html = await readFile(file, 'utf8');
          const updated = withPreloads(html, base, chunks, options.eager);
          if (updated !== html) await writeFile(file, updated);
        }
      },
    },
  };
}
