/**
 * A whole stream in memory, for small things only (manifests, tokens, InRelease, archive
 * metadata): more than `maxBytes` stops reading and throws what `tooLarge` makes (leaving the
 * loop destroys the stream).
 */
export async function readLimited(body: AsyncIterable<unknown>, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw tooLarge();
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
