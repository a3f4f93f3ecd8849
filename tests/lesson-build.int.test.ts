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
      editLesson(dir, 'en/hello-world.mdx', (text) => text.replace(/\n {4}check: 'grep[^\n]*/, '')),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('en/hello-world.mdx');
    expect(result.output).toMatch(/steps\.1\.check/);
  });

  it('names the file of a lesson whose frontmatter is not valid YAML', async () => {
    const result = await buildWith((dir) => editLesson(dir, 'zh/hello-world.mdx', (text) => text.replace('order: 1', 'order: [1')));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('zh/hello-world.mdx');
  });

  it('builds the lessons as they are', async () => {
    const result = await buildWith(() => undefined);
    expect(result.output).not.toMatch(/error/i);
    expect(result.code).toBe(0);
  });
});
