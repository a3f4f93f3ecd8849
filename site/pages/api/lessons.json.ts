/** The lessons' checks, published for the server (server/lessons/catalog.ts). */
import { getCollection } from 'astro:content';
import type { LessonCatalog } from '../../../lessons/schema.ts';

export async function GET(): Promise<Response> {
  const catalog: LessonCatalog = {};
  for (const lesson of await getCollection('lessons')) {
    catalog[lesson.id] = { title: lesson.data.title, nodes: lesson.data.nodes, steps: lesson.data.steps };
  }
  return new Response(JSON.stringify(catalog, null, 2), { headers: { 'Content-Type': 'application/json' } });
}
