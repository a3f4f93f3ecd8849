import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { languages, lessonSchema, type Lesson } from './schema.ts';

const require = createRequire(import.meta.url);
// js-yaml ships no type declarations; only load() is used.
const yaml = require('js-yaml') as { load(text: string): unknown };

const lessonsDir = path.dirname(fileURLToPath(import.meta.url));

function validLesson(): Record<string, unknown> {
  return {
    title: 'Hello World',
    description: 'Run your first container.',
    order: 1,
    steps: [
      {
        id: 'run-hello-world',
        title: 'Run the hello-world image',
        check: 'docker ps -a | grep -q hello',
        hint: 'Type docker run hello-world.',
        solution: ['docker run hello-world'],
      },
      {
        id: 'list-images',
        title: 'List the images',
        node: 'node2',
        check: 'true',
        hint: 'docker images',
        solution: ['docker images'],
      },
    ],
  };
}

function steps(lesson: Record<string, unknown>): Array<Record<string, unknown>> {
  return lesson.steps as Array<Record<string, unknown>>;
}

describe('lessonSchema', () => {
  it('parses a valid lesson and fills in the defaults', () => {
    const parsed = lessonSchema.safeParse(validLesson());
    expect(parsed.success).toBe(true);
    const lesson = parsed.data!;
    expect(lesson.nodes).toEqual(['node1']);
    expect(lesson.steps[0]!.node).toBe('node1');
    expect(lesson.steps[1]!.node).toBe('node2');
    expect(lesson.steps.map((step) => step.id)).toEqual(['run-hello-world', 'list-images']);
  });

  it('keeps explicit nodes', () => {
    const parsed = lessonSchema.parse({ ...validLesson(), nodes: ['node1', 'node2'] });
    expect(parsed.nodes).toEqual(['node1', 'node2']);
  });

  it('reports a missing check with its path', () => {
    const lesson = validLesson();
    delete steps(lesson)[0]!.check;
    const parsed = lessonSchema.safeParse(lesson);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path)).toContainEqual(['steps', 0, 'check']);
  });

  it('rejects an empty check', () => {
    const lesson = validLesson();
    steps(lesson)[1]!.check = '';
    const parsed = lessonSchema.safeParse(lesson);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['steps', 1, 'check']);
  });

  it('rejects duplicate step ids', () => {
    const lesson = validLesson();
    steps(lesson)[1]!.id = 'run-hello-world';
    const parsed = lessonSchema.safeParse(lesson);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.message)).toContain('step ids must be unique within a lesson');
  });

  it('rejects an unknown frontmatter key', () => {
    const parsed = lessonSchema.safeParse({ ...validLesson(), author: 'someone' });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error!.issues)).toContain('author');
  });

  it('rejects an unknown step key', () => {
    const lesson = validLesson();
    steps(lesson)[0]!.answer = 'docker run hello-world';
    expect(lessonSchema.safeParse(lesson).success).toBe(false);
  });

  it('rejects a node that is not node1 ... node9', () => {
    for (const name of ['web', 'node0', 'node10', 'Node1', '']) {
      const lesson = { ...validLesson(), nodes: [name] };
      const parsed = lessonSchema.safeParse(lesson);
      expect(parsed.success, `nodes: [${JSON.stringify(name)}]`).toBe(false);
      expect(parsed.error!.issues[0]!.path).toEqual(['nodes', 0]);
    }
    const lesson = validLesson();
    steps(lesson)[0]!.node = 'web';
    const parsed = lessonSchema.safeParse(lesson);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['steps', 0, 'node']);
  });

  it('rejects bad step ids', () => {
    for (const id of ['Run', '-start', 'has space', 'under_score', '']) {
      const lesson = validLesson();
      steps(lesson)[0]!.id = id;
      expect(lessonSchema.safeParse(lesson).success, `id ${JSON.stringify(id)}`).toBe(false);
    }
  });

  it('rejects a lesson without steps or with an empty solution', () => {
    expect(lessonSchema.safeParse({ ...validLesson(), steps: [] }).success).toBe(false);
    const lesson = validLesson();
    steps(lesson)[0]!.solution = [];
    expect(lessonSchema.safeParse(lesson).success).toBe(false);
  });

  it('rejects a negative or fractional order', () => {
    expect(lessonSchema.safeParse({ ...validLesson(), order: -1 }).success).toBe(false);
    expect(lessonSchema.safeParse({ ...validLesson(), order: 1.5 }).success).toBe(false);
  });
});

/** The YAML between the first two `---` lines of an MDX file. */
function frontmatter(file: string): unknown {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const open = lines.indexOf('---');
  const close = lines.indexOf('---', open + 1);
  if (open !== 0 || close < 0) throw new Error(`${file} has no frontmatter`);
  return yaml.load(lines.slice(open + 1, close).join('\n'));
}

function lessonFiles(language: string): string[] {
  return readdirSync(path.join(lessonsDir, language))
    .filter((name) => name.endsWith('.mdx'))
    .sort();
}

describe('the real lessons', () => {
  const parsed = new Map<string, Lesson>();
  for (const language of languages) {
    for (const name of lessonFiles(language)) {
      parsed.set(`${language}/${name}`, lessonSchema.parse(frontmatter(path.join(lessonsDir, language, name))));
    }
  }

  it('exist in every language', () => {
    for (const language of languages) expect(lessonFiles(language).length, language).toBeGreaterThan(0);
  });

  for (const language of languages) {
    for (const name of lessonFiles(language)) {
      it(`${language}/${name} has valid frontmatter`, () => {
        const result = lessonSchema.safeParse(frontmatter(path.join(lessonsDir, language, name)));
        expect(result.error?.issues ?? []).toEqual([]);
        expect(result.success).toBe(true);
      });
    }
  }

  it('come in the same files in zh and en', () => {
    expect(lessonFiles('zh')).toEqual(lessonFiles('en'));
  });

  for (const name of lessonFiles('zh').filter((file) => lessonFiles('en').includes(file))) {
    it(`${name}: zh and en have the same steps, checks and solutions`, () => {
      const zh = parsed.get(`zh/${name}`)!;
      const en = parsed.get(`en/${name}`)!;
      const machine = (lesson: Lesson) => ({
        order: lesson.order,
        nodes: lesson.nodes,
        steps: lesson.steps.map(({ id, node, check, solution }) => ({ id, node, check, solution })),
      });
      expect(machine(zh)).toEqual(machine(en));
    });
  }
});
