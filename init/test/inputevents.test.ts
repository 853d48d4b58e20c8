import { describe, expect, it } from 'vitest';
import { powerButtonEvents, powerKeyPressed } from '../src/inputevents.js';

/** struct input_event on x86_64, laid out by hand from linux/input.h: 8+8 bytes of time, u16 type, u16 code, s32 value. */
function event(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64LE(1234n, 0);
  b.writeBigInt64LE(5678n, 8);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}
const asArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
const EV_SYN = 0;
const EV_KEY = 1;
const KEY_POWER = 116; // linux/input-event-codes.h
const KEY_SLEEP = 142;

describe('powerKeyPressed', () => {
  it('finds a press of KEY_POWER among the events the ACPI button sends (press, sync, release, sync)', () => {
    const b = Buffer.concat([event(EV_KEY, KEY_POWER, 1), event(EV_SYN, 0, 0), event(EV_KEY, KEY_POWER, 0), event(EV_SYN, 0, 0)]);
    expect(powerKeyPressed(asArrayBuffer(b), b.length)).toBe(true);
  });

  it('ignores a release, another key, a non-key event with the same code, and a press cut off at the end', () => {
    const release = Buffer.concat([event(EV_KEY, KEY_POWER, 0), event(EV_SYN, 0, 0)]);
    expect(powerKeyPressed(asArrayBuffer(release), release.length)).toBe(false);
    const sleep = event(EV_KEY, KEY_SLEEP, 1);
    expect(powerKeyPressed(asArrayBuffer(sleep), sleep.length)).toBe(false);
    const notKey = event(4 /* EV_MSC */, KEY_POWER, 1);
    expect(powerKeyPressed(asArrayBuffer(notKey), notKey.length)).toBe(false);
    const cut = event(EV_KEY, KEY_POWER, 1);
    expect(powerKeyPressed(asArrayBuffer(cut), 23)).toBe(false);
  });
});

describe('powerButtonEvents', () => {
  it("picks the devices the ACPI button driver names 'Power Button' (sysfs names end in a newline)", () => {
    const devices = [
      { event: 'event0', name: 'AT Translated Set 2 keyboard\n' },
      { event: 'event1', name: 'Power Button\n' },
      { event: 'event2', name: null },
      { event: 'event3', name: 'Sleep Button\n' },
    ];
    expect(powerButtonEvents(devices)).toEqual(['event1']);
  });
});
