// Licences from Debian copyright files, checked on hand-written cases and on every copyright
// file of this Debian host, each result parsed by spdx-expression-parse (the SPDX licence list's
// own parser from npm): a result it refuses would make the SBOM invalid.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import parseSpdx from 'spdx-expression-parse';
import { describe, expect, test } from 'vitest';
import { licenseFromCopyright, licenseRefs, spdxLicenseId } from '../../src/trust/debian-license.js';

describe('spdxLicenseId', () => {
  test.each([
    ['GPL-2', 'GPL-2.0-only'],
    ['GPL-2+', 'GPL-2.0-or-later'],
    ['LGPL-2.1+', 'LGPL-2.1-or-later'],
    ['AGPL-3', 'AGPL-3.0-only'],
    ['GFDL-1.2', 'GFDL-1.2-only'],
    ['Expat', 'MIT'],
    ['BSD-3-clause', 'BSD-3-Clause'],
    ['Apache-2.0', 'Apache-2.0'],
    ['Zlib', 'Zlib'],
    ['public-domain', 'LicenseRef-Debian-public-domain'],
    ['GPL-3+ with Bison exception', 'LicenseRef-Debian-GPL-3-or-later-with-Bison-exception'],
  ])('%s -> %s', (debian, spdx) => {
    expect(spdxLicenseId(debian)).toBe(spdx);
  });
});

describe('licenseFromCopyright', () => {
  test('DEP-5: every Files stanza, once each, OR groups kept', () => {
    const text = [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: demo',
      '',
      'Files: *',
      'Copyright: 2020 A',
      'License: GPL-2+',
      '',
      'Files: lib/*',
      'Copyright: 2021 B',
      'License: BSD-3-clause or Expat',
      '',
      'Files: debian/*',
      'License: GPL-2+',
      '',
      'License: GPL-2+',
      ' On Debian systems, see /usr/share/common-licenses/GPL-2.',
    ].join('\n');
    expect(licenseFromCopyright(text)).toBe('(BSD-3-Clause OR MIT) AND GPL-2.0-or-later');
  });

  test('free-form: the common-licenses it points at', () => {
    const text =
      "This package is free software; version 2 dated June, 1991.\n\nOn Debian GNU/Linux systems, the complete text of the GNU General\nPublic License can be found in `/usr/share/common-licenses/GPL-2'.\n";
    expect(licenseFromCopyright(text)).toBe('GPL-2.0-only');
  });

  test('nothing recognisable: NOASSERTION', () => {
    expect(licenseFromCopyright('Copyright 2000 Someone. All rights reserved.\n')).toBe('NOASSERTION');
  });

  test("this host's busybox-static: GPL-2.0-only", async () => {
    expect(licenseFromCopyright(await readFile('/usr/share/doc/busybox-static/copyright', 'utf8'))).toBe('GPL-2.0-only');
  });

  test('every copyright file on this host gives an expression spdx-expression-parse accepts', async () => {
    const docs = '/usr/share/doc';
    let read = 0;
    let asserted = 0;
    for (const name of (await readdir(docs)).sort()) {
      const text = await readFile(join(docs, name, 'copyright'), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      read++;
      const expression = licenseFromCopyright(text);
      if (expression === 'NOASSERTION') continue;
      asserted++;
      expect(() => parseSpdx(expression), `${name}: ${expression}`).not.toThrow();
      for (const ref of licenseRefs(expression)) expect(ref).toMatch(/^LicenseRef-[A-Za-z0-9.-]+$/);
    }
    console.log(`copyright files: ${read} read, ${asserted} with a licence`);
    expect(read).toBeGreaterThan(100);
    expect(asserted / read).toBeGreaterThan(0.8);
  });
});
