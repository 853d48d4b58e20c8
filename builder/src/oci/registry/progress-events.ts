/** What a pull or push reports as it goes; the CLI turns these into a display. */
export type TransferEvent =
  | { type: 'resolved'; ref: string; digest: string; blobs: number }
  | { type: 'blob-start'; digest: string; size: number }
  | { type: 'blob-bytes'; digest: string; bytes: number }
  | { type: 'blob-done'; digest: string; size: number; skipped: boolean; mounted?: boolean }
  | { type: 'done'; ref: string; digest: string };
