// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

// Tests build lesson folders of their own into a scratch folder (tests/lesson-build.int.test.ts).
const scratch = process.env.SLIPWAY_BUILD_SCRATCH;

export default defineConfig({
  srcDir: './site',
  outDir: scratch ? `${scratch}/dist` : './dist',
  ...(scratch ? { cacheDir: `${scratch}/cache` } : {}),
  publicDir: './site/public',
  integrations: [mdx()],
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  markdown: { shikiConfig: { theme: 'github-light' } },
  devToolbar: { enabled: false },
  // No inline scripts: the server's Content-Security-Policy allows scripts from this origin only.
  vite: { build: { assetsInlineLimit: 0 } },
  telemetry: false,
});
