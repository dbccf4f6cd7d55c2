/**
 * Progress of a long run: current step, done/total, elapsed and estimated time left. A live line
 * on a terminal (stderr is a TTY), plain lines otherwise.
 */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private done = 0;
  private readonly t0 = performance.now();
  private readonly tty: boolean;
  private lastPlain = 0;
  constructor(
    private total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Steps still to do changed (a backend failed, a scale was skipped). */
  setTotal(total: number): void {
    this.total = Math.max(total, this.done);
  }

  line(step: string): string {
    const elapsed = performance.now() - this.t0;
    const left = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : NaN;
    const pct = this.total ? Math.floor((100 * this.done) / this.total) : 100;
    return `[${this.done}/${this.total} ${pct}%] ${step} · elapsed ${formatDuration(elapsed)} · left ~${formatDuration(left)}`;
  }

  /** Show the step now starting. */
  step(step: string): void {
    if (!this.enabled) return;
    const text = this.line(step);
    if (this.tty) {
      const width = this.stream.columns ? this.stream.columns - 1 : 120;
      this.stream.write(`\r\x1b[K${text.slice(0, width)}`);
    } else if (performance.now() - this.lastPlain > 0) {
      this.lastPlain = performance.now();
      this.stream.write(`${text}\n`);
    }
  }

  advance(n = 1): void {
    this.done = Math.min(this.total, this.done + n);
  }

  /** A message that must stay visible (printed above the live line). */
  note(msg: string): void {
    if (!this.enabled) return;
    if (this.tty) this.stream.write(`\r\x1b[K${msg}\n`);
    else this.stream.write(`${msg}\n`);
  }

  finish(msg: string): void {
    if (!this.enabled) return;
    if (this.tty) this.stream.write(`\r\x1b[K`);
    this.stream.write(`${msg} (${formatDuration(performance.now() - this.t0)})\n`);
  }
}
