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

/** An option's whole positive number ("--mem 512"), or undefined when the option is absent. */
export function positiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw usageError(`${name} takes a whole number above 0, not "${text}"`);
  return Number(text);
}

/** An option's number of seconds (fractions allowed), or `fallback` when the option is absent. */
export function seconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw usageError(`${name} takes a number of seconds, not "${text}"`);
  return n;
}
