import { LkError } from '../../errors.js';
import type { Descriptor } from '../media-types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };

/** "linux/arm64/v8", "arm64", "amd64" -> a platform (OS defaults to linux). Pure. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/').filter((p) => p !== '');
  if (parts.length === 1) return { os: 'linux', architecture: normalizeArch(parts[0]) };
  if (parts.length === 2 || parts.length === 3) {
    return { os: parts[0], architecture: normalizeArch(parts[1]), ...(parts[2] ? { variant: parts[2] } : {}) };
  }
  throw new LkError('usage', `invalid platform "${text}"`, 'expected ARCH or OS/ARCH[/VARIANT], e.g. arm64 or linux/arm/v7');
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

function normalizeArch(arch: string): string {
  const aliases: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armhf: 'arm' };
  return aliases[arch] ?? arch;
}

/**
 * Picks the manifest for `want` from an index. A wanted variant must match; without one, an
 * entry without variant is preferred (and arm64's implicit v8 matches).
 */
export function selectPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  if (want.variant) return candidates.find((m) => (m.platform!.variant ?? (want.architecture === 'arm64' ? 'v8' : '')) === want.variant);
  return candidates.find((m) => !m.platform!.variant) ?? candidates.find((m) => m.platform!.variant === 'v8') ?? candidates[0];
}
