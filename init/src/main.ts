// Entry point: PID 1, or lkctl when invoked under that name.

import * as std from 'std';
import * as lk from 'lk';
import { enableCgroupControllers, loopbackUp, mountFilesystems, setHostname, setupResolvConf } from './boot.js';
import { handleSignals } from './children.js';
import { bootOptions, parseCmdline, type BootOptions } from './cmdline.js';
import { listen } from './control.js';
import { lkctl } from './lkctl.js';
import { markers } from './markers.js';
import { loadKernelModules } from './modload.js';
import { watchPowerButtons } from './powerbutton.js';
import { runToCompletion } from './phases.js';
import { Services } from './services.js';
import { enterRoot } from './root.js';
import { rebootNow, shutdown, shuttingDown, type ShutdownKind } from './shutdown.js';
import { configureFromCmdline, configureFromMetadata, remoteLog } from './remotelog.js';
import { setTestThrows, step, stepAsync, stepOrStop } from './steps.js';
import { debug, detach, log, readText, setDebug, setLogTap, sleep, uptime } from './sys.js';

let services: Services | null = null;
let options: BootOptions = bootOptions('');

function requestShutdown(kind: ShutdownKind): void {
  detach('shutdown', shutdown(kind, services, options.shutdownGraceMs));
}

async function boot(): Promise<void> {
  setLogTap((line) => remoteLog.send('lk-init', line)); // held until the node knows where to send
  log(markers.start(uptime()));
  step('signals', () => handleSignals(shutdownSignals()));
  try {
    lk.reboot(lk.RB_DISABLE_CAD); // ctrl-alt-del -> SIGINT to us
  } catch (e) {
    debug(`ctrl-alt-del stays with the kernel: ${(e as Error).message}`); // EINVAL in a PID namespace
  }
  let switched = false;
  const rooted = await stepOrStop(
    'root',
    async () => void (switched = await enterRoot()),
    () => rebootNow('poweroff'),
  );
  if (!rooted) return; // powered off: nothing runs from a root that failed its check
  step('mounts', () => mountFilesystems(switched));
  let words = new Map<string, string>();
  step('cmdline', () => {
    // The kernel hands init the command-line words it does not know as argv;
    // lk.* options given that way (or by hand, for tests) override /proc/cmdline.
    const cmdline = `${readText('/proc/cmdline') ?? ''} ${scriptArgs.slice(1).join(' ')}`;
    words = parseCmdline(cmdline);
    options = bootOptions(words);
    setDebug(options.debug);
    setTestThrows(words.get('lk.test-throw'));
  });
  step('syslog', () => configureFromCmdline(words.get('lk.syslog')));
  debug(switched ? 'left the initramfs (for the root image, or a bind mount of it)' : 'root is not the initramfs; kept it');
  step('modules', () => loadKernelModules(words.get('lk.modules')));
  step('hostname', setHostname); // after the modules: the NIC that names the node may be a module's
  step('resolv.conf', () => setupResolvConf(words.get('ip')));
  step('loopback', loopbackUp);
  step('cgroups', enableCgroupControllers);
  debug('system set up');
  step('control', () => listen({ services: () => services, shutdown: requestShutdown, graceMs: options.shutdownGraceMs }));
  step('power button', () => watchPowerButtons(() => requestShutdown('poweroff')));

  await stepAsync('onboot', () => runToCompletion('onboot'));
  if (shuttingDown()) return; // asked to stop while onboot ran: do not start services now
  step('syslog', configureFromMetadata); // onboot's metadata step may have named a collector
  const started = new Services(options.consoleLogs);
  services = started;
  step('services', () => started.load());
  await stepAsync('start', () => started.startAll());
  step('ready', () => log(markers.ready(uptime())));
  if (options.poweroffAfterReadyMs !== undefined) {
    if (options.poweroffAfterReadyMs > 0) await sleep(options.poweroffAfterReadyMs);
    requestShutdown('poweroff');
  }
}

function shutdownSignals(): Map<number, () => void> {
  return new Map([
    [lk.SIGTERM, () => requestShutdown('poweroff')],
    [lk.SIGUSR2, () => requestShutdown('poweroff')],
    [lk.SIGPWR, () => requestShutdown('poweroff')],
    [lk.SIGUSR1, () => requestShutdown('halt')],
    [lk.SIGINT, () => requestShutdown('reboot')],
  ]);
}

function main(): void {
  const argv0 = scriptArgs[0] ?? '';
  if (argv0.endsWith('lkctl')) lkctl(scriptArgs.slice(1));
  if (scriptArgs[1] === 'lkctl') lkctl(scriptArgs.slice(2));
  if (lk.getpid() !== 1) {
    std.err.puts('lk-init: not PID 1; run as lkctl (or `init lkctl ...`) to control a running init\n');
    std.exit(1);
  }
  detach('boot', boot());
}

main();
