/**
 * Sending bundles to the notebook through the running tslab kernel.
 *
 * tslab's public `display.raw` sends a single MIME type; a bundle with fallbacks needs its internal
 * `lastWriteDisplayData` (set per execute request). It must be the kernel's own tslab module
 * instance, which is why tslab is a peer dependency. Outside a kernel (scripts, tests) the
 * text/plain fallback is printed instead.
 */
import { randomBytes } from 'node:crypto';
import type { MimeBundle } from './bundle';

type WriteDisplayData = (
  msg: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> },
  update: boolean,
) => void;

function kernelWriter(): WriteDisplayData | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- tslab's hook: untyped, absent outside a kernel
    return require('tslab/dist/jupyter').lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whether output goes to a notebook (inside a running tslab cell). */
export function inKernel(): boolean {
  return kernelWriter() !== undefined;
}

/** Displays a bundle once. */
export function publish(bundle: MimeBundle): void {
  const write = kernelWriter();
  if (!write) {
    console.log(bundle.data['text/plain']);
    return;
  }
  write({ data: bundle.data, metadata: bundle.metadata, transient: {} }, false);
}

/**
 * One output area that is overwritten in place (display_data once, then update_display_data with
 * the same display_id). Updates closer than `minIntervalMs` are coalesced; `flush()` sends the
 * latest pending one.
 */
export class LiveDisplay {
  readonly id = randomBytes(8).toString('hex');
  private shown = false;
  private lastSent = 0;
  /** The latest bundle not sent yet, or how to build it (built only when sent: PNG rendering is not free). */
  private pending?: MimeBundle | (() => MimeBundle);
  /** Bundles actually sent (for tests and for the "did it update?" question). */
  sent = 0;

  constructor(readonly minIntervalMs = 500) {}

  update(bundle: MimeBundle | (() => MimeBundle), force = false, nowMs = Date.now()): void {
    this.pending = bundle;
    if (force || !this.shown || nowMs - this.lastSent >= this.minIntervalMs) this.flush(nowMs, force);
  }

  flush(nowMs = Date.now(), final = true): void {
    if (!this.pending) return;
    const write = kernelWriter();
    const quiet = !write && !(final || !this.shown || nowMs - this.lastSent >= 10 * this.minIntervalMs);
    const bundle = quiet ? undefined : typeof this.pending === 'function' ? this.pending() : this.pending;
    if (write && bundle) {
      write({ data: bundle.data, metadata: bundle.metadata, transient: { display_id: this.id } }, this.shown);
    } else if (bundle) {
      console.log(bundle.data['text/plain']); // outside a kernel: an occasional progress line
    }
    this.shown = true;
    this.lastSent = nowMs;
    this.pending = undefined;
    this.sent++;
  }
}
