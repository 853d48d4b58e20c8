import { Readable } from 'node:stream';
import tar from 'tar-stream';

/** One entry of a test tar: a file unless `type` says otherwise. */
export type TarItem = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'block-device' | 'character-device';
  body?: string;
  linkname?: string;
  mode?: number;
  devmajor?: number;
  devminor?: number;
};

/** A tar of `items`, in order, as bytes. */
export async function tarBytes(items: TarItem[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(items)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A tar of `items`, in order, as a stream (what a decompressed layer is). */
export function tarStream(items: TarItem[]): Readable {
  const pack = tar.pack();
  for (const it of items) {
    const { body, type, mode, ...rest } = it;
    pack.entry({ ...rest, type: type ?? 'file', mode: mode ?? 0o644 }, body ?? '');
  }
  pack.finalize();
  return Readable.from(pack as AsyncIterable<Buffer>);
}
