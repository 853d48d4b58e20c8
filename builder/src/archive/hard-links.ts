import type { Content, FsEntry } from '../fs/tree.js';

/** Where one path stands in its group of hard links: the group's first and last path and its size. */
export interface LinkGroup {
  first: string;
  last: string;
  count: number;
}

/**
 * The tree keeps a hard link from an image as a second entry sharing the first one's data, and the
 * assembler points identical files of read-only bundles at one Content: files that share their
 * data and have the same mode and owner are one inode in the archives.
 * Returns the group of every path that has company; single files are not in the map.
 */
export function hardLinkGroups(entries: Iterable<[string, FsEntry]>): Map<string, LinkGroup> {
  const byData = new Map<Content, { entry: FsEntry; paths: string[] }[]>();
  for (const [path, e] of entries) {
    if (e.type !== 'file' || !e.content || e.content.size === 0) continue; // empty files need no sharing
    const groups = byData.get(e.content) ?? [];
    const same = groups.find((g) => g.entry.mode === e.mode && g.entry.uid === e.uid && g.entry.gid === e.gid);
    if (same) same.paths.push(path);
    else groups.push({ entry: e, paths: [path] });
    byData.set(e.content, groups);
  }
  const out = new Map<string, LinkGroup>();
  for (const groups of byData.values()) {
    for (const { paths } of groups) {
      if (paths.length < 2) continue;
      const group = { first: paths[0]!, last: paths[paths.length - 1]!, count: paths.length };
      for (const p of paths) out.set(p, group);
    }
  }
  return out;
}
