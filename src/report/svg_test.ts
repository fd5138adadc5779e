import assert from "node:assert/strict";
import {
  boxPlot,
  boxStats,
  escapeXml,
  formatTick,
  histogram,
  histogramCounts,
  lineChart,
  logTicks,
  makeScale,
  niceTicks,
} from "./svg.ts";

/** Checks that every element is closed in order and attributes are quoted: a small XML check. */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), "root element");
  assert.ok(svg.trimEnd().endsWith("</svg>"), "closed root");
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<>]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of svg.matchAll(tag)) {
    const between = svg.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray markup before ${m[0]}: ${between}`);
    assert.ok(!/&(?!amp;|lt;|gt;|quot;|#39;)/.test(between), `unescaped & in ${between}`);
    last = m.index + m[0].length;
    if (m[1]) assert.equal(stack.pop(), m[2], `closing ${m[2]}`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(svg.slice(last).trim(), "", "trailing text");
  assert.ok(!/="[^"]*(NaN|Infinity|undefined)/.test(svg), "non-finite number written");
}

function paths(svg: string): string[] {
  return [...svg.matchAll(/<path d="([^"]*)" fill="none"/g)].map((m) => m[1]);
}

Deno.test("niceTicks and logTicks", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.13, 0.87), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(3, 3), [1, 2, 3, 4, 5]);
  assert.deepEqual(niceTicks(NaN, NaN), [0, 1]);
  assert.deepEqual(logTicks(0.02, 0.9), [0.01, 0.1, 1]);
  assert.deepEqual(logTicks(1, 1), [0.1, 1, 10]);
  assert.equal(formatTick(0.30000000000000004), "0.3");
  assert.equal(formatTick(1e-5), "1e-5");
});

Deno.test("makeScale maps linear and log domains", () => {
  const s = makeScale([0, 10], [350, 40]);
  assert.equal(s(0), 350);
  assert.equal(s(10), 40);
  assert.equal(s(5), 195);
  const l = makeScale([0.01, 1], [300, 100], true);
  assert.ok(Math.abs(l(0.1) - 200) < 1e-9);
});

Deno.test("lineChart maps data to the plot area (default 640×400, margins 40/20/50/64)", () => {
  const svg = lineChart([{ name: "a", x: [0, 5, 10], y: [0, 0.5, 1] }], { title: "t" });
  assertWellFormed(svg);
  // x: [0, 10] → [64, 620]; y: [0, 1] → [350, 40]
  assert.deepEqual(paths(svg), ["M64,350L342,195L620,40"]);
  assert.equal([...svg.matchAll(/<circle/g)].length, 3);
});

Deno.test("lineChart breaks a line at NaN and ±Infinity and writes no non-finite number", () => {
  const svg = lineChart([{ name: "a", x: [0, 1, 2, 3, 4], y: [0, NaN, 1, Infinity, 1] }], {
    xDomain: [0, 4],
    yDomain: [0, 1],
  });
  assertWellFormed(svg);
  // x: [0, 4] → [64, 620], step 139
  assert.deepEqual(paths(svg), ["M64,350M342,40M620,40"]);
});

Deno.test("lineChart: several series, legend, escaping, log y drops values ≤ 0", () => {
  const svg = lineChart(
    [
      { name: "train <loss> & co", x: [1, 2, 3], y: [1, 0.1, 0.01] },
      { name: "val", x: [1, 2, 3], y: [0, 0.1, 1], dashed: true },
    ],
    { logY: true, xLabel: "epoch", yLabel: "loss" },
  );
  assertWellFormed(svg);
  assert.ok(svg.includes("train &lt;loss&gt; &amp; co"));
  assert.ok(svg.includes('class="legend"'));
  assert.ok(svg.includes("stroke-dasharray"));
  // The legend draws each line series' own dash style: one solid and one dashed key.
  const legendGroup = svg.slice(svg.indexOf('<g class="legend">'));
  const keys = [...legendGroup.matchAll(/<line [^>]*>/g)].map((m) => m[0]);
  assert.equal(keys.length, 2);
  assert.ok(!keys[0].includes("dasharray") && keys[1].includes('stroke-dasharray="4,2"'));
  const [a, b] = paths(svg);
  // y: log10 domain [0.01, 1] → [350, 40]; x: [1, 3] → [64, 620]
  assert.equal(a, "M64,40L342,195L620,350");
  assert.equal(b, "M342,195L620,40");
  assert.throws(() => lineChart([{ name: "bad", x: [1], y: [] }]), RangeError);
});

Deno.test("lineChart with no finite data is still well formed", () => {
  assertWellFormed(lineChart([{ name: "empty", x: [NaN], y: [NaN] }]));
  assertWellFormed(lineChart([]));
});

Deno.test("boxStats: numpy-style quartiles, Tukey whiskers, NaN dropped", () => {
  // numpy.percentile([1..9, 100], [25, 50, 75]) = [3.25, 5.5, 7.75]; IQR 4.5, fences -3.5 / 14.5
  const s = boxStats([1, 2, 3, 4, 5, 6, 7, 8, 9, 100, NaN]);
  assert.equal(s.n, 10);
  assert.equal(s.dropped, 1);
  assert.equal(s.q1, 3.25);
  assert.equal(s.median, 5.5);
  assert.equal(s.q3, 7.75);
  assert.equal(s.whiskerLo, 1);
  assert.equal(s.whiskerHi, 9);
  assert.deepEqual(s.outliers, [100]);
  assert.equal(s.mean, 145 / 10);
  assert.ok(Number.isNaN(boxStats([NaN]).median));
});

Deno.test("boxPlot draws the box at Q1..Q3 on the y scale and notes undefined values", () => {
  const svg = boxPlot(
    [{ name: "otsu", values: [0, 0.25, 0.5, 0.75, 1] }, { name: "none", values: [NaN, NaN] }],
    { yDomain: [0, 1], title: "DSC per tile" },
  );
  assertWellFormed(svg);
  // y: [0, 1] → [350, 40]: Q3 0.75 → 117.5, Q1 0.25 → 272.5 (height 155); median 0.5 → 195
  assert.match(svg, /<rect x="[\d.]+" y="117.5" width="[\d.]+" height="155"/);
  assert.match(svg, /class="median" x1="[\d.]+" y1="195"/);
  assert.ok(svg.includes("n=0, 2 undefined"));
  assert.equal([...svg.matchAll(/class="box"/g)].length, 1);
});

Deno.test("histogramCounts: last bin closed, out of range and NaN ignored", () => {
  assert.deepEqual(Array.from(histogramCounts([0, 0.1, 0.5, 0.99, 1, -1, 2, NaN], 4, 0, 1)), [
    2,
    0,
    1,
    2,
  ]);
  assert.throws(() => histogramCounts([], 0, 0, 1), RangeError);
});

Deno.test("histogram bars: height by count, legend with n", () => {
  const svg = histogram([{ name: "dsc", values: [0.1, 0.1, 0.6, NaN] }], {
    bins: 2,
    range: [0, 1],
  });
  assertWellFormed(svg);
  // y ticks 0..2 → [350, 40]; bin 0 count 2 → y 40, bin 1 count 1 → y 195; x: [0, 1] → [64, 620]
  assert.match(svg, /<rect x="64" y="40" width="278" height="310"/);
  assert.match(svg, /<rect x="342" y="195" width="278" height="155"/);
  assert.ok(svg.includes("dsc (n=3)"));
  assertWellFormed(histogram([{ name: "x", values: [5, 5] }], { normalize: true }));
});

Deno.test("escapeXml", () => {
  assert.equal(
    escapeXml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});
