import { readFile } from 'node:fs/promises';
import { usageError as usage } from '../errors.js';
import { parseCommandArgs as parse } from './args.js';

/** `lkbuild run qemu|stop`, and the connection handler QEMU starts for --imds. */

async function runQemuCommand(argv: string[]): Promise<number> {
  const dashes = argv.indexOf('--');
  const [args, qemuExtra] = dashes < 0 ? [argv, []] : [argv.slice(0, dashes), argv.slice(dashes + 1)];
  // --secure-boot takes its value only as --secure-boot=VARS: a separate word would be PATH.
  const secureBootArg = args.find((a) => a === '--secure-boot' || a.startsWith('--secure-boot='));
  const rest = args.filter((a) => a !== secureBootArg);
  const { values, positionals } = parse(rest, {
    mem: { type: 'string' },
    cpus: { type: 'string' },
    append: { type: 'string' },
    accel: { type: 'string' },
    networking: { type: 'string' },
    publish: { type: 'string', multiple: true },
    disk: { type: 'string', multiple: true },
    data: { type: 'string' },
    'data-file': { type: 'string' },
    imds: { type: 'string' },
    uefi: { type: 'boolean' },
    bios: { type: 'boolean' },
    machine: { type: 'string' },
    state: { type: 'string' },
    detached: { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (positionals.length !== 1) throw usage('run qemu needs exactly one image path (the build output name or file)');
  const o = await import('../run/options.js');
  const v = values as Record<string, string | string[] | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const accel = str('accel') ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw o.optionError('--accel', `"${accel}" is not auto, kvm or tcg`);
  if (v.uefi && v.bios) throw o.optionError('--uefi', 'and --bios exclude each other');
  if (str('data') !== undefined && str('data-file') !== undefined) throw o.optionError('--data', 'and --data-file exclude each other');
  const dataFile = str('data-file');
  const userData =
    dataFile !== undefined
      ? await readFile(dataFile).catch((e: NodeJS.ErrnoException) => {
          throw o.optionError('--data-file', `cannot read ${dataFile}: ${e.code ?? e.message}`);
        })
      : str('data') !== undefined
        ? Buffer.from(str('data')!)
        : undefined;
  const secureVars = secureBootArg?.startsWith('--secure-boot=') ? secureBootArg.slice('--secure-boot='.length) : undefined;
  if (secureVars === '') throw o.optionError('--secure-boot', 'VARS is empty');
  const { runNode } = await import('../run/node.js');
  return runNode({
    base: positionals[0]!,
    memoryMiB: str('mem') !== undefined ? o.parseMemory(str('mem')!) : undefined,
    cpus: str('cpus') !== undefined ? o.parseCount('--cpus', str('cpus')!, 1, 255) : undefined,
    append: str('append'),
    accel,
    networking: str('networking') !== undefined ? o.parseNetworking(str('networking')!) : undefined,
    publish: ((v.publish as string[] | undefined) ?? []).map(o.parsePublish),
    disks: ((v.disk as string[] | undefined) ?? []).map(o.parseDisk),
    userData,
    imdsFile: str('imds'),
    firmware: v.uefi ? 'uefi' : v.bios ? 'bios' : undefined,
    secureBoot: secureBootArg ? { vars: secureVars } : undefined,
    machine: str('machine') !== undefined ? o.parseMachine(str('machine')!) : undefined,
    state: str('state'),
    detached: v.detached === true,
    timeoutSec: str('timeout') !== undefined ? o.parseTimeout(str('timeout')!) : undefined,
    interactive: process.stdin.isTTY === true,
    extraArgs: qemuExtra,
    log: (line) => process.stderr.write(`lkbuild: ${line}\n`),
  });
}

async function runStopCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { grace: { type: 'string' } });
  if (positionals.length !== 1) throw usage('run stop needs exactly one state directory');
  const [{ parseTimeout }, { stopNode, defaultGraceSec }, { stateDir }] = await Promise.all([
    import('../run/options.js'),
    import('../run/lifecycle.js'),
    import('../run/state.js'),
  ]);
  const grace = values.grace !== undefined ? parseTimeout(values.grace as string) : defaultGraceSec;
  return stopNode(stateDir(positionals[0]!), grace, (line) => process.stderr.write(`lkbuild: ${line}\n`));
}

/** QEMU's guestfwd runs this once per guest connection to the metadata address (see imds-server.ts). */
async function imdsConnection(args: string[]): Promise<number> {
  const [dir, userData] = args;
  if (!dir || !userData) throw usage('run _imds STATE USERDATA (started by QEMU for --imds)');
  const [{ serveImdsStdio }, { stateDir }] = await Promise.all([import('../run/imds-server.js'), import('../run/state.js')]);
  await serveImdsStdio(stateDir(dir), userData);
  return 0;
}

export async function runCommand(args: string[]): Promise<number> {
  const [target, ...rest] = args;
  if (target === 'qemu') return runQemuCommand(rest);
  if (target === 'stop') return runStopCommand(rest);
  if (target === '_imds') return imdsConnection(rest);
  throw usage(`unknown run target "${target ?? ''}" (qemu, stop, aws or gcp)`);
}
