#!/usr/bin/env node
// Cold pull of several images from a local registry: lkbuild vs `skopeo copy`, same images,
// same run. Usage: node bench/pull/run.mjs [--images N] [--layers N] [--layer-mib N] [--rounds N]
// Prints per-tool times and the summary line `pull lkbuild/skopeo <ratio>` (median round times).
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cli, median, repo, run, summary, timed } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '4' },
    layers: { type: 'string', default: '4' },
    'layer-mib': { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
  },
});
const images = Number(values.images);
const layers = Number(values.layers);
const layerBytes = Number(values['layer-mib']) << 20;
const rounds = Number(values.rounds);

/** The bench measures the real CLI, so it uses the normal build output (npm run build). */
function builtDist() {
  const dist = join(repo, 'builder', 'dist');
  if (!existsSync(join(dist, 'cli/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
  return dist;
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startRegistry(dir) {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { host: `127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('docker-registry did not start');
}

async function main() {
  const dist = builtDist();
  const { OciLayout } = await import(join(dist, 'oci/layout.js'));
  const { commitImage, writeLayer } = await import(join(dist, 'oci/image-store.js'));
  const { tarFromDir } = await import(join(dist, 'archive/tar-from-dir.js'));
  const work = await mkdtemp(join(tmpdir(), 'lkbuild-bench-pull-'));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    // Test images: random (incompressible) data, several layers each, pushed with skopeo.
    const src = new OciLayout(join(work, 'src'));
    await src.init();
    const refs = [];
    for (let i = 0; i < images; i++) {
      const written = [];
      for (let l = 0; l < layers; l++) {
        const dir = join(work, `layer-${i}-${l}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'blob.bin'), randomBytes(layerBytes));
        written.push(await writeLayer(src, tarFromDir(dir, 0)));
        await rm(dir, { recursive: true });
      }
      await commitImage(src, `bench/img${i}:1`, written, { architecture: 'amd64', os: 'linux', created: new Date(0).toISOString() });
      const ref = `${registry.host}/bench/img${i}:1`;
      await run('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${src.root}:bench/img${i}:1`, `docker://${ref}`]);
      refs.push(ref);
    }
    const totalMiB = (images * layers * layerBytes) / (1 << 20);
    console.log(
      `images ${images}, layers per image ${layers}, layer size ${values['layer-mib']} MiB, total ${totalMiB} MiB, rounds ${rounds}`,
    );

    const times = { lkbuild: [], skopeo: [] };
    for (let r = 0; r < rounds; r++) {
      // Each tool as a user runs it, into a fresh (cold) OCI layout: lkbuild takes all the
      // references in one command; skopeo copies one image per invocation.
      const lkCache = join(work, `lk-${r}`);
      times.lkbuild.push(await timed(() => run(process.execPath, [cli, 'cache', 'pull', ...refs], { env: { LKBUILD_CACHE: lkCache } })));
      const skCache = join(work, `sk-${r}`);
      times.skopeo.push(
        await timed(async () => {
          for (const ref of refs)
            await run('skopeo', ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${ref}`, `oci:${skCache}:${ref}`]);
        }),
      );
      console.log(`round ${r + 1}: lkbuild ${times.lkbuild[r].toFixed(3)} s, skopeo ${times.skopeo[r].toFixed(3)} s`);
      await rm(lkCache, { recursive: true, force: true });
      await rm(skCache, { recursive: true, force: true });
    }
    const lk = median(times.lkbuild);
    const sk = median(times.skopeo);
    console.log(`lkbuild ${lk.toFixed(3)} s (${(totalMiB / lk).toFixed(1)} MiB/s)`);
    console.log(`skopeo ${sk.toFixed(3)} s (${(totalMiB / sk).toFixed(1)} MiB/s)`);
    summary('pull', 'lkbuild/skopeo', (lk / sk).toFixed(3));
  } finally {
    registry.child.kill();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
