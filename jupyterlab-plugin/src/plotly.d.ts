// plotly.js-dist-min ships no typings; the renderers use a small, loosely typed surface of it.
declare module 'plotly.js-dist-min' {
  type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- see the comment above
  const Plotly: {
    react(el: HTMLElement, data: Any[], layout?: Any, config?: Any): Promise<HTMLElement>;
    restyle(el: HTMLElement, update: Any, traces?: number | number[]): Promise<HTMLElement>;
    relayout(el: HTMLElement, update: Any): Promise<HTMLElement>;
    purge(el: HTMLElement): void;
    Plots: { resize(el: HTMLElement): Promise<void> | undefined };
  };
  export default Plotly;
}
