import { describe, expect, it } from 'vitest';
import { bundleName, parseRuntime } from '../src/runtime.js';

describe('parseRuntime', () => {
  it('reads restart, depends, mkdir and cgroups', () => {
    const { spec, problems } = parseRuntime(
      JSON.stringify({ restart: 'on-failure', depends: ['db'], mkdir: ['/var/lib/x'], cgroups: ['systemreserved'], interfaces: [] }),
      'always',
    );
    expect(problems).toEqual([]);
    expect(spec).toEqual({ restart: 'on-failure', depends: ['db'], mkdir: ['/var/lib/x'], cgroups: ['systemreserved'], mounts: [] });
  });

  it('uses defaults for a missing or empty file', () => {
    expect(parseRuntime(null, 'always').spec).toEqual({ restart: 'always', depends: [], mkdir: [], cgroups: [], mounts: [] });
    expect(parseRuntime('  ', 'never').spec.restart).toBe('never');
  });

  it('reports invalid fields and keeps defaults', () => {
    const { spec, problems } = parseRuntime('{"restart":"sometimes","depends":"db"}', 'always');
    expect(spec.restart).toBe('always');
    expect(spec.depends).toEqual([]);
    expect(problems).toEqual(['restart must be one of always, on-failure, never', 'depends must be a list of strings']);
  });

  it('keeps mount objects and rejects other values', () => {
    const m = { type: 'bind', source: '/a', destination: '/b' };
    expect(parseRuntime(JSON.stringify({ mounts: [m] }), 'always').spec.mounts).toEqual([m]);
    expect(parseRuntime('{"mounts":["/a"]}', 'always').problems).toEqual(['mounts must be a list of mount objects']);
  });

  it('reports broken JSON', () => {
    const { problems } = parseRuntime('{', 'always');
    expect(problems[0]).toMatch(/^runtime.json is not valid JSON/);
  });
});

describe('bundleName', () => {
  it('strips the ordering prefix', () => {
    expect(bundleName('000-hello')).toBe('hello');
    expect(bundleName('012-rng-tools')).toBe('rng-tools');
    expect(bundleName('sshd')).toBe('sshd');
  });
});
