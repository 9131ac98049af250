/**
 * Views asking the notebook's kernel for what their output does not carry: a slide patch beyond
 * the top k. tslab has no comms, but a JupyterLab plugin reaches the kernel of the notebook an
 * output sits in and can send it an ordinary execute request; the request's outputs come back to
 * this plugin only (the notebook's cells never see them) and nothing is added to the notebook.
 *
 * The code sent is fixed; only numbers and one JSON string literal (the slide path) come from the
 * output data, which is untrusted (a notebook someone sent): nothing else from it is executed.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { Widget } from '@lumino/widgets';

/** The kernel of the notebook (or console) holding `node`: null if it has none running; undefined outside one. */
type KernelOf = (node: HTMLElement) => Kernel.IKernelConnection | null | undefined;
let kernelOf: KernelOf | undefined;

/** Set when JupyterLab activates the plugin; other hosts (a static page, nbviewer) have no kernels. */
export const kernelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'milkit-jupyterlab:kernel',
  description: "Lets milkit views ask their notebook's kernel for data the output does not carry (slide patches)",
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    kernelOf = (node) => {
      for (const w of app.shell.widgets('main')) {
        const session = (
          w as Widget & { sessionContext?: { session?: { kernel?: Kernel.IKernelConnection | null } | null } }
        ).sessionContext;
        if (session && w.node.contains(node)) return session.session?.kernel ?? null;
      }
      return undefined;
    };
  },
};

export interface PatchRequest {
  /** The slide file as the kernel opened it. */
  source: string;
  /** Level-0 top-left corner and side of the patch. */
  x: number;
  y: number;
  size: number;
  /** The slide's level-0 size when the view was drawn: the kernel refuses a different file. */
  width: number;
  height: number;
}

/** The code the kernel runs for `r` (milkit-kernel's showSlidePatch); throws on a malformed request. */
export function patchCode(r: PatchRequest): string {
  for (const k of ['x', 'y', 'size', 'width', 'height'] as const)
    if (!Number.isSafeInteger(r[k]) || r[k] < 0) throw new Error(`patch request: ${k} must be a whole number`);
  if (typeof r.source !== 'string' || !r.source) throw new Error('patch request: no slide path');
  // JSON.stringify gives a string literal that TypeScript reads back as exactly this string.
  const args = [JSON.stringify(r.source), r.x, r.y, r.size, `{ width: ${r.width}, height: ${r.height} }`];
  // A block: tslab runs it with top-level await, and `milkit` stays out of the notebook's namespace.
  return `{ const milkit = await import("milkit-kernel"); await milkit.showSlidePatch(${args.join(', ')}); }`;
}

/**
 * Asks the kernel of the notebook holding `node` for a patch; resolves to its image as a data URI,
 * or rejects with what to do (no kernel, another language, the kernel's own error).
 */
export async function fetchPatch(node: HTMLElement, r: PatchRequest): Promise<string> {
  const code = patchCode(r);
  if (!kernelOf)
    throw new Error('fetching other patches needs JupyterLab with milkit-jupyterlab (it asks the notebook kernel)');
  const kernel = kernelOf(node);
  if (kernel === undefined) throw new Error('this output is not in a notebook whose kernel could be asked');
  if (!kernel) throw new Error('the notebook has no running kernel: start it (TypeScript, tslab) to fetch this patch');
  const language = (await kernel.info).language_info.name;
  if (language !== 'typescript')
    throw new Error(`the notebook's kernel runs ${language}, not TypeScript: open it with the tslab kernel`);
  const future = kernel.requestExecute({ code, silent: false, store_history: false, stop_on_error: false });
  let image: string | undefined;
  let stderr = '';
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    const content = msg.content as { data?: Record<string, unknown>; name?: string; text?: string; evalue?: string };
    if (msg.header.msg_type === 'display_data' && typeof content.data?.['image/jpeg'] === 'string')
      image = content.data['image/jpeg'] as string;
    else if (msg.header.msg_type === 'stream' && content.name === 'stderr') stderr += content.text ?? '';
    else if (msg.header.msg_type === 'error') stderr += content.evalue ?? '';
  };
  const reply = await future.done;
  if (image && /^[A-Za-z0-9+/=]+$/.test(image)) return `data:image/jpeg;base64,${image}`;
  // tslab reports an error as stderr text: the code line, then "SomeError: message" and a stack,
  // or TypeScript diagnostics as "line:col - message".
  const lines = stderr.split('\n').map((l) => l.trim());
  const why =
    lines.find((l) => /^[\w.]*Error\b|^\d+:\d+ - /.test(l)) ??
    lines.find(Boolean) ??
    `the request ended "${reply.content.status}" without an image`;
  throw new Error(`the kernel could not read the patch: ${why}`);
}

/** The package's JupyterLab plugin entry (package.json `jupyterlab.extension`). */
export default kernelPlugin;
