// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import { modulePreload } from './site/build/module-preload.ts';

// Tests build lesson folders of their own into a scratch folder (tests/lesson-build.int.test.ts).
const scratch = process.env.SLIPWAY_BUILD_SCRATCH;

export default defineConfig({
  srcDir: './site',
  outDir: scratch ? `${scratch}/dist` : './dist',
  ...(scratch ? { cacheDir: `${scratch}/cache` } : {}),
  publicDir: './site/public',
  // The lesson page fetches xterm.js with its own script, not after it (site/build/module-preload.ts).
  integrations: [mdx(), modulePreload({ eager: ['site/scripts/terminal-view.ts'] })],
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  markdown: { shikiConfig: { theme: 'github-light' } },
  devToolbar: { enabled: false },
  // No inline scripts: the server's Content-Security-Policy allows scripts from this origin only.
  vite: { build: { assetsInlineLimit: 0 } },
  telemetry: false,
});
