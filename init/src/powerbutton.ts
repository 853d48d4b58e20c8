// The ACPI power button: what `lkbuild run stop`, EC2's and GCE's "stop" and a hypervisor's
// power-off press. Its key events are read from /dev/input/event* in the event loop.

import * as os from 'os';
import * as lk from 'lk';
import { INPUT_EVENT_SIZE, powerButtonEvents, powerKeyPressed } from './inputevents.js';
import { debug, errorMessage, guarded, listDir, log, readText } from './sys.js';

/** Watches every power button; `onPress` runs on each press. Returns how many are watched. */
export function watchPowerButtons(onPress: () => void): number {
  const devices = listDir('/sys/class/input')
    .filter((e) => e.startsWith('event'))
    .map((event) => ({ event, name: readText(`/sys/class/input/${event}/device/name`) }));
  let watched = 0;
  for (const event of powerButtonEvents(devices)) {
    let fd: number;
    try {
      fd = lk.openRead(`/dev/input/${event}`);
    } catch (e) {
      log(`lk-init: power button: ${errorMessage(e)}`);
      continue;
    }
    const buf = new ArrayBuffer(INPUT_EVENT_SIZE * 16);
    os.setReadHandler(
      fd,
      guarded('power button', () => {
        const n = os.read(fd, buf, 0, buf.byteLength);
        if (n > 0 && powerKeyPressed(buf, n)) {
          log('lk-init: power button pressed');
          onPress();
        }
      }),
    );
    watched++;
  }
  debug(`power buttons watched: ${watched}`);
  return watched;
}
