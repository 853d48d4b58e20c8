// busybox's applets, then e2fsprogs' and sfdisk's programs with only the libraries they load.
import { keepElfClosure } from '../lib/elf-closure.mjs';

await import('../busybox/build.mjs');
const tools = ['mke2fs', 'e2fsck', 'resize2fs', 'dumpe2fs', 'sfdisk'].map((t) => `sbin/${t}`);
keepElfClosure(process.env.LK_ROOTFS, tools, ['usr/lib/e2fsprogs'], 'format');
