/**
 * How tensors are computed: choosing the tfjs backend (select.ts) and the kernels milkit installs
 * on it (the OpenBLAS addon's kernels, copy-free wasm kernels, gradients that keep wasm on its fast
 * matMul path). Nothing here imports the models.
 */
export * from './select';
export { matMulFast, registerFastGradients, swapLastAxes } from './fastGradients';
export { installWasmKernels } from './wasmKernels';
export { type InferencePrecision, bf16Available, nativeBlas, withPrecision } from './blasKernels';
export { GPU_LIBRARIES, describeGpu, gpuReport, type GpuReport } from './gpu';
export type { BlasAddon } from './types';
