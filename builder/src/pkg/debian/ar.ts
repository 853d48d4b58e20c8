/**
 * Streaming reader for the Unix `ar` archive format that .deb files use: the magic "!<arch>\n",
 * then members, each a 60-byte ASCII header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10,
 * "`\n") followed by `size` bytes of data and one padding byte when size is odd.
 */

const MAGIC = '!<arch>\n';
const HEADER_SIZE = 60;

export interface ArMember {
  name: string;
  size: number;
  /** The member's bytes. Read it fully, or not at all, before asking for the next member. */
  body: AsyncIterable<Buffer>;
}

export class ArFormatError extends Error {}

/** Pulls exact byte counts out of an async stream of chunks. */
class ChunkReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** Take up to `max` bytes from what is buffered (pulling one chunk if nothing is). */
  private async takeSome(max: number): Promise<Buffer | undefined> {
    await this.fill(1);
    const head = this.chunks[0];
    if (!head) return undefined;
    if (head.length <= max) {
      this.chunks.shift();
      this.buffered -= head.length;
      return head;
    }
    this.chunks[0] = head.subarray(max);
    this.buffered -= max;
    return head.subarray(0, max);
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Yield the next n bytes as they arrive; `onProgress` learns how many are consumed. */
  async *stream(n: number, onProgress: (bytes: number) => void): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const chunk = await this.takeSome(left);
      if (!chunk) throw new ArFormatError(`ar member truncated: ${left} of ${n} bytes missing`);
      left -= chunk.length;
      onProgress(chunk.length);
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const chunk = await this.takeSome(left);
      if (!chunk) throw new ArFormatError(`ar archive truncated: ${left} bytes missing`);
      left -= chunk.length;
    }
  }

  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.buffered === 0;
  }
}

export function parseArHeader(header: Buffer): { name: string; size: number } {
  if (header.length !== HEADER_SIZE || header[58] !== 0x60 || header[59] !== 0x0a) {
    throw new ArFormatError('bad ar member header');
  }
  // GNU ar ends names with '/'; dpkg pads them with spaces.
  const name = header.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
  const sizeText = header.toString('latin1', 48, 58).trim();
  if (!/^\d+$/.test(sizeText)) throw new ArFormatError(`bad ar member size ${JSON.stringify(sizeText)}`);
  return { name, size: Number(sizeText) };
}

/** Iterate the members of an ar archive, streaming each body. */
export async function* arMembers(source: AsyncIterable<Buffer>): AsyncGenerator<ArMember> {
  const reader = new ChunkReader(source);
  const magic = await reader.read(MAGIC.length);
  if (magic.toString('latin1') !== MAGIC) throw new ArFormatError('not an ar archive (bad magic)');
  while (!(await reader.atEnd())) {
    const { name, size } = parseArHeader(await reader.read(HEADER_SIZE));
    let consumed = 0;
    yield { name, size, body: reader.stream(size, (n) => (consumed += n)) };
    // Skip whatever the consumer left unread, then the padding byte (tolerated missing at the end).
    await reader.skip(size - consumed);
    if (size % 2 === 1 && !(await reader.atEnd())) await reader.skip(1);
  }
}
