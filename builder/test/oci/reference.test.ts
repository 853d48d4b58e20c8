import { describe, expect, test } from 'vitest';
import { normalizeReference, parseReference } from '../../src/oci/reference.js';

describe('image references, parsed as Docker does', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['linuxkit/init:v1.0', 'docker.io/linuxkit/init:v1.0'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/team/app:1', 'localhost:5000/team/app:1'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['ghcr.io/org/img@sha256:' + 'a'.repeat(64), 'ghcr.io/org/img@sha256:' + 'a'.repeat(64)],
    ['ghcr.io/org/img:v1@sha256:' + 'b'.repeat(64), 'ghcr.io/org/img:v1@sha256:' + 'b'.repeat(64)],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeReference(input)).toBe(expected);
  });

  test('a registry is only a first component with a dot, a colon or localhost', () => {
    expect(parseReference('team/app').registry).toBe('docker.io');
    expect(parseReference('registry.example:443/app').registry).toBe('registry.example:443');
  });

  test.each([
    ['', /empty/],
    ['Alpine', /not a valid name component/],
    ['alpine:', /not a valid tag/],
    ['alpine@sha256:xyz', /not a digest/],
    ['a//b', /not a valid name component/],
  ])('rejects %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });
});
