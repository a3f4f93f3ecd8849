import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { lessonSchema } from '../lessons/schema.ts';

export const collections = {
  lessons: defineCollection({
    loader: glob({ pattern: '{zh,en}/**/*.mdx', base: './lessons' }),
    schema: lessonSchema,
  }),
};
