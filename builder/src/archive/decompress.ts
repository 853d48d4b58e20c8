/**
 * Streaming decompression for .deb members, Debian indexes and image layers alike: gzip
 * in-process (zlib), xz and zstd through the host's `xz -dc` and `zstd -dc` (much faster than any
 * JavaScript decoder, and Node 20 has no zstd). The output stream ends only after the tool has
 * exited successfully, so a corrupt input is an error, never a silently short stream.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LkError } from '../errors.js';

export type Compression = 'xz' | 'zst' | 'gz' | 'none';

/** Compression named by a file suffix such as "data.tar.xz" or "Packages.gz". */
export function compressionOf(name: string): Compression | undefined {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.zst')) return 'zst';
  if (name.endsWith('.gz')) return 'gz';
  if (name.endsWith('.tar') || !name.includes('.')) return 'none';
  return undefined;
}

export function decompress(input: Readable, compression: Compression, what: string): Readable {
  switch (compression) {
    case 'none':
      return input;
    case 'gz':
      return throughGunzip(input, what);
    case 'xz':
      return throughTool('xz', ['-dc'], input, what);
    case 'zst':
      return throughTool('zstd', ['-dc', '-q'], input, what);
  }
}

/** zlib in-process; its errors (codes Z_*) become an LkError naming `what`, others pass as they are. */
function throughGunzip(input: Readable, what: string): Readable {
  const gunzip = createGunzip({ chunkSize: 1 << 18 }); // zlib's 16 KiB default costs a thread-pool round trip per 16 KiB
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  const fail = (err: Error): void => {
    if (output.destroyed) return;
    const zlib = (err as NodeJS.ErrnoException).code?.startsWith('Z_');
    output.destroy(zlib ? new LkError('archive', `${what} is not valid gzip data: ${err.message}`, 'the file is corrupt') : err);
  };
  // pipeline reports only the input side: zlib's own error (a truncated stream) comes after
  // its writable side has finished, so it is caught on the stream itself.
  pipeline(input, gunzip, (err) => err && fail(err));
  gunzip.on('error', fail);
  gunzip.pipe(output);
  // The consumer may stop early: release the input then too.
  output.on('close', () => {
    gunzip.destroy();
    input.destroy();
  });
  return output;
}

/** `input` through a host tool's stdin and stdout; `verb` (decompress, compress) names the job in errors. */
export function throughTool(tool: string, args: string[], input: Readable, what: string, verb = 'decompress'): Readable {
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));

  const fail = (err: Error): void => {
    if (!output.destroyed) output.destroy(err);
    child.kill('SIGKILL');
  };
  child.on('error', (err) =>
    fail(new LkError('tool', `cannot run ${tool} to ${verb} ${what}: ${err.message}`, `install ${tool} on the build host`)),
  );
  // The consumer may stop early (e.g. after finding what it wanted): stop the tool then too.
  output.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    input.destroy();
  });

  pipeline(input, child.stdin, (err) => {
    // EPIPE when the tool quit early is reported through its exit status instead.
    if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') fail(err);
  });
  child.stdout.pipe(output, { end: false });

  let stdoutEnded = false;
  let exitCode: number | null | undefined;
  const finish = (): void => {
    if (!stdoutEnded || exitCode === undefined || output.destroyed) return;
    if (exitCode === 0) output.end();
    else
      fail(
        new LkError(
          'archive',
          `${tool} failed to ${verb} ${what}: ${stderr.trim() || `exit ${exitCode}`}`,
          verb === 'decompress' ? 'the file is corrupt: fetch or build it again' : undefined,
        ),
      );
  };
  child.stdout.on('end', () => {
    stdoutEnded = true;
    finish();
  });
  child.on('close', (code) => {
    exitCode = code;
    stdoutEnded = true;
    finish();
  });
  return output;
}
