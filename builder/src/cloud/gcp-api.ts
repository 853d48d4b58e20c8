/**
 * Google API plumbing: endpoints (STORAGE_EMULATOR_HOST for Cloud Storage as Google's
 * libraries read it; CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE for Compute Engine as gcloud
 * reads it), bearer tokens, and Google's error shapes: 429 and rateLimitExceeded throttle,
 * 401 means the token expired.
 */
import { LkError } from '../errors.js';
import type { NetOptions } from '../net/defaults.js';
import { GcpAuth } from './gcp-auth.js';
import { callService, type CallOptions, type CloudRequest, type CloudResponse, type ServiceRules } from './http.js';

export interface GcpContext {
  env: NodeJS.ProcessEnv;
  auth: GcpAuth;
  project: string;
  net?: NetOptions;
}

export async function gcpContext(env: NodeJS.ProcessEnv, projectFlag?: string, net?: NetOptions): Promise<GcpContext> {
  const auth = new GcpAuth(env, net);
  return { env, auth, project: await auth.project(projectFlag), net };
}

function parseUrl(raw: string, variable: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new LkError('cloud', `"${raw}" is not a URL (${variable})`, 'expected http(s)://host[:port]');
  }
}

/** Cloud Storage's origin: the emulator's when STORAGE_EMULATOR_HOST is set (with or without a scheme). */
export function storageEndpoint(env: NodeJS.ProcessEnv): URL {
  const host = env.STORAGE_EMULATOR_HOST;
  if (!host) return new URL('https://storage.googleapis.com/');
  return parseUrl(/^https?:\/\//.test(host) ? host : `http://${host}`, 'STORAGE_EMULATOR_HOST');
}

/** Compute Engine's API root, ending in /compute/v1/ for the public endpoint. */
export function computeEndpoint(env: NodeJS.ProcessEnv): URL {
  const raw = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE || 'https://compute.googleapis.com/compute/v1/';
  return parseUrl(raw.endsWith('/') ? raw : `${raw}/`, 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE');
}

interface GoogleError {
  error?: { code?: number; message?: string; errors?: { reason?: string }[]; status?: string };
}

function googleError(res: CloudResponse): GoogleError['error'] | undefined {
  try {
    return (JSON.parse(res.body.toString('utf8')) as GoogleError).error;
  } catch {
    return undefined;
  }
}

export function googleReasons(res: CloudResponse): string[] {
  return (googleError(res)?.errors ?? []).map((e) => e.reason ?? '');
}

function rules(ctx: GcpContext, name: string): ServiceRules {
  return {
    name,
    authorize: async () => ({ authorization: `Bearer ${await ctx.auth.token()}` }),
    renew: () => ctx.auth.renew(),
    isThrottled: (res) => res.status === 429 || googleReasons(res).some((r) => r === 'rateLimitExceeded' || r === 'userRateLimitExceeded'),
    isExpired: (res) => res.status === 401,
    errorText: (res) => googleError(res)?.message ?? res.body.toString('utf8').slice(0, 300),
    hint: (res) =>
      res.status === 403
        ? 'the credentials lack a permission this step needs: see "GCP roles" in the README'
        : res.status === 404
          ? 'check --project, --bucket and --zone'
          : 'see the message above; a re-run resumes the upload and never creates the image twice',
  };
}

export const storageRules = (ctx: GcpContext) => rules(ctx, 'Cloud Storage');
export const computeRules = (ctx: GcpContext) => rules(ctx, 'Compute Engine');

/** A Compute Engine call at `path` under the API root (projects/P/...). */
export function compute(
  ctx: GcpContext,
  method: string,
  path: string,
  what: string,
  body?: unknown,
  opts: Partial<CallOptions> = {},
): Promise<CloudResponse> {
  const req: CloudRequest = {
    method,
    url: new URL(path, computeEndpoint(ctx.env)),
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
  return callService(computeRules(ctx), req, { ...ctx.net, ...opts, what });
}
