/**
 * A progress reporter for long work: on a terminal, a redrawn bar with count, rate and ETA; when
 * stderr is not a terminal (CI, logs), a plain line at most every `intervalMs` and at the end.
 *
 * @module
 */

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /** Unit shown after the rate, e.g. "tiles". Default "items". */
  unit?: string;
  /** Force terminal (bar) or plain-line mode. Default: `Deno.stderr.isTerminal()`. */
  tty?: boolean;
  /** Minimum time between plain lines. Default 5000 ms. */
  intervalMs?: number;
  /** Where lines go. Default: stderr. */
  write?: (text: string) => void;
  /** Silence everything (tests). */
  quiet?: boolean;
}

const encoder = new TextEncoder();

/** Formats seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/**
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress("prepare", 3, { quiet: true });
 * p.tick(); p.tick(); p.tick();
 * console.assert(p.count === 3);
 * p.done();
 * ```
 */
export class Progress {
  readonly label: string;
  readonly total: number;
  #count = 0;
  #start = performance.now();
  #lastPrint = 0;
  #opts: Required<Omit<ProgressOptions, "write">> & { write: (t: string) => void };
  #extra = "";
  /** Count and extra text of the last plain line, so `done()` does not repeat it. */
  #printed: { count: number; extra: string } | undefined;

  constructor(label: string, total: number, opts: ProgressOptions = {}) {
    this.label = label;
    this.total = total;
    this.#opts = {
      unit: opts.unit ?? "items",
      tty: opts.tty ?? Deno.stderr.isTerminal(),
      intervalMs: opts.intervalMs ?? 5000,
      quiet: opts.quiet ?? false,
      write: opts.write ?? ((t) => Deno.stderr.writeSync(encoder.encode(t))),
    };
  }

  /** Items done so far. */
  get count(): number {
    return this.#count;
  }

  /** Marks `n` more items done; `extra` (e.g. "loss 0.41") is shown after the ETA. */
  tick(n = 1, extra?: string): void {
    this.#count += n;
    if (extra !== undefined) this.#extra = extra;
    const now = performance.now();
    const interval = this.#opts.tty ? 100 : this.#opts.intervalMs;
    if (now - this.#lastPrint >= interval || this.#count >= this.total) {
      this.#lastPrint = now;
      this.#render(false);
    }
  }

  /** Prints the final state (a newline on a terminal). */
  done(extra?: string): void {
    if (extra !== undefined) this.#extra = extra;
    this.#render(true);
  }

  /** The status text: `label 45/100 (45%) 12.3 tiles/s ETA 0:05 extra`. */
  status(): string {
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = elapsed > 0 ? this.#count / elapsed : 0;
    const pct = this.total > 0 ? Math.floor((100 * this.#count) / this.total) : 100;
    const eta = rate > 0 ? (this.total - this.#count) / rate : NaN;
    const rateText = rate >= 10 ? rate.toFixed(0) : rate.toFixed(2);
    return `${this.#count}/${this.total} (${pct}%) ${rateText} ${this.#opts.unit}/s ` +
      `elapsed ${formatDuration(elapsed)} ETA ${formatDuration(eta)}` +
      (this.#extra ? ` ${this.#extra}` : "");
  }

  #render(final: boolean): void {
    if (this.#opts.quiet) return;
    if (this.#opts.tty) {
      const width = 24;
      const filled = this.total > 0
        ? Math.min(width, Math.round((width * this.#count) / this.total))
        : width;
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.#opts.write(`\r\x1b[2K${this.label} ${bar} ${this.status()}${final ? "\n" : ""}`);
    } else {
      // The final tick already printed the finished state: done() adds nothing new then.
      const p = this.#printed;
      if (final && p !== undefined && p.count === this.#count && p.extra === this.#extra) return;
      this.#printed = { count: this.#count, extra: this.#extra };
      this.#opts.write(`${this.label}: ${this.status()}\n`);
    }
  }
}
