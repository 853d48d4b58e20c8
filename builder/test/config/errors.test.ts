import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseBuildText } from '../../src/config/index.js';
import { schemaDigest } from '../../src/util/schema-validators.js';

/** The diagnostics of one build file's text, formatted as the CLI prints them. */
function problems(text: string): string[] {
  return parseBuildText('node.yml', text).diagnostics.map(formatDiagnostic);
}

const svc = (extra: string) => `services:\n  - name: web\n    image: nginx:1.25\n${extra}`;

/** [what, YAML text, exactly the diagnostics expected]. */
const cases: [string, string, string[]][] = [
  // YAML syntax
  [
    'a tab used as indentation',
    'services:\n  - name: a\n\timage: b\n',
    ['node.yml:3:1: YAML syntax error: Tabs are not allowed as indentation'],
  ],
  [
    'an unclosed flow sequence',
    'init: ["a", "b"\n',
    ['node.yml:2:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ],
  [
    'a repeated key',
    'init: [a]\ninit: [b]\n',
    ['node.yml:2:1: YAML syntax error: Map keys must be unique; each key may appear once in a mapping'],
  ],
  ['a key indented wrongly', svc('   env: [x]\n'), ['node.yml:4:1: YAML syntax error: Sequence item without - indicator']],
  [
    'two documents in one file',
    'init: [a]\n---\ninit: [b]\n',
    ['node.yml:2:1: YAML syntax error: a second document starts here; expected one document per build file (pass several files instead)'],
  ],
  ['an unclosed quote', 'kernel:\n  image: "abc\n', ['node.yml:3:1: YAML syntax error: Missing closing "quote']],

  [
    'flow collections nested too deep',
    `init: ${'['.repeat(1000)}${']'.repeat(1000)}\n`,
    ['node.yml:1:107: collections are nested more than 100 deep; expected a flatter document'],
  ],
  [
    'indentation nested too deep',
    `init:\n${Array.from({ length: 500 }, (_, i) => `${' '.repeat(i + 1)}-`).join('\n')}\n`,
    ['node.yml:402:1: a line is indented more than 400 spaces; expected a flatter document'],
  ],

  // wrong types
  ['the whole file is a list', '- a\n- b\n', ['node.yml:1:1: the top level: expected a mapping, got a list']],
  ['services is a mapping', 'services:\n  web: nginx\n', ['node.yml:2:3: services: expected a list, got a mapping']],
  ['an empty list item', 'init:\n  -\n', ['node.yml:2:4: init[0]: expected a string, got nothing']],
  [
    'readonly is a string',
    svc('    readonly: "yes"\n'),
    ['node.yml:4:15: services[0].readonly: expected a boolean (true or false), got "yes"'],
  ],
  [
    'command is a string',
    svc('    command: nginx -g daemon off\n'),
    ['node.yml:4:14: services[0].command: expected a list, got "nginx -g daemon off"'],
  ],
  ['oomScoreAdj is a string', svc('    oomScoreAdj: low\n'), ['node.yml:4:18: services[0].oomScoreAdj: expected an integer, got "low"']],
  ['uid is a boolean', svc('    uid: true\n'), ['node.yml:4:10: services[0].uid: expected a string or an integer, got the boolean true']],
  [
    'an env entry is a number',
    svc('    env:\n      - A=1\n      - 42\n'),
    ['node.yml:6:9: services[0].env[1]: expected a string, got the number 42'],
  ],
  [
    'kernel cmdline is a list',
    'kernel:\n  image: k\n  cmdline: [console=ttyS0]\n',
    ['node.yml:3:12: kernel.cmdline: expected a string, got a list'],
  ],

  // unknown and misspelled keys
  [
    'a misspelled section',
    'service:\n  - name: a\n    image: b\n',
    ['node.yml:1:1: unknown key "service" in the top level (did you mean "services"?)'],
  ],
  [
    'a misspelled kernel section',
    'kernal:\n  image: k\n',
    ['node.yml:1:1: unknown key "kernal" in the top level (did you mean "kernel"?)'],
  ],
  [
    'a misspelled image key',
    svc('    capabilites: [CAP_NET_ADMIN]\n'),
    ['node.yml:4:5: unknown key "capabilites" in services[0] (did you mean "capabilities"?)'],
  ],
  [
    'a misspelled kernel key',
    'kernel:\n  image: k\n  cmdlne: quiet\n',
    ['node.yml:3:3: unknown key "cmdlne" in kernel (did you mean "cmdline"?)'],
  ],
  [
    'a misspelled files key',
    'files:\n  - path: etc/motd\n    contens: hi\n',
    [
      'node.yml:2:5: files etc/motd: expected exactly one of contents, source or metadata (or directory: true, or symlink)',
      'node.yml:3:5: unknown key "contens" in files[0] (did you mean "contents"?)',
    ],
  ],
  [
    'a misspelled runtime key',
    svc('    runtime:\n      mkdirs: [/run/x]\n'),
    ['node.yml:5:7: unknown key "mkdirs" in services[0].runtime (did you mean "mkdir"?)'],
  ],
  [
    'a key in the wrong case',
    svc('    runtime:\n      bindNs:\n        net: /run/netns/x\n'),
    ['node.yml:5:7: unknown key "bindNs" in services[0].runtime (did you mean "bindNS"?)'],
  ],
  [
    'an unknown key with no near match',
    'kernel:\n  image: k\n  colour: blue\n',
    ['node.yml:3:3: unknown key "colour" in kernel (expected one of: image, cmdline, binary, tar, ucode)'],
  ],
  [
    'a runtime key on the container',
    svc('    mkdir: [/var/lib/web]\n'),
    ['node.yml:4:5: unknown key "mkdir" in services[0] ("mkdir" belongs under runtime:)'],
  ],
  [
    'a container key under runtime',
    svc('    runtime:\n      binds: [/a:/a]\n'),
    ['node.yml:5:7: unknown key "binds" in services[0].runtime ("binds" belongs to the container itself, not under runtime:)'],
  ],
  ['an image without image', 'services:\n  - name: web\n    env: [A=1]\n', ['node.yml:2:5: services[0]: missing required key "image"']],
  ['a file without path', 'files:\n  - contents: hi\n', ['node.yml:2:5: files[0]: missing required key "path"']],
  ['a uid beyond 32 bits', svc('    uid: 4294967295\n'), ['node.yml:4:10: uid: 4294967295 is above the largest id, 4294967294']],
  [
    'an additional gid below 0',
    svc('    additionalGids: [7, -2]\n'),
    ['node.yml:4:25: additionalGids: expected a non-negative id, got the number -2'],
  ],
  [
    'a file uid beyond 32 bits',
    'files:\n  - path: etc/x\n    contents: hi\n    uid: 4294967296\n',
    ['node.yml:4:10: files etc/x: uid: 4294967296 is above the largest id, 4294967294'],
  ],
  [
    'an interface without name',
    svc('    runtime:\n      interfaces:\n        - peer: veth0\n'),
    ['node.yml:6:11: runtime.interfaces[0]: missing required key "name"'],
  ],

  // capabilities
  [
    'a misspelled capability',
    svc('    capabilities: [CAP_NET_ADMN]\n'),
    [
      'node.yml:4:20: unknown capability "CAP_NET_ADMN"; expected a name like CAP_NET_ADMIN, or "all" or "none" (did you mean "CAP_NET_ADMIN"?)',
    ],
  ],
  [
    'a capability without CAP_',
    svc('    capabilities:\n      - CAP_CHOWN\n      - net_admin\n'),
    [
      'node.yml:6:9: unknown capability "net_admin"; expected a name like CAP_NET_ADMIN, or "all" or "none" (did you mean "CAP_NET_ADMIN"?)',
    ],
  ],
  [
    '"all" among other capabilities',
    svc('    capabilities: [CAP_CHOWN, all]\n'),
    ['node.yml:4:31: "all" must be the only entry of its list (remove the other entries or "all")'],
  ],
  [
    'a bad capability to add',
    svc('    capabilities.add: [CAP_SYS_ADMINN]\n'),
    [
      'node.yml:4:24: unknown capability "CAP_SYS_ADMINN"; expected a name like CAP_NET_ADMIN, or "all" or "none" (did you mean "CAP_SYS_ADMIN"?)',
    ],
  ],

  // rlimits
  [
    'an unknown rlimit',
    svc('    rlimits: ["nofle,1024,4096"]\n'),
    [
      'node.yml:4:15: unknown rlimit "nofle" in "nofle,1024,4096"; expected one of cpu, fsize, data, stack, core, rss, nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime (did you mean "nofile"?)',
    ],
  ],
  [
    'an rlimit without a hard limit',
    svc('    rlimits: ["nofile,1024"]\n'),
    [
      'node.yml:4:15: cannot parse rlimit "nofile,1024"; expected "name,soft,hard" such as "nofile,1024,4096" (values are numbers or "unlimited")',
    ],
  ],
  [
    'an rlimit with a word for a limit',
    svc('    rlimits: ["core,lots,unlimited"]\n'),
    ['node.yml:4:15: rlimit "core,lots,unlimited": "lots" is not a limit; expected a non-negative integer or "unlimited"'],
  ],
  [
    'an rlimit soft above hard',
    svc('    rlimits: ["nofile,4096,1024"]\n'),
    ['node.yml:4:15: rlimit "nofile,4096,1024": the soft limit is above the hard limit; expected soft <= hard'],
  ],

  // modes
  [
    'a mode with a non-octal digit',
    'files:\n  - path: etc/x\n    contents: x\n    mode: "0999"\n',
    ['node.yml:4:11: files etc/x: mode "0999" is not an octal permission mode; expected something like "0644" (at most 07777)'],
  ],
  [
    'a symbolic mode',
    'files:\n  - path: etc/x\n    contents: x\n    mode: rw-r--r--\n',
    ['node.yml:4:11: files etc/x: mode "rw-r--r--" is not an octal permission mode; expected something like "0644" (at most 07777)'],
  ],
  [
    'an unquoted mode that is too big',
    'files:\n  - path: etc/x\n    contents: x\n    mode: 17777\n',
    ['node.yml:4:11: files etc/x: mode "17777" is not an octal permission mode; expected something like "0644" (at most 07777)'],
  ],
  [
    'a device mode with a bad digit',
    svc('    devices:\n      - path: /dev/console\n        type: c\n        major: 5\n        minor: 1\n        mode: "0868"\n'),
    ['node.yml:9:15: mode "0868" is not an octal permission mode; expected something like "0644" (at most 07777)'],
  ],

  // conflicting files fields
  [
    'contents and source together',
    'files:\n  - path: etc/x\n    contents: x\n    source: x.txt\n',
    ['node.yml:4:5: files etc/x: "source" conflicts with "contents"; expected exactly one of contents, source or metadata'],
  ],
  [
    'a directory with contents',
    'files:\n  - path: etc/x\n    directory: true\n    contents: hi\n',
    ['node.yml:4:5: files etc/x: "contents" conflicts with "directory: true"; a directory has no contents'],
  ],
  [
    'a symlink with contents',
    'files:\n  - path: etc/x\n    symlink: /etc/y\n    contents: hi\n',
    ['node.yml:4:5: files etc/x: "contents" conflicts with "symlink"; expected only one of symlink, contents, source, metadata'],
  ],
  [
    'a file with nothing in it',
    'files:\n  - path: etc/x\n    mode: "0644"\n',
    ['node.yml:2:5: files etc/x: expected exactly one of contents, source or metadata (or directory: true, or symlink)'],
  ],
  [
    'an unknown metadata format',
    'files:\n  - path: etc/x\n    metadata: yml\n',
    ['node.yml:3:15: files etc/x: metadata "yml" is not a format; expected "yaml" or "json" (did you mean "yaml"?)'],
  ],
  [
    'a file path that climbs out',
    'files:\n  - path: ../etc/x\n    contents: x\n',
    ['node.yml:2:11: files: path "../etc/x" contains ".."; expected a path inside the image'],
  ],

  // other semantics
  [
    'an @pkg template misspelled',
    svc('').replace('nginx:1.25', '"@pkgs:./x"'),
    ['node.yml:3:12: unknown template "@pkgs:./x"; expected "@pkg:<directory>" or an image reference (did you mean "@pkg:./x"?)'],
  ],
  [
    'an image name with capitals',
    svc('').replace('nginx:1.25', 'Linuxkit/Getty:v1'),
    [
      'node.yml:3:12: invalid image reference "Linuxkit/Getty:v1": "Linuxkit" is not a valid name component (lowercase letters, digits and separators) (expected [registry[:port]/]name[:tag][@sha256:digest])',
    ],
  ],
  [
    'an image with a bad tag',
    'init:\n  - linuxkit/init:-v1\n',
    [
      'node.yml:2:5: invalid image reference "linuxkit/init:-v1": "-v1" is not a valid tag (expected [registry[:port]/]name[:tag][@sha256:digest])',
    ],
  ],
  [
    'an unknown network namespace',
    svc('    net: bridge\n'),
    ['node.yml:4:10: net: "bridge" is not a namespace; expected "host", "root", "new", "none" or an absolute path to a namespace file'],
  ],
  [
    'a pid namespace of another container',
    svc('    pid: container:db\n'),
    ['node.yml:4:10: pid: "container:db" is not a namespace; expected "host", "root", "new" or an absolute path to a namespace file'],
  ],
  [
    'a bind without a destination',
    svc('    binds: ["/var"]\n'),
    ['node.yml:4:13: cannot parse bind "/var"; expected "source:destination" or "source:destination:options"'],
  ],
  [
    'a bind to a relative destination',
    svc('    binds.add: ["/var:var"]\n'),
    ['node.yml:4:17: bind "/var:var": destination "var" is not an absolute path'],
  ],
  [
    'a misspelled bind option',
    svc('    binds:\n      - /x:/y:rw,nosiud\n'),
    ['node.yml:5:9: unknown mount option "nosiud" in "/x:/y:rw,nosiud" (did you mean "nosuid"?)'],
  ],
  [
    'a tmpfs at a relative path',
    svc('    tmpfs: ["run:size=1m"]\n'),
    ['node.yml:4:13: tmpfs "run:size=1m": destination "run" is not an absolute path'],
  ],
  [
    'a mount without a type',
    svc('    mounts:\n      - destination: /data\n        source: /var/data\n'),
    ['node.yml:5:9: mount for /data has no type; expected a type such as bind, tmpfs or proc'],
  ],
  [
    'an unknown restart policy',
    svc('    restart: sometimes\n'),
    ['node.yml:4:14: services[0].restart: expected one of always, on-failure, never, got "sometimes"'],
  ],
  [
    'depends in onboot',
    'onboot:\n  - name: a\n    image: b\n    depends: [c]\n',
    ['node.yml:4:5: depends is only valid for services, not in onboot (move the entry to services or remove depends)'],
  ],
  [
    'a name with a space',
    'onboot:\n  - name: "my step"\n    image: b\n',
    [
      "node.yml:2:11: name \"my step\" is not usable as a container name; expected letters, digits, '_', '.' or '-', starting with a letter or digit",
    ],
  ],
  [
    'a misspelled propagation',
    svc('    rootfsPropagation: share\n'),
    [
      'node.yml:4:24: services[0].rootfsPropagation: expected one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable, got "share" (did you mean "shared"?)',
    ],
  ],
  [
    'an oomScoreAdj out of range',
    svc('    oomScoreAdj: 5000\n'),
    ['node.yml:4:18: services[0].oomScoreAdj: expected a number <= 1000, got the number 5000'],
  ],
  ['a relative cwd', svc('    cwd: srv\n'), ['node.yml:4:10: cwd "srv" is not an absolute path']],
  [
    'a device at a relative path',
    svc('    devices:\n      - path: dev/fuse\n        type: c\n        major: 10\n        minor: 229\n'),
    ['node.yml:5:15: device path "dev/fuse" is not an absolute path or "all"'],
  ],
  [
    'a volume with an unknown format',
    'volumes:\n  - name: v\n    format: ext4\n',
    ['node.yml:3:13: volumes[0].format: expected one of oci, filesystem, got "ext4"'],
  ],
];

describe('bad build files are reported at file:line:column', () => {
  it('covers at least forty bad inputs', () => expect(cases.length).toBeGreaterThanOrEqual(40));
  for (const [what, text, expected] of cases) {
    it(what, () => expect(problems(text)).toEqual(expected));
  }
});

// `npm run build` writes ajv's standalone validators into dist (scripts/compile-schemas.mjs); the
// built CLI uses them, and must report every case above exactly as the schema compiled here does.
describe('the precompiled validators of the built code report the same', async () => {
  const dist = new URL('../../dist/config/', import.meta.url);
  const generated = readFileSync(new URL('schema.validate.cjs', dist), 'utf8');
  const built = (await import(new URL('index.js', dist).href)) as typeof import('../../src/config/index.js');
  it('were generated from the schema as it is now', () => {
    const digest = schemaDigest(readFileSync(new URL('../../src/config/schema.json', import.meta.url), 'utf8'));
    expect(generated).toContain(`exports.digest = "${digest}";`);
  });
  for (const [what, text, expected] of cases) {
    it(what, () => expect(built.parseBuildText('node.yml', text).diagnostics.map(built.formatDiagnostic)).toEqual(expected));
  }
});

describe('several problems are reported at once', () => {
  it('reports every problem of a file, in source order', () => {
    const text = [
      'kernel:',
      '  image: k',
      '  cmdlne: x',
      'services:',
      '  - name: a',
      '    image: b',
      '    capabilities: [CAP_NET_ADMN]',
      '    readonly: "no"',
      '  - image: c',
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      'node.yml:3:3: unknown key "cmdlne" in kernel (did you mean "cmdline"?)',
      'node.yml:7:20: unknown capability "CAP_NET_ADMN"; expected a name like CAP_NET_ADMIN, or "all" or "none" (did you mean "CAP_NET_ADMIN"?)',
      'node.yml:8:15: services[0].readonly: expected a boolean (true or false), got "no"',
      'node.yml:9:5: services[1]: missing required key "name"',
    ]);
  });
});

describe('nesting limits', () => {
  it('reports the first collection that nests too deep, in source order', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    // Quotes hide brackets from a naive count; the parser's tokens know them.
    const text = `init: ["]"]\nonboot: ${deep(50)}\nservices: [${deep(101)}, ${deep(120)}]\nfiles: ${deep(200)}\n`;
    expect(problems(text)).toEqual(['node.yml:3:111: collections are nested more than 100 deep; expected a flatter document']);
  });

  it('refuses a file whose quoted brackets hide the real nesting from a naive count', () => {
    const text = `init: ${'[ "]" '.repeat(150)}\n`;
    expect(problems(text)).toEqual([`node.yml:1:${7 + 100 * 6}: collections are nested more than 100 deep; expected a flatter document`]);
  });

  it('stops early on a hostile multi-megabyte file', () => {
    const start = performance.now();
    expect(problems(`init: ${'['.repeat(1_500_000)}${']'.repeat(1_500_000)}\n`)).toEqual([
      'node.yml:1:107: collections are nested more than 100 deep; expected a flatter document',
    ]);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
