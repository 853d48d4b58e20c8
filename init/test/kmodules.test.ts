import { describe, expect, it } from 'vitest';
import {
  aliasBuses,
  globMatch,
  moduleName,
  modulesForAliases,
  nameOfPath,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseModulesList,
  parseModulesOption,
  parseProcModules,
  planLoads,
  type ModuleIndex,
} from '../src/kmodules.js';

// Shaped like depmod's output for this kernel (plus made-up modules with dependencies).
const DEP = `kernel/drivers/net/dummy.ko:
kernel/drivers/net/ethernet/intel/e1000/e1000.ko:
kernel/net/netfilter/nf-foo.ko: kernel/net/netfilter/nf_core.ko
kernel/net/netfilter/nf_core.ko:
kernel/fs/top.ko: kernel/fs/mid.ko kernel/fs/base.ko
kernel/fs/mid.ko: kernel/fs/base.ko
kernel/fs/base.ko:
kernel/misc/zipped.ko.xz:
`;

const ALIAS = `# Aliases extracted from modules themselves.
alias pci:v00008086d00001000sv*sd*bc*sc*i* e1000
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
alias rtnl-link-dummy dummy
alias usb:v05ACp021[0-9]d*dc*dsc*dp*ic*isc*ip*in* top
alias fs-basefs base
`;

const BUILTIN = `kernel/drivers/net/virtio_net.ko
kernel/drivers/net/ethernet/amazon/ena/ena.ko
`;

function index(): ModuleIndex {
  return { dep: parseModulesDep(DEP), aliases: parseModulesAlias(ALIAS), builtin: parseModulesBuiltin(BUILTIN) };
}

describe('module names', () => {
  it('treats - and _ alike and strips the directory and .ko suffixes', () => {
    expect(moduleName('nf-foo')).toBe('nf_foo');
    expect(nameOfPath('kernel/net/netfilter/nf-foo.ko')).toBe('nf_foo');
    expect(nameOfPath('kernel/misc/zipped.ko.xz')).toBe('zipped');
    expect(nameOfPath('e1000.ko')).toBe('e1000');
  });
});

describe('parsers', () => {
  it('reads modules.dep into paths and dependency names', () => {
    const dep = parseModulesDep(DEP);
    expect(dep.get('e1000')).toEqual({ path: 'kernel/drivers/net/ethernet/intel/e1000/e1000.ko', deps: [] });
    expect(dep.get('top')).toEqual({ path: 'kernel/fs/top.ko', deps: ['mid', 'base'] });
    expect(dep.get('nf_foo')?.deps).toEqual(['nf_core']);
    expect(dep.size).toBe(8);
  });

  it('reads modules.alias, skipping comments', () => {
    const aliases = parseModulesAlias(ALIAS);
    expect(aliases).toHaveLength(5);
    expect(aliases[0]).toEqual({ pattern: 'pci:v00008086d00001000sv*sd*bc*sc*i*', module: 'e1000', bus: 'pci' });
    expect(aliases.map((a) => [a.module, a.bus])).toEqual([
      ['e1000', 'pci'],
      ['e1000', 'pci'],
      ['dummy', null],
      ['top', 'usb'],
      ['base', null],
    ]);
  });

  it('reads modules.alias lines with other whitespace as words, and skips malformed ones', () => {
    const aliases = parseModulesAlias(
      [
        'alias\tpci:v1* tabbed',
        'alias  usb:v2*   spaced  ',
        'alias acpi*:X:* crlf\r',
        'alias one-field',
        'alias a b c',
        'nosuch x y',
        '',
      ].join('\n'),
    );
    expect(aliases.map((a) => [a.pattern, a.module, a.bus])).toEqual([
      ['pci:v1*', 'tabbed', 'pci'],
      ['usb:v2*', 'spaced', 'usb'],
      ['acpi*:X:*', 'crlf', null],
    ]);
  });

  it('reads modules-load.d lists with # and ; comments', () => {
    expect(parseModulesList('# comment\ndummy\n\n  ; other comment\n e1000  \nbr_netfilter extra words\n')).toEqual([
      'dummy',
      'e1000',
      'br_netfilter',
    ]);
  });

  it('reads lk.modules=a,b', () => {
    expect(parseModulesOption('dummy,e1000,')).toEqual(['dummy', 'e1000']);
    expect(parseModulesOption(undefined)).toEqual([]);
    expect(parseModulesOption('')).toEqual([]);
  });

  it('reads the names in /proc/modules', () => {
    const text = 'e1000 155648 0 - Live 0x0000000000000000\nnf-foo 16384 1 nf_core, Live 0x0\n';
    expect([...parseProcModules(text)]).toEqual(['e1000', 'nf_foo']);
  });
});

