import assert from "node:assert/strict";
import { formatDuration, Progress } from "./progress.ts";

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(65), "1:05");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(NaN), "?");
});

Deno.test("Progress: plain mode prints count, percent, rate and ETA lines", () => {
  const out: string[] = [];
  const p = new Progress("prepare", 4, {
    tty: false,
    intervalMs: 0,
    unit: "tiles",
    write: (t) => out.push(t),
  });
  p.tick();
  p.tick(3, "loss 0.5");
  p.done();
  // The last tick reached the total; done() does not repeat that line.
  assert.equal(out.length, 2);
  assert.match(out[0], /^prepare: 1\/4 \(25%\) [\d.]+ tiles\/s elapsed \d+:\d\d ETA /);
  assert.match(out[1], /4\/4 \(100%\).* loss 0\.5\n$/);
  // A new summary in done() is printed.
  const q = new Progress("x", 1, { tty: false, intervalMs: 0, write: (t) => out.push(t) });
  q.tick();
  q.done("ok 3 tiles");
  assert.match(out.at(-1)!, /1\/1 .* ok 3 tiles\n$/);
});

Deno.test("Progress: terminal mode redraws one line with a bar", () => {
  const out: string[] = [];
  const p = new Progress("train", 2, { tty: true, write: (t) => out.push(t) });
  p.tick(2);
  p.done();
  assert.ok(out.every((t) => t.startsWith("\r\x1b[2Ktrain ")));
  assert.ok(out.at(-1)!.endsWith("\n"));
  assert.ok(out.at(-1)!.includes("█".repeat(24)));
});
