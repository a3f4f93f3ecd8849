import { describe, expect, it } from 'vitest';
import { dockerfileTargets, mirrorCatalog, type ImageSet } from './images.ts';

const images = Object.fromEntries([['debian', 'slipway/debian:x'], ...dockerfileTargets.map((target) => [target, `slipway/${target}:x`])]) as ImageSet;

describe('mirrorCatalog', () => {
  const catalog = mirrorCatalog(images);

  it('publishes each repository:tag once, under library/ as Docker Hub names them', () => {
    const names = catalog.map((entry) => `${entry.repository}:${entry.tag}`);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of catalog) expect(entry.repository).toMatch(/^library\/[a-z0-9-]+$/);
  });

  it('offers the images the course pulls', () => {
    const names = catalog.map((entry) => `${entry.repository.replace('library/', '')}:${entry.tag}`);
    expect(names).toEqual(expect.arrayContaining(['hello-world:latest', 'busybox:latest', 'registry:2', 'debian:bookworm', 'python:3', 'python:3.11', 'python:3.11-slim']));
  });

  it('gives learners the debian image set up for the caches, never the build base', () => {
    const debian = catalog.filter((entry) => entry.repository === 'library/debian');
    expect(debian.length).toBeGreaterThan(0);
    for (const entry of debian) expect(entry.image).toBe(images['learner-debian']);
    expect(catalog.map((entry) => entry.image)).not.toContain(images.debian);
  });

  it('publishes no build-only image', () => {
    const published = new Set(catalog.map((entry) => entry.image));
    for (const internal of [images.sandbox, images['apt-cache'], images.pypi]) expect(published).not.toContain(internal);
  });
});
