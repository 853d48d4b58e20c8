// Entry point of the `metadata` binary (QuickJS + this bytecode, like the init): provisioning
// from NoCloud, AWS IMDSv2, GCP or a file into /run/config. See metadata.ts.

import * as std from 'std';
import { runMetadata } from './metadata.js';
import { readText } from './sys.js';

function main(): never {
  const args = scriptArgs.slice(1);
  if (args.includes('-h') || args.includes('--help')) {
    std.out.puts(
      "usage: metadata [lk.metadata=PROVIDER,...]\nWrites /run/config from the first provider that answers (nocloud, aws, gcp, file[:PATH]);\nthe kernel command line's lk.metadata= chooses and orders them.\n",
    );
    std.exit(0);
  }
  // Words given as arguments follow the kernel's, so they win (tests, manual runs).
  const cmdline = `${readText('/proc/cmdline') ?? ''} ${args.join(' ')}`;
  let code: number;
  try {
    code = runMetadata(cmdline);
  } catch (e) {
    std.out.puts(`metadata: ${(e as Error).message}\n`);
    code = 1;
  }
  std.out.flush();
  std.exit(code);
}

main();
