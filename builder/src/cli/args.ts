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
