// runtime.json, the contract between the builder and the init: what the init does around one
// container. The builder writes it (builder/src/config/runtime-config.ts); the init reads it
// (runtime.ts), checking every field, since a file on the node may come from anywhere.
// Types only, so both sides' compilers can take it: the init is built by its own tsc and qjsc,
// the builder by another tsc whose rootDir is builder/src.

export type RestartPolicy = 'always' | 'on-failure' | 'never';

/** Namespace types as named in /proc/<pid>/ns. */
export type NamespaceType = 'cgroup' | 'ipc' | 'mnt' | 'net' | 'pid' | 'user' | 'uts';

/** An OCI mount the init mounts on the host before the container starts; a relative destination is inside the container's rootfs (LinuxKit). */
export interface RuntimeMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** A network interface, as LinuxKit's: `add` is a link kind; a `peer` implies "veth". */
export interface RuntimeInterface {
  name: string;
  add?: string;
  peer?: string;
  createInRoot?: boolean;
}

export interface RuntimeJson {
  restart: RestartPolicy;
  /** Services started before this one. */
  depends: string[];
  /** Directories to create (on the host) before the container starts. */
  mkdir: string[];
  /** cgroup v2 paths (relative to /sys/fs/cgroup) to create before the container starts. */
  cgroups: string[];
  mounts: RuntimeMount[];
  /** Network interfaces to create and/or move into the container's network namespace. */
  interfaces: RuntimeInterface[];
  /** Namespace type -> path to bind it to once the container exists. */
  bindNS: Partial<Record<NamespaceType, string>>;
}
