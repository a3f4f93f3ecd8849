import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { joinCourse, LessonError, loadCourse, parseLessonSpec, type LessonTextEntry } from './course.ts';
import { languages, lessonTextSchema, type Course } from './schema.ts';

const lessonsDir = path.dirname(fileURLToPath(import.meta.url));

const validSpec = `
order: 3
nodes: [node1, node2]
steps:
  - id: start-registry
    check: docker ps | grep -q registry
    solution: [docker run -d -p 5000:5000 registry:2]
  - id: pull-from-node2
    node: node2
    check: docker image inspect node1:5000/busybox
    solution: [docker pull node1:5000/busybox]
`;

function words(ids: string[]) {
  return { title: 'T', description: 'D', steps: Object.fromEntries(ids.map((id) => [id, { title: `do ${id}`, hint: `hint ${id}` }])) };
}

describe('parseLessonSpec', () => {
  it('parses a valid lesson and fills in the defaults', () => {
    const spec = parseLessonSpec('lessons/x/lesson.yaml', validSpec);
    expect(spec.steps[0]!.node).toBe('node1');
    expect(spec.steps[1]!.node).toBe('node2');
    expect(spec.steps[0]!.history).toBe(false);
    expect(spec.requires).toEqual([]);
    expect(spec.setup).toEqual([]);
  });

  it('names the file and the field of a missing check', () => {
    expect(() => parseLessonSpec('lessons/x/lesson.yaml', validSpec.replace('    check: docker ps | grep -q registry\n', ''))).toThrow(
      /lessons\/x\/lesson\.yaml: steps\[0\]\.check is missing/,
    );
  });

  it('names the line of a YAML syntax error', () => {
    expect(() => parseLessonSpec('lessons/x/lesson.yaml', 'order: [3\nsteps: []')).toThrow(/lessons\/x\/lesson\.yaml: not valid YAML \(line \d+\)/);
  });

  it('refuses a step on a node the lesson does not have', () => {
    expect(() => parseLessonSpec('f', validSpec.replace('nodes: [node1, node2]', 'nodes: [node1]'))).toThrow(/steps\[1\]\.node: node2 is not in the lesson's nodes/);
  });

  it('refuses duplicate step ids, unknown fields and bad node names', () => {
    expect(() => parseLessonSpec('f', validSpec.replace('pull-from-node2', 'start-registry'))).toThrow(/unique/);
    expect(() => parseLessonSpec('f', validSpec + 'colour: blue\n')).toThrow(/colour/);
    expect(() => parseLessonSpec('f', validSpec.replace('[node1, node2]', '[node1, worker]'))).toThrow(/node1 \.\.\. node9/);
  });
});

describe('joinCourse', () => {
  const course: Course = { registry: parseLessonSpec('f', validSpec) };
  const both = (zh: ReturnType<typeof words>, en: ReturnType<typeof words>): LessonTextEntry[] => [
    { slug: 'registry', lang: 'zh', text: lessonTextSchema.parse(zh) },
    { slug: 'registry', lang: 'en', text: lessonTextSchema.parse(en) },
  ];

  it('joins each language with the machine part', () => {
    const pages = joinCourse(course, both(words(['start-registry', 'pull-from-node2']), words(['start-registry', 'pull-from-node2'])));
    expect(pages.map((page) => page.lang)).toEqual(['zh', 'en']);
    expect(pages[1]!.steps[1]).toEqual({ id: 'pull-from-node2', node: 'node2', history: false, title: 'do pull-from-node2', hint: 'hint pull-from-node2' });
  });

  it('fails naming the lesson when a language is missing', () => {
    const entries = both(words(['start-registry', 'pull-from-node2']), words([])).slice(0, 1);
    expect(() => joinCourse(course, entries)).toThrow(/lessons\/registry\/en\.mdx is missing/);
  });

  it('fails naming the file and step when a title and hint are missing, or a step is unknown', () => {
    const run = () => joinCourse(course, both(words(['start-registry', 'pull-from-node2']), words(['start-registry', 'push'])));
    expect(run).toThrow(LessonError);
    expect(run).toThrow(/lessons\/registry\/en\.mdx: steps\.push: lesson\.yaml has no step "push"/);
    expect(run).toThrow(/lessons\/registry\/en\.mdx: steps\.pull-from-node2 is missing/);
  });

  it('fails when a language has a lesson the course does not', () => {
    expect(() => joinCourse(course, [...both(words(['start-registry', 'pull-from-node2']), words(['start-registry', 'pull-from-node2'])), { slug: 'ghost', lang: 'en', text: lessonTextSchema.parse(words([])) }])).toThrow(/lessons\/ghost\/en\.mdx: there is no lessons\/ghost\/lesson\.yaml/);
  });
});

describe('loadCourse', () => {
  it('names a lesson folder without lesson.yaml', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-lessons-'));
    mkdirSync(path.join(dir, 'empty'));
    await expect(loadCourse(dir)).rejects.toThrow(/empty\/lesson\.yaml is missing/);
  });

  it('names a requirement that does not exist', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-lessons-'));
    mkdirSync(path.join(dir, 'one'));
    writeFileSync(path.join(dir, 'one', 'lesson.yaml'), validSpec + 'requires: [zero]\n');
    await expect(loadCourse(dir)).rejects.toThrow(/one\/lesson\.yaml: requires: there is no lesson "zero"/);
  });

  it("refuses a lesson folder named like one of the site's own pages", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-lessons-'));
    mkdirSync(path.join(dir, 'teach'));
    writeFileSync(path.join(dir, 'teach', 'lesson.yaml'), validSpec);
    await expect(loadCourse(dir)).rejects.toThrow(/teach\/lesson\.yaml: the folder name "teach" is taken by the site's own pages/);
  });
});

/** The frontmatter of an MDX file, as YAML. */
function frontmatter(file: string): unknown {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${file} has no frontmatter`);
  return parseYaml(match[1]!);
}

describe('the course as it is', async () => {
  const course = await loadCourse(lessonsDir);
  it('has lessons, in distinct order', () => {
    const orders = Object.values(course).map((lesson) => lesson.order);
    expect(orders.length).toBeGreaterThan(0);
    expect(new Set(orders).size).toBe(orders.length);
  });

  it('has every lesson in every language, with every step titled and hinted', () => {
    const entries: LessonTextEntry[] = [];
    for (const slug of readdirSync(lessonsDir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)) {
      for (const lang of languages) {
        const file = path.join(lessonsDir, slug, `${lang}.mdx`);
        const parsed = lessonTextSchema.safeParse(frontmatter(file));
        expect(parsed.error?.issues ?? [], file).toEqual([]);
        if (parsed.success) entries.push({ slug, lang, text: parsed.data });
      }
    }
    expect(joinCourse(course, entries)).toHaveLength(Object.keys(course).length * languages.length);
  });
});
