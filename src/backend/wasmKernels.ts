/**
 * Copy-free Slice / Unpack / SplitV / Identity kernels for the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22's Slice starts with `backend.readSync(x)`, which copies the WHOLE
 * input out of the wasm heap before taking the slice; unstack and split call it once per piece.
 * Slicing the class-token row out of an [8, 8192, 256] attention matrix thus copies 67 MB, and
 * unstacking it copies 8 × 67 MB. These replacements read the input through a heap view (the same
 * bytes, no copy). Identity (tf.clone, and every tensor a gradient tape saves) copied the whole
 * tensor; it now shares the data with a reference count, as wasm's Reshape and the cpu backend's
 * Identity do (tfjs tensors are immutable). Other dtypes than float32/int32 go to the original kernels.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
interface WasmBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array;
}

let installed = false;

/** Installs the kernels once the wasm backend is registered (idempotent; false if it is not). */
export function installWasmKernels(): boolean {
  if (installed) return true;
  if (process.env.MILKIT_PLAIN_WASM_KERNELS) return false; // escape hatch: keep tfjs's own kernels
  const originals = new Map<string, tf.KernelConfig>();
  for (const name of [tf.Slice, tf.Unpack, tf.SplitV, tf.Identity]) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) return false;
    originals.set(name, k);
  }
  const replace = (name: string, kernelFunc: (args: KernelArgs) => TensorInfo | TensorInfo[]) => {
    const original = originals.get(name)!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: ((args: KernelArgs) => {
        const x = (args.inputs.x ?? args.inputs.value) as TensorInfo;
        if (x.dtype !== 'float32' && x.dtype !== 'int32') return original.kernelFunc(args as never);
        return kernelFunc(args);
      }) as unknown as tf.KernelFunc,
    });
  };
  replace(tf.Slice, ({ inputs, attrs, backend }) => {
    const x = inputs.x;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as unknown as tf.TensorInfo,
      attrs.begin as number[],
      attrs.size as number[],
    );
    return copySlice(backend, x, begin, size, size);
  });
  replace(tf.Unpack, ({ inputs, attrs, backend }) => {
    const x = inputs.value;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const size = x.shape.slice();
    size[axis] = 1;
    const outShape = x.shape.filter((_, i) => i !== axis);
    return Array.from({ length: x.shape[axis] }, (_, i) => {
      const begin = x.shape.map((_, d) => (d === axis ? i : 0));
      return copySlice(backend, x, begin, size, outShape);
    });
  });
  replace(tf.SplitV, ({ inputs, attrs, backend }) => {
    const x = inputs.x;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits as number[], axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[axis] = s;
      const out = copySlice(backend, x, begin.slice(), size, size);
      begin[axis] += s;
      return out;
    });
  });
  replace(tf.Identity, ({ inputs, backend }) => {
    const x = inputs.x;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  installed = true;
  return true;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackend;
}

/** Copies x[begin : begin + size] into a new tensor of shape `outShape` (same element count). */
function copySlice(
  backend: WasmBackend,
  x: TensorInfo,
  begin: number[],
  size: number[],
  outShape: number[],
): TensorInfo {
  const out = backend.makeOutput(outShape, x.dtype);
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  // Views are taken after makeOutput: an allocation may grow (and so detach) the heap buffer.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst.set(src);
    return out;
  }
  const computed = tf.util.computeStrides(x.shape); // rank − 1 entries; the last axis has stride 1
  const stride = (d: number) => (d === rank - 1 ? 1 : computed[d]);
  // Axes after `a` are taken whole, so each run of `inner` elements is contiguous in x.
  let a = rank - 1;
  while (a > 0 && size[a] === x.shape[a]) a--;
  const inner = size.slice(a).reduce((p, q) => p * q, 1);
  const idx = new Array(a).fill(0);
  for (let o = 0; o < total; o += inner) {
    let off = begin[a] * stride(a);
    for (let d = 0; d < a; d++) off += (begin[d] + idx[d]) * stride(d);
    dst.set(src.subarray(off, off + inner), o);
    for (let d = a - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
