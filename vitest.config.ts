import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['builder/test/**/*.test.ts', 'init/test/**/*.test.ts', 'images/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Boot tests build real images (the kernel included on a cold cache) and boot them under
        // QEMU; they run one file at a time so TCG gets the CPU.
        test: {
          name: 'boot',
          include: ['qemu-tests/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
