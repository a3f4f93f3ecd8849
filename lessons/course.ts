/**
 * Loads the course from lessons/: each lesson folder's `lesson.yaml` (its machine part,
 * written once) and, for the site, each language's words, cross-checked so that a missing
 * translation, title or hint, or steps that disagree, fail with the lesson and field named.
 * The site build (site/lessons.ts) and the server (server/lessons/catalog.ts) both use it.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import {
  languages,
  lessonSpecSchema,
  type Course,
  type Language,
  type LessonPage,
  type LessonSpec,
  type LessonText,
} from './schema.ts';

export const specFile = 'lesson.yaml';

/** A lesson that cannot be used; the message names the file and the field. */
export class LessonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LessonError';
  }
}

/** `steps[2].check` from zod's ['steps', 2, 'check']. */
export function fieldPath(parts: ReadonlyArray<PropertyKey>): string {
  return parts.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

export function describeIssues(file: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = fieldPath(issue.path);
      const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
      return `${file}: ${field || '(top level)'}${missing ? ' is missing' : `: ${issue.message}`}`;
    })
    .join('\n');
}

/** Parses and validates one lesson.yaml; `file` is how errors name it. */
export function parseLessonSpec(file: string, text: string): LessonSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : '';
    throw new LessonError(`${file}: not valid YAML${where}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const parsed = lessonSpecSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new LessonError(describeIssues(file, parsed.error));
  return parsed.data;
}

/** Names of the site's own pages under /<lang>/, which a lesson folder cannot have. */
export const reservedSlugs = new Set(['join', 'teach']);

/** Every lesson's machine part, by slug (the folder's name). */
export async function loadCourse(lessonsDir: string): Promise<Course> {
  const entries = await readdir(lessonsDir, { withFileTypes: true }).catch(() => {
    throw new LessonError(`${lessonsDir}: the lessons folder is missing`);
  });
  const course: Course = {};
  for (const entry of entries.filter((item) => item.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(path.basename(lessonsDir), entry.name, specFile);
    const text = await readFile(path.join(lessonsDir, entry.name, specFile), 'utf8').catch(() => undefined);
    if (text === undefined) throw new LessonError(`${file} is missing: every lesson folder needs one`);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(entry.name)) throw new LessonError(`${file}: the folder name must be lower-case letters, digits and dashes`);
    if (reservedSlugs.has(entry.name)) throw new LessonError(`${file}: the folder name "${entry.name}" is taken by the site's own pages (/<lang>/${entry.name}/); rename the folder`);
    course[entry.name] = parseLessonSpec(file, text);
  }
  for (const [slug, lesson] of Object.entries(course)) {
    for (const required of lesson.requires) {
      if (!course[required]) throw new LessonError(`lessons/${slug}/${specFile}: requires: there is no lesson "${required}"`);
    }
  }
  return course;
}

/** One language's words for one lesson, as the site's content collection read them. */
export interface LessonTextEntry {
  slug: string;
  lang: Language;
  text: LessonText;
}

/**
 * Joins the machine part with each language's words. Fails, naming the lesson and the file,
 * when a language lacks a lesson or a step's title or hint, or names a step lesson.yaml lacks.
 */
export function joinCourse(course: Course, entries: readonly LessonTextEntry[]): LessonPage[] {
  const pages: LessonPage[] = [];
  const problems: string[] = [];
  const bySlug = new Map<string, Map<Language, LessonText>>();
  for (const entry of entries) {
    if (!course[entry.slug]) {
      problems.push(`lessons/${entry.slug}/${entry.lang}.mdx: there is no lessons/${entry.slug}/${specFile} beside it`);
      continue;
    }
    const texts = bySlug.get(entry.slug) ?? new Map<Language, LessonText>();
    texts.set(entry.lang, entry.text);
    bySlug.set(entry.slug, texts);
  }
  for (const [slug, spec] of Object.entries(course)) {
    for (const lang of languages) {
      const file = `lessons/${slug}/${lang}.mdx`;
      const text = bySlug.get(slug)?.get(lang);
      if (!text) {
        problems.push(`${file} is missing: lesson "${slug}" has no ${lang} text`);
        continue;
      }
      const known = new Set(spec.steps.map((step) => step.id));
      for (const id of Object.keys(text.steps)) {
        if (!known.has(id)) problems.push(`${file}: steps.${id}: lesson.yaml has no step "${id}"`);
      }
      for (const step of spec.steps) {
        if (!text.steps[step.id]) problems.push(`${file}: steps.${step.id} is missing (its title and hint)`);
      }
      if (spec.setup.length > 0 && !text.setup) problems.push(`${file}: setup is missing (what the Set up button builds)`);
      const steps = spec.steps.flatMap((step) => {
        const words = text.steps[step.id];
        return words ? [{ id: step.id, node: step.node, history: step.history, title: words.title, hint: words.hint }] : [];
      });
      pages.push({ slug, lang, spec, text, steps });
    }
  }
  if (problems.length > 0) throw new LessonError(problems.join('\n'));
  return pages.sort((a, b) => a.spec.order - b.spec.order || a.slug.localeCompare(b.slug));
}
