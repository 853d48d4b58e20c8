import type { NamespaceType, RestartPolicy } from '../../../init/src/runtime-json.js';
import type { OciMount } from './mounts.js';

export type Restart = RestartPolicy;

export interface IdMapping {
  hostID: number;
  containerID: number;
  size: number;
}

export interface DeviceSpec {
  path: string;
  type?: string;
  major?: number;
  minor?: number;
  mode?: string | number;
  uid?: number;
  gid?: number;
}

export interface InterfaceSpec {
  name: string;
  add?: string;
  peer?: string;
  createInRoot?: boolean;
}

export type NamespacePaths = Partial<Record<NamespaceType, string>>;

export interface RuntimeSpec {
  cgroups?: string[];
  mounts?: Partial<OciMount>[];
  mkdir?: string[];
  interfaces?: InterfaceSpec[];
  bindNS?: NamespacePaths;
  namespace?: string;
}

/**
 * The settings of one container, as LinuxKit names them. The same shape (without name and image)
 * is what an image's org.mobyproject.config label may hold.
 */
export interface ImageFields {
  capabilities?: string[];
  'capabilities.add'?: string[];
  ambient?: string[];
  mounts?: Partial<OciMount>[];
  binds?: string[];
  'binds.add'?: string[];
  devices?: DeviceSpec[];
  tmpfs?: string[];
  command?: string[];
  env?: string[];
  cwd?: string;
  net?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  userns?: string;
  readonly?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  uid?: number | string;
  gid?: number | string;
  additionalGids?: (number | string)[];
  noNewPrivileges?: boolean;
  hostname?: string;
  oomScoreAdj?: number;
  rootfsPropagation?: string;
  cgroupsPath?: string;
  resources?: Record<string, unknown>;
  sysctl?: Record<string, string>;
  rlimits?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  annotations?: Record<string, string>;
  /** An OCI seccomp object, or (lkbuild) 'default' for Docker's default profile. */
  seccomp?: Record<string, unknown> | 'default';
  runtime?: RuntimeSpec;
  /** lkbuild: what the init does when a service exits. */
  restart?: Restart;
  /** lkbuild: services that must be started first. */
  depends?: string[];
}

export interface ImageSpec extends ImageFields {
  name: string;
  /** A registry reference, or '@pkg:<absolute dir>' after resolution. Empty for an empty volume. */
  image: string;
}

export interface VolumeSpec extends ImageSpec {
  format?: 'oci' | 'filesystem';
  platforms?: string[];
}

export interface FileSpec {
  path: string;
  directory?: boolean;
  symlink?: string;
  contents?: string;
  /** Absolute path on the build host. */
  source?: string;
  metadata?: 'yaml' | 'json';
  optional?: boolean;
  /** Octal, e.g. "0644"; filled in with LinuxKit's defaults. */
  mode?: string;
  uid?: number | string;
  gid?: number | string;
}

export interface KernelSpec {
  image: string;
  cmdline: string;
  binary: string;
  tar: string;
  ucode?: string;
}

export interface BuildSpec {
  kernel?: KernelSpec;
  init: string[];
  onboot: ImageSpec[];
  services: ImageSpec[];
  onshutdown: ImageSpec[];
  files: FileSpec[];
  volumes: VolumeSpec[];
}

export const imageSections = ['onboot', 'onshutdown', 'services'] as const;
export type ImageSection = (typeof imageSections)[number];
