// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

export default defineConfig({
  srcDir: './site',
  outDir: './dist',
  publicDir: './site/public',
  integrations: [mdx()],
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  markdown: { shikiConfig: { theme: 'github-light' } },
  devToolbar: { enabled: false },
  telemetry: false,
});
