/**
 * AWS service plumbing: endpoints (AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL over the
 * public endpoint, as the SDKs read them), SigV4-signed calls with AWS's throttling and expiry
 * codes, and the EC2 query protocol.
 */
import { LkError } from '../errors.js';
import type { NetOptions } from '../net/defaults.js';
import { AwsCredentialChain } from './aws-credentials.js';
import { callService, headerValue, type CloudRequest, type CloudResponse, type ServiceRules } from './http.js';
import { EMPTY_SHA256, sha256Hex, signedHeaders } from './sigv4.js';
import { xmlText } from './xml.js';

export type AwsService = 'ebs' | 'ec2';

export function awsEndpoint(service: AwsService, region: string, env: NodeJS.ProcessEnv): URL {
  const raw = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL || `https://${service}.${region}.amazonaws.com`;
  try {
    return new URL(raw);
  } catch {
    throw new LkError(
      'cloud',
      `"${raw}" is not a URL (AWS_ENDPOINT_URL${env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ? `_${service.toUpperCase()}` : ''})`,
      'expected http(s)://host[:port]',
    );
  }
}

const throttleCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
]);
const expiredCodes = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/** The error code of an AWS answer: the x-amzn-ErrorType header, a JSON __type/code, or EC2's XML <Code>. */
export function awsErrorCode(res: CloudResponse): string | undefined {
  const header = headerValue(res.headers['x-amzn-errortype']);
  if (header) return header.split(':')[0];
  const text = res.body.toString('utf8');
  if (text.trimStart().startsWith('{')) {
    try {
      const j = JSON.parse(text) as { __type?: string; code?: string; Code?: string };
      const t = j.__type ?? j.code ?? j.Code;
      return t?.split('#').pop();
    } catch {
      return undefined;
    }
  }
  return text.includes('<Code>') ? xmlText(text, 'Code') : undefined;
}

function awsErrorMessage(res: CloudResponse): string {
  const text = res.body.toString('utf8');
  const code = awsErrorCode(res);
  let message: string | undefined;
  if (text.trimStart().startsWith('{')) {
    try {
      const j = JSON.parse(text) as { message?: string; Message?: string };
      message = j.message ?? j.Message;
    } catch {
      message = undefined;
    }
  } else if (text.includes('<Message>')) message = xmlText(text, 'Message');
  return [code, message ?? (code ? '' : text.slice(0, 200))].filter(Boolean).join(': ');
}

function awsHint(res: CloudResponse): string {
  const code = awsErrorCode(res) ?? '';
  if (res.status === 403 || /AccessDenied|UnauthorizedOperation|AuthFailure/.test(code))
    return 'the credentials lack a permission this step needs: see "IAM permissions" in the README';
  if (/SignatureDoesNotMatch|InvalidClientTokenId/.test(code)) return 'check the access key and secret (and the clock of this machine)';
  return 'see the message above; a re-run resumes the upload and never registers twice';
}

export interface AwsContext {
  region: string;
  env: NodeJS.ProcessEnv;
  credentials: AwsCredentialChain;
  net?: NetOptions;
  /** The clock signatures use (tests fix it). */
  now?: () => Date;
}

export function awsContext(region: string, env: NodeJS.ProcessEnv, net?: NetOptions): AwsContext {
  return { region, env, credentials: new AwsCredentialChain(env), net };
}

function rules(ctx: AwsContext, service: AwsService): ServiceRules {
  return {
    name: service.toUpperCase(),
    authorize: async (req: CloudRequest) => {
      const given = req.headers?.['x-amz-content-sha256'];
      const payloadHash = given ?? (req.body ? sha256Hex(req.body) : EMPTY_SHA256);
      return signedHeaders({
        method: req.method,
        url: req.url,
        headers: req.headers,
        payloadHash,
        region: ctx.region,
        service,
        credentials: await ctx.credentials.get(),
        date: ctx.now?.() ?? new Date(),
      });
    },
    renew: () => ctx.credentials.renew(),
    isThrottled: (res) => throttleCodes.has(awsErrorCode(res) ?? ''),
    isExpired: (res) => expiredCodes.has(awsErrorCode(res) ?? ''),
    errorText: awsErrorMessage,
    hint: awsHint,
  };
}

/** One signed call to `service` at `path` (with its query) under the service's endpoint. */
export function awsCall(
  ctx: AwsContext,
  service: AwsService,
  req: Omit<CloudRequest, 'url'> & { path: string },
  what: string,
): Promise<CloudResponse> {
  const base = awsEndpoint(service, ctx.region, ctx.env);
  const url = new URL(base.href);
  url.pathname = base.pathname.replace(/\/$/, '') + req.path;
  return callService(rules(ctx, service), { method: req.method, url, headers: req.headers, body: req.body }, { ...ctx.net, what });
}

export const EC2_API_VERSION = '2016-11-15';

/** An EC2 query API action: form-encoded POST, XML answer (returned as text). */
export async function ec2(ctx: AwsContext, action: string, params: Record<string, string | number | boolean | undefined>): Promise<string> {
  const form = new URLSearchParams({ Action: action, Version: EC2_API_VERSION });
  for (const [k, v] of Object.entries(params)) if (v !== undefined) form.set(k, String(v));
  const res = await awsCall(
    ctx,
    'ec2',
    { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: form.toString() },
    action,
  );
  return res.body.toString('utf8');
}

/** Query parameters for a list of tags under `prefix` ("TagSpecification.1.Tag"). */
export function tagParams(prefix: string, tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  Object.entries(tags).forEach(([k, v], i) => {
    out[`${prefix}.${i + 1}.Key`] = k;
    out[`${prefix}.${i + 1}.Value`] = v;
  });
  return out;
}
