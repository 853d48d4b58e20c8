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
export function debDataEntries(debPath: string): AsyncGenerator<DebEntry> {
  return debTarEntries(debPath, 'data');
}

/** The package's control file (./control in control.tar.*): its name, version, Source, ... as one deb822 stanza. */
export async function debControl(debPath: string): Promise<string> {
  for await (const entry of debTarEntries(debPath, 'control')) {
    if (entry.header.name.replace(/^\.\//, '') !== 'control') continue;
    const chunks: Buffer[] = [];
    for await (const c of entry.stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  throw badDeb(debPath, 'no control file in control.tar');
}

/** The entries of the .deb's control.tar.* or data.tar.* member. */
async function* debTarEntries(debPath: string, member: 'control' | 'data'): AsyncGenerator<DebEntry> {
  const file = createReadStream(debPath);
  try {
    let sawVersion = false;
    for await (const m of arMembers(file as AsyncIterable<Buffer>)) {
      if (m.name === 'debian-binary') {
        const chunks: Buffer[] = [];
        for await (const c of m.body) chunks.push(c);
        if (!/^2\.\d+\n?$/.test(Buffer.concat(chunks).toString('latin1'))) throw badDeb(debPath, 'unsupported format version');
        sawVersion = true;
        continue;
      }
      if (!m.name.startsWith(`${member}.tar`)) continue;
      if (!sawVersion) throw badDeb(debPath, 'debian-binary is not the first member');
      const compression = compressionOf(m.name);
      if (!compression) throw badDeb(debPath, `unsupported ${member} member ${m.name}`);
      yield* tarEntries(decompress(Readable.from(m.body), compression, `${debPath}:${m.name}`));
      return;
    }
    throw badDeb(debPath, `no ${member}.tar member`);
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
