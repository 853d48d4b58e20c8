// The usage text on its own, so `lkbuild help` need not load the registry client.
export const cacheUsage = `  cache ls [-q]                   list the images in the local cache ($LKBUILD_CACHE)
  cache pull [--platform P] [--timeout S] REF...
                                  fetch images from their registries into the cache, side by side
  cache rm REF...                 remove references from the cache (then: cache clean)
  cache clean [--min-age S]       delete blobs no reference uses (default: older than 300 s)
  cache import [--name REF] FILE  load an OCI layout tarball or a docker-archive tarball
  cache export [--format oci|docker] REF FILE
                                  write a cached image as an OCI layout or docker-archive tarball
  push [--timeout S] REF [DEST]   push a cached image to a registry (DEST defaults to REF)
`;
