/**
 * Reading a .deb: an ar archive of debian-binary ("2.x"), control.tar.* and data.tar.*. We
 * stream data.tar.* through its decompressor into tar-stream, so a package is never held in
 * memory or unpacked to disk just to be read.
 */
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import { LkError } from '../../errors.js';
import { arMembers } from './ar.js';
import { compressionOf, decompress } from '../../archive/decompress.js';

export interface DebEntry {
  header: Header;
  /** Read it fully (or call resume()) before the next entry is produced. */
  stream: NodeJS.ReadableStream;
}

function badDeb(debPath: string, why: string): LkError {
  return new LkError('debian', `${debPath} is not a valid .deb: ${why}`, 'delete it from the cache and fetch it again');
}

/** The entries of the .deb's data.tar.{xz,zst,gz}, in archive order. */
export async function* debDataEntries(debPath: string): AsyncGenerator<DebEntry> {
  const file = createReadStream(debPath);
  try {
    let sawVersion = false;
    for await (const member of arMembers(file as AsyncIterable<Buffer>)) {
      if (member.name === 'debian-binary') {
        const chunks: Buffer[] = [];
        for await (const c of member.body) chunks.push(c);
        if (!/^2\.\d+\n?$/.test(Buffer.concat(chunks).toString('latin1'))) throw badDeb(debPath, 'unsupported format version');
        sawVersion = true;
        continue;
      }
      if (!member.name.startsWith('data.tar')) continue;
      if (!sawVersion) throw badDeb(debPath, 'debian-binary is not the first member');
      const compression = compressionOf(member.name);
      if (!compression) throw badDeb(debPath, `unsupported data member ${member.name}`);
      yield* tarEntries(decompress(Readable.from(member.body), compression, `${debPath}:${member.name}`));
      return;
    }
    throw badDeb(debPath, 'no data.tar member');
  } catch (e) {
    if (e instanceof LkError) throw e;
    throw badDeb(debPath, (e as Error).message);
  } finally {
    file.destroy();
  }
}

async function* tarEntries(tarStream: Readable): AsyncGenerator<DebEntry> {
  const extract = tar.extract();
  let failure: Error | undefined;
  pipeline(tarStream, extract, (err) => {
    if (err && err.name !== 'AbortError' && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') failure = err;
  });
  try {
    for await (const entry of extract) {
      // tar-stream entries are streamx Readables: they pipe and async-iterate like Node's.
      yield { header: entry.header, stream: entry as unknown as NodeJS.ReadableStream };
      entry.resume(); // drain whatever the consumer did not read
    }
  } finally {
    tarStream.destroy();
    extract.destroy();
  }
  if (failure) throw failure;
}
