import { z } from 'zod';

/** A name used in tool prefixes, metrics labels and audit: short, stable, header- and URL-safe. */
export const identifier = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'must start with a letter and use only letters, digits, "_" and "-" (at most 32 characters)');

export const duration = z.number().int().nonnegative();

/** A string map whose values are secrets: they print as [redacted] once compiled. */
export const secretMap = z.record(z.string(), z.string());
