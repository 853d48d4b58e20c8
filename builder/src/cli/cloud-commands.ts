/**
 * `push aws|gcp` and `run aws|gcp`: flags to options, the result on stdout, progress on
 * stderr. Ctrl-C during `run` stops the wait, and --rm still removes the instance.
 */
import { usageError } from '../errors.js';
import { parseCommandArgs as parse } from './args.js';

const progress = (line: string) => process.stderr.write(`lkbuild: ${line}\n`);

function positiveSeconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw usageError(`${flag} is a whole number of seconds`);
  return Number(value) * 1000;
}

function oneFile(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usageError(`${what} needs exactly one image file`);
  return positionals[0];
}

function required(value: string | undefined, flag: string, what: string): string {
  if (!value) throw usageError(`${what} needs ${flag}`);
  return value;
}

const bootModes = ['uefi', 'legacy-bios', 'uefi-preferred'] as const;

async function pushAwsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string', short: 'n' },
    region: { type: 'string' },
    'boot-mode': { type: 'string' },
    tpm: { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
  });
  const file = oneFile(positionals, 'push aws');
  const name = required(values.name, '--name', 'push aws');
  const bootMode = values['boot-mode'];
  if (bootMode !== undefined && !(bootModes as readonly string[]).includes(bootMode))
    throw usageError(`--boot-mode is ${bootModes.join(', ')}`);
  if (values.jobs !== undefined && !/^\d+$/.test(values.jobs)) throw usageError('--jobs is a whole number from 1 to 64');
  const [{ awsContext }, { resolveAwsRegion }, { pushAws, checkAmiName }, { cloudImageFile }] = await Promise.all([
    import('../cloud/aws-api.js'),
    import('../cloud/aws-credentials.js'),
    import('../cloud/push-aws.js'),
    import('../cloud/input.js'),
  ]);
  // What the user typed is checked before credentials are looked for.
  await cloudImageFile(file, 'aws');
  checkAmiName(name);
  const ctx = awsContext(await resolveAwsRegion(process.env, values.region), process.env);
  const r = await pushAws(ctx, {
    file,
    name,
    bootMode: bootMode as (typeof bootModes)[number] | undefined,
    tpm: values.tpm,
    jobs: values.jobs ? Number(values.jobs) : undefined,
    log: progress,
  });
  progress(r.existing ? `${r.imageId} holds this disk already (${r.digest})` : `registered ${r.imageId} from ${r.snapshotId}`);
  process.stdout.write(`${r.imageId}\n`);
  return 0;
}

async function pushGcpCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string', short: 'n' },
    bucket: { type: 'string' },
    project: { type: 'string' },
    family: { type: 'string' },
    gvnic: { type: 'boolean' },
    multiqueue: { type: 'boolean' },
  });
  const file = oneFile(positionals, 'push gcp');
  const name = required(values.name, '--name', 'push gcp');
  const bucket = required(values.bucket, '--bucket', 'push gcp');
  const [{ gcpContext }, { pushGcp }, { cloudImageFile }] = await Promise.all([
    import('../cloud/gcp-api.js'),
    import('../cloud/push-gcp.js'),
    import('../cloud/input.js'),
  ]);
  await cloudImageFile(file, 'gcp');
  const ctx = await gcpContext(process.env, values.project);
  const r = await pushGcp(ctx, {
    file,
    name,
    bucket,
    family: values.family,
    gvnic: values.gvnic,
    multiqueue: values.multiqueue,
    log: progress,
  });
  progress(r.existing ? `image ${r.image} holds this disk already (${r.digest})` : `created image ${r.image}`);
  process.stdout.write(`projects/${ctx.project}/global/images/${r.image}\n`);
  return 0;
}

/** The flags both run commands take. */
const runFlags = {
  name: { type: 'string', short: 'n' },
  'data-file': { type: 'string' },
  rm: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/**
 * Runs `start` (which follows the instance until it is ready) so that the first Ctrl-C stops
 * the wait (the run's own cleanup then removes the instance with --rm) and exits 130, as
 * `run qemu` does; a second Ctrl-C exits at once.
 */
async function followInstance(rm: boolean, start: (signal: AbortSignal) => Promise<string>): Promise<number> {
  const ac = new AbortController();
  const onInt = () => {
    if (ac.signal.aborted) process.exit(130);
    progress('interrupted');
    ac.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onInt);
  try {
    const instance = await start(ac.signal);
    if (!rm) progress(`${instance} keeps running (remove it yourself, or use --rm next time)`);
    return 0;
  } catch (e) {
    if (ac.signal.aborted) return 130;
    throw e;
  } finally {
    process.off('SIGINT', onInt);
  }
}

async function runAwsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...runFlags,
    region: { type: 'string' },
    'instance-type': { type: 'string' },
    'subnet-id': { type: 'string' },
  });
  if (positionals.length !== 1) throw usageError('run aws needs exactly one AMI id or NAME.raw file');
  const name = required(values.name, '--name', 'run aws');
  const timeoutMs = positiveSeconds(values.timeout, '--timeout');
  const [{ awsContext }, { resolveAwsRegion }, { runAws }] = await Promise.all([
    import('../cloud/aws-api.js'),
    import('../cloud/aws-credentials.js'),
    import('../cloud/run-aws.js'),
  ]);
  const ctx = awsContext(await resolveAwsRegion(process.env, values.region), process.env);
  return followInstance(
    values.rm === true,
    async (signal) =>
      (
        await runAws(ctx, {
          image: positionals[0],
          name,
          dataFile: values['data-file'],
          instanceType: values['instance-type'],
          subnetId: values['subnet-id'],
          rm: values.rm === true,
          timeoutMs,
          log: progress,
          write: (t) => process.stdout.write(t),
          signal,
        })
      ).instanceId,
  );
}

async function runGcpCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...runFlags,
    project: { type: 'string' },
    zone: { type: 'string' },
    bucket: { type: 'string' },
    'machine-type': { type: 'string' },
  });
  if (positionals.length !== 1) throw usageError('run gcp needs exactly one image name or NAME.img.tar.gz file');
  const name = required(values.name, '--name', 'run gcp');
  const zone = required(values.zone, '--zone', 'run gcp');
  const timeoutMs = positiveSeconds(values.timeout, '--timeout');
  const [{ gcpContext }, { runGcp }] = await Promise.all([import('../cloud/gcp-api.js'), import('../cloud/run-gcp.js')]);
  const ctx = await gcpContext(process.env, values.project);
  return followInstance(
    values.rm === true,
    async (signal) =>
      (
        await runGcp(ctx, {
          image: positionals[0],
          name,
          zone,
          bucket: values.bucket,
          machineType: values['machine-type'],
          dataFile: values['data-file'],
          rm: values.rm === true,
          timeoutMs,
          log: progress,
          write: (t) => process.stdout.write(t),
          signal,
        })
      ).instance,
  );
}

export function pushCloud(target: 'aws' | 'gcp', args: string[]): Promise<number> {
  return target === 'aws' ? pushAwsCommand(args) : pushGcpCommand(args);
}

export function runCloud(target: 'aws' | 'gcp', args: string[]): Promise<number> {
  return target === 'aws' ? runAwsCommand(args) : runGcpCommand(args);
}
