/**
 * Build files: LinuxKit-compatible YAML -> a validated, merged BuildSpec. Every problem is
 * reported at file:line:column, all at once, as a ConfigError.
 */
export { ConfigError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { loadBuildFiles, parseBuildText } from './load.js';
export { buildSpecToYaml } from './to-yaml.js';
export { containerIds } from './ids.js';
export { replaceImageRefs } from './replace-refs.js';
export type {
  BuildSpec,
  DeviceSpec,
  FileSpec,
  IdMapping,
  ImageFields,
  ImageSpec,
  InterfaceSpec,
  KernelSpec,
  NamespacePaths,
  Restart,
  RuntimeSpec,
  VolumeSpec,
} from './types.js';
