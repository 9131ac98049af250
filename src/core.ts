/**
 * Browser-safe entry point: pure TypeScript with no tfjs, Node or filesystem imports, shared by the
 * trainer, the kernel helpers and the JupyterLab plugin (so the plugin runs the very same masking code).
 */
export {};
