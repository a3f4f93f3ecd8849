/**
 * The lessons' steps as the site build published them (site/pages/api/lessons.json.ts), so
 * that the server checks exactly what the pages show, validated once by Astro's schema.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { lessonCatalogSchema, type LessonCatalog } from '../../lessons/schema.ts';

export const catalogPath = 'api/lessons.json';

export async function loadCatalog(siteDir: string): Promise<LessonCatalog> {
  const file = path.join(siteDir, catalogPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`The site is not built (${file} is missing): run \`npm run build\` first.`);
  }
  return lessonCatalogSchema.parse(JSON.parse(text));
}
