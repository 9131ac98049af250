/**
 * A progress bar for long CLI work. Always on stderr, so stdout stays clean for results and
 * --json. On a TTY it redraws one line in place (at most ~10 times a second); in logs and CI it
 * prints a plain line every 10% once the work has run for a second (and one at the end), never a wall of carriage
 * returns.
 * A total of 0 means "unknown" (e.g. bags of a CSV that is still streaming): a plain count.
 */
export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** false: print nothing (e.g. --quiet). */
  enabled?: boolean;
  /** Appended to every running line, computed at each draw (e.g. the whole run's ETA). */
  status?: () => string;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private readonly status?: () => string;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private finished = false;
  private nextUnknown = 100;
  private count = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.enabled = opts.enabled ?? true;
    this.status = opts.status;
  }

  /** Reports `done` of `total` units. */
  update(done: number): void {
    this.count = done;
    if (!this.enabled || this.finished) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(done)}\x1b[K`);
    } else if (now - this.start < 1000) {
      return; // short work: the final line is enough
    } else if (this.total <= 0) {
      // Unknown total: a line at 100, 200, 400, ... units.
      if (done < this.nextUnknown) return;
      this.nextUnknown = 2 * Math.max(done, 50);
      this.stream.write(`${this.line(done)}\n`);
    } else {
      const decile = Math.floor((10 * done) / this.total);
      if (decile <= this.lastDecile || done >= this.total) return;
      this.lastDecile = decile;
      this.stream.write(`${this.line(done)}\n`);
    }
  }

  /** Ends the bar with a final line. */
  done(note = ''): void {
    if (!this.enabled || this.finished) return;
    this.finished = true;
    const secs = ((Date.now() - this.start) / 1000).toFixed(1);
    const total = this.total > 0 ? `${this.total}/${this.total}` : String(this.count);
    this.stream.write(
      `${this.tty ? '\r' : ''}${this.label}: ${total} done in ${secs} ` +
        `s${note ? ` (${note})` : ''}${this.tty ? '\x1b[K' : ''}\n`,
    );
  }

  private line(done: number): string {
    const status = this.status?.();
    return `${this.bar(done)}${status ? ` · ${status}` : ''}`;
  }

  private bar(done: number): string {
    if (this.total <= 0) return `${this.label}: ${done}`;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 24;
    const fill = Math.round(frac * width);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = done > 0 ? (elapsed * (this.total - done)) / done : NaN;
    const etaText = Number.isFinite(eta)
      ? ` ETA ${eta < 60 ? `${eta.toFixed(0)} s` : `${(eta / 60).toFixed(1)} min`}`
      : '';
    return (
      `${this.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}` +
      `] ${done}/${this.total} ${(100 * frac).toFixed(0)}%${etaText}`
    );
  }
}
