// onboot and onshutdown: run each bundle to completion, in order.

import { bundleDirs, launch, loadBundle } from './bundles.js';
import { LogSink } from './logs.js';
import { formatUptime, markers } from './markers.js';
import { bundleName } from './runtime.js';
import { testThrowPoint } from './steps.js';
import { errorMessage, log, uptime } from './sys.js';

/** Runs every bundle of `phase`; a failure is logged, never fatal. Output goes to the console too. */
export async function runToCompletion(phase: 'onboot' | 'onshutdown'): Promise<void> {
  for (const dir of bundleDirs(phase)) {
    const name = bundleName(dir.slice(dir.lastIndexOf('/') + 1));
    let code: number;
    try {
      testThrowPoint(`${phase}:${name}`);
      const bundle = loadBundle(dir, name, 'never');
      const run = await launch(bundle, new LogSink(`/var/log/${phase}.${name}.log`, true));
      code = await run.exit;
      run.drain();
    } catch (e) {
      log(`lk-init: ${phase} ${name}: ${errorMessage(e)}`);
      code = 255;
    }
    if (phase === 'onboot') log(markers.onboot(name, code, uptime()));
    else log(`lk-init: onshutdown ${name} exit=${code} uptime=${formatUptime(uptime())}`);
  }
}
