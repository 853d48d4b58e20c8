// Linux input events (struct input_event), as /dev/input/event* delivers them. Pure, for tests.

/** On 64-bit Linux: a 16-byte timeval, then type (u16), code (u16) and value (s32). */
export const INPUT_EVENT_SIZE = 24;
export const EV_KEY = 1;
export const KEY_POWER = 116;
/** The name the kernel's ACPI button driver gives the power button's input device (fixed or PNP0C0C). */
export const POWER_BUTTON_NAME = 'Power Button';

/** Whether the first `length` bytes hold a press (value 1) of the power key; a partial event at the end is ignored. */
export function powerKeyPressed(bytes: ArrayBuffer, length: number): boolean {
  const view = new DataView(bytes);
  for (let at = 0; at + INPUT_EVENT_SIZE <= length; at += INPUT_EVENT_SIZE) {
    const type = view.getUint16(at + 16, true);
    const code = view.getUint16(at + 18, true);
    const value = view.getInt32(at + 20, true);
    if (type === EV_KEY && code === KEY_POWER && value === 1) return true;
  }
  return false;
}

/** The event devices (eventN) among `devices` whose input device is named like the power button. */
export function powerButtonEvents(devices: Array<{ event: string; name: string | null }>): string[] {
  return devices.filter((d) => d.name?.trim() === POWER_BUTTON_NAME).map((d) => d.event);
}
