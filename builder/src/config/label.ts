import { MobyConfigLabel, type ImageConfig } from '../oci/media-types.js';
import { checkImageFields, reporter } from './check.js';
import { ConfigError, type Diagnostic } from './diagnostics.js';
import { imageSchemaDiagnostics } from './schema.js';
import { YamlSource } from './source.js';
import type { ImageFields, ImageSpec } from './types.js';

/** The label's settings, checked like YAML; a broken label is a ConfigError naming the image. */
export function labelDefaults(image: ImageSpec, imageConfig: ImageConfig): ImageFields {
  const text = imageConfig.Labels?.[MobyConfigLabel];
  if (!text) return {};
  const source = YamlSource.parse(`${image.image} label ${MobyConfigLabel}`, text);
  const diagnostics: Diagnostic[] = [...source.errors];
  if (!diagnostics.length) {
    const value = source.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      diagnostics.push({ ...source.position([]), message: `the ${MobyConfigLabel} label must hold a JSON object` });
    } else {
      diagnostics.push(...imageSchemaDiagnostics(source));
      checkImageFields(value as Record<string, unknown>, [], reporter(source, diagnostics));
      for (const key of ['name', 'image']) {
        if (key in value)
          diagnostics.push({ ...source.position([key], 'key'), message: `${key} cannot be set in the ${MobyConfigLabel} label` });
      }
    }
  }
  if (diagnostics.length) throw new ConfigError(diagnostics);
  return source.value as ImageFields;
}
