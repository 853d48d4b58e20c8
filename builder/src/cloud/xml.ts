/**
 * Just enough XML for the EC2 query API's answers: the text of elements by name. No DTDs, no
 * entity definitions (a document that declares any is refused), only the five predefined
 * entities and character references are decoded; answers are size-capped by the caller.
 */
import { LkError } from '../errors.js';

function decode(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}

function checked(xml: string): string {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw new LkError(
      'cloud',
      'the EC2 answer declares a DTD or entities, which lkbuild refuses',
      'check the endpoint: it does not answer like EC2',
    );
  return xml;
}

/** The decoded text of every <name>…</name> that holds text only, in document order. */
export function xmlTexts(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}>([^<]*)</${name}>`, 'g');
  return [...checked(xml).matchAll(re)].map((m) => decode(m[1]));
}

export function xmlText(xml: string, name: string): string | undefined {
  return xmlTexts(xml, name)[0];
}
