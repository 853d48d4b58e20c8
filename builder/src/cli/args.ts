import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../errors.js';

/** A command's options and positionals; an unknown or malformed option is a usage error. */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

/** An option's number of seconds (fractions allowed), or `fallback` when the option is absent. */
export function seconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw usageError(`${name} takes a number of seconds, not "${text}"`);
  return n;
}
