/** Lessons of one language, in index order. */
import { getCollection, type CollectionEntry } from 'astro:content';
import type { Language } from '../lessons/schema.ts';
import { splitLessonId } from './i18n.ts';

export async function lessonsIn(lang: Language): Promise<CollectionEntry<'lessons'>[]> {
  const all = await getCollection('lessons', (entry) => splitLessonId(entry.id).lang === lang);
  return all.sort((a, b) => a.data.order - b.data.order || a.id.localeCompare(b.id));
}
