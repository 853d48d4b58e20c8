import { randomUUID } from 'node:crypto';

/**
 * config.json text. 64-bit values (rlimits: RLIM_INFINITY is 2^64-1, which has no exact double)
 * are bigints in the config; the replacer writes each as a string behind a mark made for this
 * call, and only those marked strings become bare digits. A string in the config, an env value
 * say, is written as it is whatever it holds.
 */
export function configJson(config: object): string {
  const mark = `lkbuild-bigint-${randomUUID()}:`;
  let written = 0;
  const replacer = (_key: string, value: unknown): unknown => {
    if (typeof value !== 'bigint') return value;
    written++;
    return mark + value.toString();
  };
  let replaced = 0;
  const text = JSON.stringify(config, replacer, 2).replace(new RegExp(`"${mark}(\\d+)"`, 'g'), (_m, digits: string) => {
    replaced++;
    return digits;
  });
  if (replaced !== written) throw new Error(`internal: config.json: ${written} 64-bit values written but ${replaced} marks found`);
  return text + '\n';
}
