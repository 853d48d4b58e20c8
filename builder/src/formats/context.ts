import type { AssembledNode } from '../assemble/node.js';
import type { InitrdCompression } from '../archive/compress.js';
import type { AtomicOutputs } from './atomic-output.js';
import type { CompressedRoot } from './compressed-root.js';
import type { RootImage } from './root-image.js';
import type { UkiSigner } from '../trust/sign.js';

/** What every format writer gets: the assembled node and where and how to write its files. */
export interface FormatContext {
  node: AssembledNode;
  /** Output path prefix: "<dir>/<name>". */
  base: string;
  sourceDateEpoch: number;
  outputs: AtomicOutputs;
  /** The initrd's compression; gzip when not given. */
  compression?: InitrdCompression;
  /** Shares the compressed root between the formats of one build; without it each compresses anew. */
  compressedRoot?: CompressedRoot;
  /** With --sign-key: every EFI format gets the build's one signed UKI from here. */
  signer?: UkiSigner;
  /** --verity: the root image carries a dm-verity hash tree, and the disk formats carry the root image. */
  verity?: boolean;
  /** Shares the root image (squashfs, hash tree) between the formats of one build; without it each makes its own. */
  rootImage?: RootImage;
}
