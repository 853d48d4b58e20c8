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
        // Boot tests build real images and boot them under QEMU; they run one file at a time so
        // TCG gets the CPU. The global setup builds the shared recipes (the kernel on a cold
        // cache) first, so no file's hook timeout has to cover a kernel build.
        test: {
          name: 'boot',
          include: ['qemu-tests/**/*.test.ts'],
          globalSetup: ['qemu-tests/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
