/**
 * Decoders for compressed Arrow IPC buffers (pyarrow's `compression="zstd"` / `"lz4"`), registered
 * with Arrow's compression registry: compressed files read like any other, one bag at a time,
 * decompressed on load (so not zero-copy).
 */
import * as A from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';

/** lz4js has no type declarations: the one function used. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS package without types
const lz4 = require('lz4js') as { decompress(src: Uint8Array, maxSize?: number): Uint8Array | number[] };

let registered = false;

/** Registers the zstd and LZ4-frame decoders once. */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  A.compressionRegistry.set(A.CompressionType.ZSTD, { decode: (data) => zstdDecompress(data) });
  A.compressionRegistry.set(A.CompressionType.LZ4_FRAME, {
    decode: (data) => {
      const out = lz4.decompress(data);
      return out instanceof Uint8Array ? out : Uint8Array.from(out);
    },
  });
}