describe('globMatch (fnmatch as modules.alias uses it)', () => {
  it('matches * and ?', () => {
    expect(globMatch('pci:v00008086d00001000sv*sd*bc*sc*i*', 'pci:v00008086d00001000sv00001AF4sd00001100bc02sc00i00')).toBe(true);
    expect(globMatch('pci:v00008086d00001000sv*sd*bc*sc*i*', 'pci:v00008086d000010D3sv00001AF4sd00001100bc02sc00i00')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a?c', 'ac')).toBe(false);
  });

  it('matches character classes, ranges and negation', () => {
    expect(globMatch('usb:v05ACp021[0-9]d*', 'usb:v05ACp0215d0100')).toBe(true);
    expect(globMatch('usb:v05ACp021[0-9]d*', 'usb:v05ACp021Ad0100')).toBe(false);
    expect(globMatch('x[!0-9]', 'xa')).toBe(true);
    expect(globMatch('x[!0-9]', 'x5')).toBe(false);
    expect(globMatch('x[]a]', 'x]')).toBe(true);
  });

  it('treats regular-expression characters literally and anchors both ends', () => {
    expect(globMatch('a.b+(c)', 'a.b+(c)')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('abc', 'xabcx')).toBe(false);
    expect(globMatch('a\\*', 'a*')).toBe(true);
    expect(globMatch('a\\*', 'ab')).toBe(false);
    expect(globMatch('a[b', 'a[b')).toBe(true);
  });
});

describe('modulesForAliases', () => {
  it('finds the modules for the devices present, each once', () => {
    const modaliases = [
      'pci:v00008086d000029C0sv00001AF4sd00001100bc06sc00i00',
      'pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00',
      'pci:v00008086d00001000sv00001AF4sd00001100bc02sc00i00',
      'platform:serial8250',
    ];
    expect(modulesForAliases(modaliases, parseModulesAlias(ALIAS))).toEqual(['e1000']);
    expect(modulesForAliases(['acpi:PNP0A08:'], parseModulesAlias(ALIAS))).toEqual([]);
  });

  it('tries patterns with no bus in their literal start against every bus, in file order', () => {
    const aliases = parseModulesAlias(
      [
        'alias acpi:PNP0C0C: exact',
        'alias acpi*:PNP0C0C:* button',
        'alias pci:v*d*sv*sd*bc02sc00i* netclass',
        'alias *:serial8250 anyserial',
        'alias platform:serial8250 serialmod',
      ].join('\n'),
    );
    expect(modulesForAliases(['acpi:PNP0C0C:'], aliases)).toEqual(['exact', 'button']);
    expect(modulesForAliases(['platform:serial8250'], aliases)).toEqual(['anyserial', 'serialmod']);
    expect(modulesForAliases(['pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00'], aliases)).toEqual(['netclass']);
    // A pattern of another bus never matches, though its wildcards would.
    expect(modulesForAliases(['usb:v1bc02sc00i00'], aliases)).toEqual([]);
    const reversed = parseModulesAlias('alias acpi*:PNP0C0C:* button\nalias acpi:PNP0C0C: exact\n');
    expect(modulesForAliases(['acpi:PNP0C0C:'], reversed)).toEqual(['button', 'exact']);
  });
});

describe('aliasBuses', () => {
  const BUSES = ['pci', 'usb', 'platform', 'virtio', 'pnp', 'acpi'];
  const buses = (lines: string[]) => BUSES.filter(aliasBuses(parseModulesAlias(lines.join('\n'))));

  it('keeps the buses the patterns name', () => {
    expect(buses(['alias pci:v00008086d00001000sv*sd*bc*sc*i* e1000', 'alias usb:v05ACp021[0-9]d* top'])).toEqual(['pci', 'usb']);
  });

  it('keeps the buses a pattern without a named bus can match', () => {
    expect(buses(['alias p*:serial8250 serial'])).toEqual(['pci', 'platform', 'pnp']);
    expect(buses(['alias *:serial8250 anyserial'])).toEqual(BUSES);
  });

  it('keeps every bus when a pattern can match a firmware node (acpi:, of:), which devices of other buses show', () => {
    expect(buses(['alias acpi*:PNP0C0C:* button', 'alias pci:v1* x'])).toEqual(BUSES);
    expect(buses(['alias of:N*T*Cvirtio,mmio virtio_mmio'])).toEqual(BUSES);
    expect(buses(['alias a*:X:* a'])).toEqual(BUSES);
  });

  it('drops the buses only names without a bus refer to', () => {
    expect(buses(['alias rtnl-link-dummy dummy', 'alias fs-basefs base', 'alias pci-stub stub'])).toEqual([]);
    expect(buses([])).toEqual([]);
  });

  it('finds the same modules for the devices of the kept buses as for every device', () => {
    // [sysfs bus directory, modalias] as a microvm with a PCI NIC shows them.
    const devices = [
      ['pci', 'pci:v00008086d00001000sv00001AF4sd00001100bc02sc00i00'],
      ['acpi', 'acpi:PNP0C0C:'],
      ['platform', 'acpi:PNP0C0C:'],
      ['platform', 'platform:serial8250'],
      ['platform', 'of:NvirtioT(null)Cvirtio,mmio'],
      ['virtio', 'virtio:d00000001v554D4551'],
      ['usb', 'usb:v05ACp0215d0100dc00dsc00dp00ic03isc01ip02in00'],
    ];
    const extras = [
      '',
      'alias acpi*:PNP0C0C:* button\n',
      'alias platform:serial8250 serialmod\n',
      'alias of:N*T*Cvirtio,mmio virtio_mmio\n',
    ];
    for (const extra of extras) {
      const aliases = parseModulesAlias(ALIAS + extra);
      const has = aliasBuses(aliases);
      const kept = devices.filter(([bus]) => has(bus!)).map(([, modalias]) => modalias!);
      expect(modulesForAliases(kept, aliases)).toEqual(
        modulesForAliases(
          devices.map(([, m]) => m!),
          aliases,
        ),
      );
    }
    expect(
      modulesForAliases(
        devices.map(([, m]) => m!),
        parseModulesAlias(ALIAS + extras[3]),
      ),
    ).toContain('virtio_mmio');
    const aliases = parseModulesAlias(ALIAS);
    expect(devices.filter(([bus]) => aliasBuses(aliases)(bus!)).map(([bus]) => bus)).toEqual(['pci', 'usb']);
    expect(modulesForAliases(['pci:v00008086d00001000sv00001AF4sd00001100bc02sc00i00'], aliases)).toEqual(['e1000']);
  });
});

describe('planLoads', () => {
  it('loads dependencies first, each module once', () => {
    const plan = planLoads(['top', 'mid', 'nf-foo'], index());
    expect(plan.steps.map((s) => s.name)).toEqual(['base', 'mid', 'top', 'nf_core', 'nf_foo']);
    expect(plan.steps[2]).toEqual({ name: 'top', path: 'kernel/fs/top.ko' });
    expect(plan.unknown).toEqual([]);
  });

  it('skips loaded and built-in modules and reports unknown names', () => {
    const plan = planLoads(['dummy', 'virtio_net', 'nosuch', 'top'], index(), new Set(['base', 'dummy']));
    expect(plan.steps.map((s) => s.name)).toEqual(['mid', 'top']);
    expect(plan.unknown).toEqual(['nosuch']);
  });

  it('resolves aliases such as rtnl-link-dummy', () => {
    const plan = planLoads(['rtnl-link-dummy', 'fs-basefs'], index());
    expect(plan.steps.map((s) => s.name)).toEqual(['dummy', 'base']);
  });

  it('survives a dependency cycle', () => {
    const idx: ModuleIndex = {
      dep: parseModulesDep('a.ko: b.ko\nb.ko: a.ko\n'),
      aliases: [],
      builtin: new Set(),
    };
    expect(planLoads(['a'], idx).steps.map((s) => s.name)).toEqual(['b', 'a']);
  });
});
