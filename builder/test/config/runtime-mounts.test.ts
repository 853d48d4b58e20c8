// runtime.mounts as LinuxKit has them: a relative destination means "inside the container's
// rootfs" (the init resolves it, init/src/mountopts.ts); it may not leave the rootfs.
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseBuildText } from '../../src/config/index.js';
import { bundleConfig } from '../../src/config/runtime-config.js';

const file = (destination: string, where = 'runtime:\n      mounts') =>
  `services:\n  - name: web\n    image: nginx:1.25\n    ${where}:\n        - {type: overlay, source: overlay, destination: ${destination}, options: [lowerdir=/etc, upperdir=/run/o/up, workdir=/run/o/work]}\n`;
const problems = (text: string) => parseBuildText('node.yml', text).diagnostics.map(formatDiagnostic);

describe('runtime.mounts destinations', () => {
  it('accepts a relative destination and passes it on unchanged', () => {
    expect(problems(file('etc'))).toEqual([]);
    const mount = {
      type: 'overlay',
      source: 'overlay',
      destination: 'etc',
      options: ['lowerdir=/etc', 'upperdir=/run/o/up', 'workdir=/run/o/work'],
    };
    const rt = bundleConfig({ name: 'web', image: 'nginx:1.25', runtime: { mounts: [mount] } }, {}, 'service').runtime;
    expect(rt.mounts).toEqual([mount]);
  });

  it('refuses a relative destination that leaves the rootfs, with file:line:column', () => {
    expect(problems(file('etc/../../x')).join('\n')).toMatch(
      /^node\.yml:6:11: runtime mount destination "etc\/\.\.\/\.\.\/x" leaves the container's rootfs/,
    );
  });

  it("a container's own mounts still need an absolute destination", () => {
    expect(problems(file('etc', 'mounts')).join('\n')).toMatch(/mount destination "etc" is not an absolute path/);
  });
});
