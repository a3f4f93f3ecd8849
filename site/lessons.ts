/**
 * The course as the pages show it: lesson.yaml of every lesson joined with each language's
 * words (site/content.config.ts). A lesson that is broken or not translated fails the build
 * here, with the file and the field named.
 */
import path from 'node:path';
import { getCollection, type CollectionEntry } from 'astro:content';
import { joinCourse, loadCourse } from '../lessons/course.ts';
import type { Language, LessonPage } from '../lessons/schema.ts';
import { splitLessonId } from './i18n.ts';

export const lessonsDir = path.resolve(process.env.SLIPWAY_LESSONS_DIR ?? 'lessons');

export interface CoursePage extends LessonPage {
  entry: CollectionEntry<'lessons'>;
}

let cached: Promise<CoursePage[]> | undefined;

export function coursePages(): Promise<CoursePage[]> {
  cached ??= (async () => {
    const course = await loadCourse(lessonsDir);
    const entries = await getCollection('lessons');
    const byId = new Map(entries.map((entry) => [entry.id, entry]));
    const pages = joinCourse(
      course,
      entries.map((entry) => ({ ...splitLessonId(entry.id), text: entry.data })),
    );
    return pages.map((page) => ({ ...page, entry: byId.get(`${page.lang}/${page.slug}`)! }));
  })();
  return cached;
}

/** Lessons of one language, in course order. */
export async function lessonsIn(lang: Language): Promise<CoursePage[]> {
  return (await coursePages()).filter((page) => page.lang === lang);
}
