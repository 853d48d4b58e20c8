// SigV4 against AWS's published test suite (test data in sigv4-vectors/, source named there):
// the canonical request, the string to sign and the Authorization header of every case.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { authorization, canonicalRequest, credentialScope, EMPTY_SHA256, signedHeaders, stringToSign } from '../../src/cloud/sigv4.js';

interface Suite {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  service: string;
  date: string;
  vectors: { name: string; req: string; creq: string; sts: string; authz: string }[];
}
const suite = JSON.parse(readFileSync(join(import.meta.dirname, 'sigv4-vectors/vectors.json'), 'utf8')) as Suite;
const date = new Date(suite.date);

/** The suite's .req file: request line, then Name:value headers (a name may repeat). */
function parseReq(req: string) {
  const [requestLine, ...lines] = req.split('\n');
  const [method, target] = requestLine.split(' ');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    (headers[line.slice(0, i)] ??= []).push(line.slice(i + 1));
  }
  return { method, url: new URL(`https://${headers.Host[0]}${target}`), headers };
}

describe('AWS Signature Version 4 test suite', () => {
  test('has the cases the README names', () => expect(suite.vectors.length).toBe(15));
  test.each(suite.vectors)('$name', (v) => {
    const req = parseReq(v.req);
    const input = { ...req, payloadHash: EMPTY_SHA256, region: suite.region, service: suite.service, credentials: suite.credentials, date };
    const { text } = canonicalRequest(input);
    expect(text).toBe(v.creq);
    expect(stringToSign(date, credentialScope(date, suite.region, suite.service), text)).toBe(v.sts);
    expect(authorization(input)).toBe(v.authz);
  });
});

test('signedHeaders adds host, x-amz-date and the session token, and signs them', () => {
  const url = new URL('https://example.amazonaws.com/');
  const credentials = { ...suite.credentials, sessionToken: 'TOKEN' };
  const h = signedHeaders({
    method: 'POST',
    url,
    payloadHash: EMPTY_SHA256,
    region: suite.region,
    service: suite.service,
    credentials,
    date,
  });
  expect(h.host).toBe('example.amazonaws.com');
  expect(h['x-amz-date']).toBe('20150830T123600Z');
  expect(h['x-amz-security-token']).toBe('TOKEN');
  expect(h.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  // Without the token, the suite's post-vanilla signature.
  const plain = signedHeaders({
    method: 'POST',
    url,
    payloadHash: EMPTY_SHA256,
    region: suite.region,
    service: suite.service,
    credentials: suite.credentials,
    date,
  });
  expect(plain.authorization).toBe(suite.vectors.find((v) => v.name === 'post-vanilla')!.authz);
});

test("a '+' in the query is a plus sign, as sent, not a space", () => {
  const url = new URL('https://example.amazonaws.com/?a=b+c&d=e%20f');
  const { text } = canonicalRequest({ method: 'GET', url, headers: { host: url.host }, payloadHash: EMPTY_SHA256 });
  expect(text.split('\n')[2]).toBe('a=b%2Bc&d=e%20f');
});
