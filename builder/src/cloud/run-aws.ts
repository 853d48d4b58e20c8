/**
 * `lkbuild run aws`: one instance from an AMI (or from an aws disk, pushed first, which does
 * nothing when it is already there), user data from --data-file, the serial console followed
 * until the init is ready, and the instance terminated on --rm, also when the wait fails.
 */
import { LkError } from '../errors.js';
import { ec2, tagParams, type AwsContext } from './aws-api.js';
import { consoleDelta, readUserData, watchConsole, type InstanceRunOptions } from './console.js';
import { pushAws } from './push-aws.js';
import { xmlText } from './xml.js';

export interface RunAwsOptions extends InstanceRunOptions {
  /** ami-… or a NAME.raw file of the aws format. */
  image: string;
  instanceType?: string;
  subnetId?: string;
}

const USER_DATA_LIMIT = 16 * 1024;

export async function runAws(ctx: AwsContext, o: RunAwsOptions): Promise<{ instanceId: string; imageId: string }> {
  const userData = await readUserData(o.dataFile, USER_DATA_LIMIT, 'EC2');
  const imageId = /^ami-[0-9a-f]+$/.test(o.image)
    ? o.image
    : (await pushAws(ctx, { file: o.image, name: o.name, log: o.log, pollMs: o.pollMs })).imageId;
  const xml = await ec2(ctx, 'RunInstances', {
    ImageId: imageId,
    InstanceType: o.instanceType ?? 't3.small',
    MinCount: 1,
    MaxCount: 1,
    UserData: userData?.toString('base64'),
    SubnetId: o.subnetId,
    'MetadataOptions.HttpTokens': 'required',
    'TagSpecification.1.ResourceType': 'instance',
    ...tagParams('TagSpecification.1.Tag', { Name: o.name }),
  });
  const instanceId = xmlText(xml, 'instanceId');
  if (!instanceId) throw new LkError('cloud', 'RunInstances answered without an instance id', 'check the EC2 endpoint');
  o.log(`instance ${instanceId} from ${imageId}`);
  try {
    let seen = '';
    await watchConsole({
      instance: instanceId,
      timeoutMs: o.timeoutMs ?? 600_000,
      intervalMs: o.pollMs ?? 5_000,
      signal: o.signal,
      write: o.write,
      next: async () => {
        const out = xmlText(await ec2(ctx, 'GetConsoleOutput', { InstanceId: instanceId, Latest: true }), 'output');
        const now = out ? Buffer.from(out, 'base64').toString('utf8') : '';
        const delta = consoleDelta(seen, now);
        seen = now;
        return delta;
      },
    });
    o.log(`instance ${instanceId} is ready`);
  } finally {
    if (o.rm) {
      await ec2(ctx, 'TerminateInstances', { 'InstanceId.1': instanceId });
      o.log(`instance ${instanceId} terminated`);
    }
  }
  return { instanceId, imageId };
}
