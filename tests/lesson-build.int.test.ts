/**
 * A broken lesson fails the site build, and the message names the file and the field.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../server/config.ts';

const scratchDirs: string[] = [];
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Builds the site from a copy of the lessons, changed by `edit`; returns exit code and output. */
function buildWith(edit: (lessonsDir: string) => void): Promise<{ code: number; output: string }> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'slipway-lesson-build-'));
  scratchDirs.push(scratch);
  const lessonsDir = path.join(scratch, 'lessons');
  cpSync(path.join(projectRoot, 'lessons'), lessonsDir, { recursive: true });
  edit(lessonsDir);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot, 'node_modules/astro/bin/astro.mjs'), 'build'],
      { cwd: projectRoot, env: { ...process.env, SLIPWAY_LESSONS_DIR: lessonsDir, SLIPWAY_BUILD_SCRATCH: scratch, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

function editLesson(lessonsDir: string, file: string, change: (text: string) => string): void {
  const full = path.join(lessonsDir, file);
  writeFileSync(full, change(readFileSync(full, 'utf8')));
}

describe('lesson build', () => {
  it('names the file and the field of a missing check', async () => {
    const result = await buildWith((dir) =>
      editLesson(dir, 'hello-world/lesson.yaml', (text) => text.replace(/\n {4}check: grep[^\n]*images[^\n]*/, '')),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('hello-world/lesson.yaml');
    expect(result.output).toMatch(/steps\[1\]\.check is missing/);
  });

  it('names the file of a lesson whose frontmatter is not valid YAML', async () => {
    const result = await buildWith((dir) => editLesson(dir, 'hello-world/zh.mdx', (text) => text.replace('title: Hello World', 'title: [Hello')));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('hello-world/zh.mdx');
  });

  it('names a lesson missing in one language', async () => {
    const result = await buildWith((dir) => rmSync(path.join(dir, 'hello-world', 'en.mdx')));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('lessons/hello-world/en.mdx is missing');
  });

  it('names a step whose hint is missing in one language, and steps that disagree', async () => {
    const result = await buildWith((dir) =>
      editLesson(dir, 'hello-world/zh.mdx', (text) => text.replace(/\n  list-images:\n    title: [^\n]*\n    hint: [^\n]*/, '\n  list-image:\n    title: 列出镜像\n    hint: 提示')),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('lessons/hello-world/zh.mdx: steps.list-image: lesson.yaml has no step "list-image"');
    expect(result.output).toContain('lessons/hello-world/zh.mdx: steps.list-images is missing');
  });

  it('builds the lessons as they are', async () => {
    const result = await buildWith(() => undefined);
    expect(result.output).not.toMatch(/error/i);
    expect(result.code).toBe(0);
  });
});
