import type { FormatContext } from './context.js';
import type { OutputPath } from './index.js';
import { nodeKernel, writeInitrd } from './kernel-initrd.js';
import { rootBootContext, withRootImage } from './root-image.js';

/**
 * kernel+squashfs: NAME-kernel, NAME-initrd.img (the init alone), NAME-squashfs.img (the root
 * image, with --verity its hash tree appended) and NAME-cmdline naming the root: `run qemu`
 * attaches the image as the first virtio disk, hence /dev/vda. LinuxKit writes no initrd here,
 * its kernel mounts the squashfs itself; our init opens (and verifies) the root.
 */
export async function writeKernelSquashfs(ctx: FormatContext, path: OutputPath): Promise<void> {
  const format = 'kernel+squashfs';
  await withRootImage(ctx, format, async (root) => {
    const boot = rootBootContext(ctx, format, '/dev/vda', root);
    await ctx.outputs.write(path('kernel'), nodeKernel(ctx, format).open());
    await writeInitrd(boot, path('initrd'));
    await ctx.outputs.writeFrom(path('root-image'), root.path);
    await ctx.outputs.write(path('cmdline'), boot.node.cmdline);
  });
}
