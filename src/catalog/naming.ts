import { createHash } from 'node:crypto';

export interface NamingRules {
  readonly separator: string;
  readonly maxLength: number;
}

const UNSAFE = /[^A-Za-z0-9_.-]/g;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A short, stable digest of (upstream, name): the same inputs give the same suffix on every machine. */
export function stableSuffix(upstream: string, name: string, chars = 6): string {
  const h = createHash('sha256').update(upstream).update('\0').update(name).digest();
  let s = '';
  for (let i = 0; i < chars; i++) s += BASE32[h[i]! & 31];
  return s;
}

/**
 * The public name of one upstream item, before collisions are considered. It depends only on the
 * upstream's prefix and the item's own name, so adding another upstream never changes it.
 * Names that needed characters replaced or shortening get a digest suffix, so two different
 * originals cannot end up with the same public name.
 */
export function basePublicName(prefix: string | undefined, name: string, rules: NamingRules): string {
  const raw = prefix === undefined ? name : `${prefix}${rules.separator}${name}`;
  const clean = raw.replace(UNSAFE, '_');
  if (clean === raw && clean.length <= rules.maxLength && clean.length > 0) return clean;
  return withSuffix(clean, stableSuffix(prefix ?? '', name), rules.maxLength);
}

/** The name given to the later of two colliding items: its base name plus a digest of its upstream. */
export function disambiguatedName(base: string, upstream: string, name: string, rules: NamingRules, chars = 6): string {
  return withSuffix(base, stableSuffix(upstream, name, chars), rules.maxLength);
}

function withSuffix(name: string, suffix: string, maxLength: number): string {
  const room = maxLength - suffix.length - 1;
  return `${name.slice(0, Math.max(room, 1))}-${suffix}`;
}
