import type { Parsed } from './rlimits.js';

/**
 * A permission mode: "0644", "644", "0o644", or a YAML number. YAML 1.2 reads an unquoted 0644
 * as the decimal 644, so a number whose source text has only octal digits is read as octal, the
 * way LinuxKit users mean it. Without source text (JSON labels), a number is the mode itself.
 */
export function parseMode(value: unknown, sourceText?: string): Parsed<number> {
  const text = typeof value === 'string' ? value.trim() : sourceText?.trim();
  if (text !== undefined) {
    const m = /^(?:0o|0)?([0-7]{1,4})$/i.exec(text);
    if (m) return { ok: true, value: parseInt(m[1], 8) };
    return {
      ok: false,
      message: `mode ${JSON.stringify(typeof value === 'string' ? value : text)} is not an octal permission mode; expected something like "0644" (at most 07777)`,
    };
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0o7777) return { ok: true, value };
  return { ok: false, message: `mode ${String(value)} is not a permission mode; expected something like "0644" (at most 07777)` };
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
