/**
 * AWS Signature Version 4 for header-signed requests, as AWS's signing documentation specifies
 * it: canonical request -> string to sign -> HMAC chain -> Authorization header. Pure functions;
 * the caller supplies the clock. Paths are signed as given (no dot-segment normalisation: the
 * services lkbuild calls are not S3 and their paths are plain).
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  url: URL;
  /** Header names in any case; a repeated header is given as an array, in order. */
  headers: Record<string, string | string[]>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD where the service allows it. */
  payloadHash: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  date: Date;
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 encoding with AWS's unreserved set (A-Z a-z 0-9 - _ . ~). */
export function awsUriEncode(s: string, keepSlash = false): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** 20150830T123600Z */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** From the raw query: URLSearchParams would read '+' as a space, which the wire does not. */
function canonicalQuery(url: URL): string {
  const raw = url.search.replace(/^\?/, '');
  const pairs = (raw ? raw.split('&') : []).map((p) => {
    const eq = p.indexOf('=');
    const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
    return [awsUriEncode(decodeURIComponent(k)), awsUriEncode(decodeURIComponent(v))];
  });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Lower-case names, sorted; repeated values joined by commas; runs of spaces folded. */
function canonicalHeaders(headers: SignInput['headers']): { text: string; signed: string } {
  const merged = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    const values = (Array.isArray(value) ? value : [value]).map((v) => v.trim().replace(/ +/g, ' '));
    merged.set(key, [...(merged.get(key) ?? []), ...values]);
  }
  const names = [...merged.keys()].sort();
  return { text: names.map((n) => `${n}:${merged.get(n)!.join(',')}\n`).join(''), signed: names.join(';') };
}

export function canonicalRequest(input: Pick<SignInput, 'method' | 'url' | 'headers' | 'payloadHash'>): {
  text: string;
  signedHeaders: string;
} {
  // The path is already percent-encoded in a URL; decode and re-encode to AWS's set.
  const path = awsUriEncode(decodeURIComponent(input.url.pathname || '/'), true);
  const { text, signed } = canonicalHeaders(input.headers);
  return {
    text: [input.method.toUpperCase(), path, canonicalQuery(input.url), text, signed, input.payloadHash].join('\n'),
    signedHeaders: signed,
  };
}

export function credentialScope(date: Date, region: string, service: string): string {
  return `${amzDate(date).slice(0, 8)}/${region}/${service}/aws4_request`;
}

export function stringToSign(date: Date, scope: string, canonical: string): string {
  return ['AWS4-HMAC-SHA256', amzDate(date), scope, sha256Hex(canonical)].join('\n');
}

function signingKey(secret: string, date: Date, region: string, service: string): Buffer {
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, amzDate(date).slice(0, 8)), region), service), 'aws4_request');
}

/**
 * The Authorization header for `input`, whose headers must already hold everything to be
 * signed (host, x-amz-date, x-amz-security-token when there is a session token).
 */
export function authorization(input: SignInput): string {
  const { text, signedHeaders } = canonicalRequest(input);
  const scope = credentialScope(input.date, input.region, input.service);
  const signature = createHmac('sha256', signingKey(input.credentials.secretAccessKey, input.date, input.region, input.service))
    .update(stringToSign(input.date, scope, text))
    .digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/**
 * The headers to send: the caller's plus host, x-amz-date, x-amz-content-sha256 (when asked),
 * x-amz-security-token and Authorization.
 */
export function signedHeaders(input: Omit<SignInput, 'headers'> & { headers?: Record<string, string> }): Record<string, string> {
  const headers: Record<string, string> = { ...input.headers, host: input.url.host, 'x-amz-date': amzDate(input.date) };
  if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken;
  return { ...headers, authorization: authorization({ ...input, headers }) };
}
