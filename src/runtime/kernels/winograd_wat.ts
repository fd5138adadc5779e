/**
 * WebAssembly text of the Winograd F(2×2, 3×3) convolution, generated at build time and appended
 * to `wasm_ops.wat` by `./wasm_ops_build.ts` (the transforms are sixteen-fold unrolled, which is
 * clearer as a generator than written out).
 *
 * A stride-1 3×3 convolution of NHWC `x` is computed per 2×2 output tile t from the 4×4 input
 * patch d under it (Lavin & Gray 2016): Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, channels summed inside the
 * ⊙. Summing over input channels turns the sixteen element-wise products into sixteen matmuls
 * M[ξ] (tiles × Cout) = V[ξ] (tiles × Cin) · U[ξ] (Cin × Cout): 16 multiply–adds per tile and
 * channel pair instead of 36, a 2.25× cut. The transforms are additions (and halvings in G) done
 * four channels per instruction.
 *
 * The filter gradient dW[i][j] = Σ_t Σ_ab d[i + a][j + b] · e[a][b] (d the 4×4 input patch, e the
 * 2×2 tile of dy) is F(3×3, 2×2), the transpose of the same algorithm: dW = Gᵀ [ Σ_t (A e Aᵀ) ⊙
 * (Bᵀ d B) ] G, with the same input transform and sixteen matmuls summing over tiles
 * (M[ξ] = V[ξ]ᵀ E[ξ], Cin × Cout), transformed back once.
 *
 * | function | work |
 * |---|---|
 * | `wino_filter` | U[ξ][ci][co] = (G g Gᵀ)[ξ] from HWIO `g` (once per call) |
 * | `wino_in` | V[ξ][t][ci] = (Bᵀ d B)[ξ] for a block of tiles, zero outside the image |
 * | `wino_gemm` | out = a · b, rows % 4 = 0, cols % 8 = 0, 4 × 8 register tiles |
 * | `wino_out` | y = Aᵀ M A (+ bias, ReLU) for a block of tiles, clipped to the output |
 * | `wino_conv` | a range of tiles in blocks: `wino_in`, 16 × `wino_gemm`, `wino_out` |
 * | `wino_dy` | E[ξ][t][co] = (A e Aᵀ)[ξ] for the 2×2 dy tile e (filter gradient) |
 * | `wino_gemm_tn` | out += aᵀ · b: M[ξ] (Cin × Cout) summed over tiles |
 * | `wino_dw` | a range of tiles in blocks: `wino_in`, `wino_dy`, 16 × `wino_gemm_tn` |
 * | `wino_filter_out` | dW = Gᵀ M G (two threads' M summed) |
 *
 * `fma` true makes `wino_gemm` use relaxed SIMD's `f32x4.relaxed_madd` (one fused multiply–add
 * where the processor has it) instead of `f32x4.mul` + `f32x4.add`.
 *
 * @module
 */

/** Bᵀ of F(2, 3) applied to four values (the rows or the columns of a 4×4 patch). */
function bt(d: string[]): string[] {
  return [
    sub(d[0], d[2]),
    add(d[1], d[2]),
    sub(d[2], d[1]),
    sub(d[1], d[3]),
  ];
}

/** Aᵀ of F(2, 3) applied to four values. */
function at(m: string[]): string[] {
  return [add(add(m[0], m[1]), m[2]), sub(sub(m[1], m[2]), m[3])];
}

/** G of F(2, 3) applied to three values (`half` holds 0.5 in each lane). */
function g3(g: string[]): string[] {
  const half = "(local.get $half)";
  return [
    g[0],
    mul(half, add(add(g[0], g[1]), g[2])),
    mul(half, add(sub(g[0], g[1]), g[2])),
    g[2],
  ];
}

const add = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const mul = (a: string, b: string) => `(f32x4.mul ${a} ${b})`;
const get = (name: string) => `(local.get $${name})`;
const locals = (names: string[], type: string) =>
  names.map((n) => `(local $${n} ${type})`).join(" ");
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** c + a·b on vector locals: one relaxed-SIMD fused multiply–add, or a multiply and an add. */
function madd(fma: boolean, a: string, b: string, c: string): string {
  return fma
    ? `(f32x4.relaxed_madd ${get(a)} ${get(b)} ${get(c)})`
    : add(mul(get(a), get(b)), get(c));
}

/**
 * The tile loop's branch for a tile at or past `$tEnd`: its sixteen rows (`rowB` bytes each, `$xiB`
 * apart) are zeroed and the loop moves on.
 */
function zeroPastEnd(rowB: string): string {
  return `(if (i32.ge_u (local.get $t) (local.get $tEnd)) (then
        (local.set $cb (i32.const 0))
        (block $zDone (loop $zs
          (br_if $zDone (i32.ge_u (local.get $cb) (i32.mul (local.get $xiB) (i32.const 16))))
          (memory.fill (i32.add (local.get $dst) (local.get $cb)) (i32.const 0) (local.get ${rowB}))
          (local.set $cb (i32.add (local.get $cb) (local.get $xiB)))
          (br $zs)))
        (local.set $tl (i32.add (local.get $tl) (i32.const 1)))
        (br $ts)))`;
}

/**
 * Two-pass 4×4 transform: `rows` applied down each column of `src` (names `src[i][j]`), into
 * temporaries `t`, then `cols` along each row. Returns the `local.set`s and the result names.
 */
function transform2d(
  src: string[][],
  rows: (v: string[]) => string[],
  cols: (v: string[]) => string[],
  tmp: string,
  out: string,
): { code: string[]; result: string[][] } {
  const code: string[] = [];
  const nj = src[0].length;
  const t: string[][] = [];
  for (let j = 0; j < nj; j++) {
    const r = rows(src.map((row) => get(row[j])));
    r.forEach((e, i) => {
      (t[i] ??= [])[j] = `${tmp}${i}${j}`;
      code.push(`(local.set $${tmp}${i}${j} ${e})`);
    });
  }
  const result: string[][] = [];
  t.forEach((row, i) => {
    cols(row.map(get)).forEach((e, j) => {
      (result[i] ??= [])[j] = `${out}${i}${j}`;
      code.push(`(local.set $${out}${i}${j} ${e})`);
    });
  });
  return { code, result };
}

function names(prefix: string, ni: number, nj: number): string[][] {
  return range(ni).map((i) => range(nj).map((j) => `${prefix}${i}${j}`));
}

function winoFilter(): string {
  const g = names("g", 3, 3);
  const { code, result } = transform2d(g, g3, g3, "t", "u");
  const loads = g.flatMap((row, k) =>
    row.map((name, l) =>
      `(local.set $${name} (v128.load (i32.add (local.get $src) (i32.mul (i32.const ${
        k * 3 + l
      }) (local.get $tapB)))))`
    )
  );
  const stores = result.flat().map((name, xi) =>
    `(v128.store (i32.add (local.get $dst) (i32.mul (i32.const ${xi}) (local.get $xiB))) ${
      get(name)
    })`
  );
  return `
  ;; U[ξ][q][r] = (G g[·][·][q][r] Gᵀ)[ξ] for HWIO g [3][3][ci][co], co % 4 == 0; U is [16][ci][co].
  (func (export "wino_filter") (param $g i32) (param $ci i32) (param $co i32) (param $u i32)
    (local $q i32) (local $cb i32) (local $coB i32) (local $tapB i32) (local $xiB i32)
    (local $src i32) (local $dst i32) (local $half v128)
    ${locals(g.flat(), "v128")} ${locals(names("t", 4, 3).flat(), "v128")}
    ${locals(names("u", 4, 4).flat(), "v128")}
    (local.set $half (f32x4.splat (f32.const 0.5)))
    (local.set $coB (i32.shl (local.get $co) (i32.const 2)))
    (local.set $tapB (i32.mul (local.get $ci) (local.get $coB)))
    (local.set $xiB (local.get $tapB))
    (block $qDone (loop $qs
      (br_if $qDone (i32.ge_u (local.get $q) (local.get $ci)))
      (local.set $cb (i32.const 0))
      (block $cDone (loop $cs
        (br_if $cDone (i32.ge_u (local.get $cb) (local.get $coB)))
        (local.set $src (i32.add (i32.add (local.get $g) (i32.mul (local.get $q) (local.get $coB))) (local.get $cb)))
        (local.set $dst (i32.add (i32.add (local.get $u) (i32.mul (local.get $q) (local.get $coB))) (local.get $cb)))
        ${loads.join("\n        ")}
        ${code.join("\n        ")}
        ${stores.join("\n        ")}
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br $cs)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $qs))))`;
}

/** Tile `t` of a [n][th][tw] grid → `$img`, `$ty`, `$tx` (all i32 locals). */
const tileCoords = `
      (local.set $img (i32.div_u (local.get $t) (local.get $tpi)))
      (local.set $rem (i32.sub (local.get $t) (i32.mul (local.get $img) (local.get $tpi))))
      (local.set $ty (i32.div_u (local.get $rem) (local.get $tw)))
      (local.set $tx (i32.sub (local.get $rem) (i32.mul (local.get $ty) (local.get $tw))))`;

function winoIn(): string {
  const d = names("d", 4, 4);
  const { code, result } = transform2d(d, bt, bt, "t", "v");
  const zero = "(v128.const i32x4 0 0 0 0)";
  const loads = d.flatMap((row, i) =>
    row.map((name, j) =>
      `(local.set $${name} (if (result v128) (i32.and (local.get $r${i}) (local.get $c${j})) ` +
      `(then (v128.load (i32.add (local.get $p${i}) (i32.add (local.get $cb) (i32.mul (i32.const ${j}) (local.get $ciB)))))) ` +
      `(else ${zero})))`
    )
  );
  const stores = result.flat().map((name, xi) =>
    `(v128.store (i32.add (local.get $dst) (i32.mul (i32.const ${xi}) (local.get $xiB))) ${
      get(name)
    })`
  );
  const flags = range(4).map((i) => `
      (local.set $r${i} (i32.lt_u (i32.add (local.get $y0) (i32.const ${i})) (local.get $h)))
      (local.set $c${i} (i32.lt_u (i32.add (local.get $x0) (i32.const ${i})) (local.get $w)))
      (local.set $p${i} (i32.add (local.get $x) (i32.mul (local.get $ciB)
        (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $h)) (i32.add (local.get $y0) (i32.const ${i}))) (local.get $w)) (local.get $x0)))))`);
  return `
  ;; V[ξ][tl][q] = (Bᵀ d B)[ξ] for tiles t0 + tl, tl < tb, of NHWC x [·][h][w][ci] (ci % 4 == 0):
  ;; tile t = (img, ty, tx) of a [·][th][tw] grid (tpi = th·tw) reads rows 2ty − padT … + 3 and
  ;; columns 2tx − padL … + 3, zeros outside the image. Tiles at or past tEnd are zero rows.
  (func $wino_in (export "wino_in")
    (param $x i32) (param $h i32) (param $w i32) (param $ci i32) (param $padT i32) (param $padL i32)
    (param $tw i32) (param $tpi i32) (param $t0 i32) (param $tb i32) (param $tEnd i32) (param $v i32)
    (local $tl i32) (local $t i32) (local $img i32) (local $rem i32) (local $ty i32) (local $tx i32)
    (local $y0 i32) (local $x0 i32) (local $ciB i32) (local $xiB i32) (local $cb i32) (local $dst i32)
    ${locals(range(4).flatMap((i) => [`r${i}`, `c${i}`, `p${i}`]), "i32")}
    ${locals(d.flat(), "v128")} ${locals(names("t", 4, 4).flat(), "v128")}
    ${locals(result.flat(), "v128")}
    (local.set $ciB (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $xiB (i32.mul (local.get $tb) (local.get $ciB)))
    (block $tDone (loop $ts
      (br_if $tDone (i32.ge_u (local.get $tl) (local.get $tb)))
      (local.set $t (i32.add (local.get $t0) (local.get $tl)))
      (local.set $dst (i32.add (local.get $v) (i32.mul (local.get $tl) (local.get $ciB))))
      ${zeroPastEnd("$ciB")}
      ${tileCoords}
      (local.set $y0 (i32.sub (i32.shl (local.get $ty) (i32.const 1)) (local.get $padT)))
      (local.set $x0 (i32.sub (i32.shl (local.get $tx) (i32.const 1)) (local.get $padL)))
      ${flags.join("")}
      (local.set $cb (i32.const 0))
      (block $cDone (loop $cs
        (br_if $cDone (i32.ge_u (local.get $cb) (local.get $ciB)))
        ${loads.join("\n        ")}
        ${code.join("\n        ")}
        ${stores.join("\n        ")}
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br $cs)))
      (local.set $tl (i32.add (local.get $tl) (i32.const 1)))
      (br $ts))))`;
}

function winoOut(): string {
  const m = names("m", 4, 4);
  const { code, result } = transform2d(m, at, at, "s", "y");
  const loads = m.flat().map((name, xi) =>
    `(local.set $${name} (v128.load (i32.add (local.get $src) (i32.mul (i32.const ${xi}) (local.get $xiB)))))`
  );
  const post = (name: string) =>
    `(local.set $${name} (f32x4.add ${get(name)} (local.get $b)))
        (if (local.get $relu) (then (local.set $${name} (f32x4.max ${
      get(name)
    } (local.get $zero)))))`;
  const store = (i: number, j: number) => {
    const addr = `(i32.add (local.get $q) (i32.add (i32.mul (i32.const ${i}) (local.get $rowB)) ` +
      `(i32.mul (i32.const ${j}) (local.get $coB))))`;
    const st = `(v128.store ${addr} ${get(result[i][j])})`;
    const cond = [i === 1 ? "(local.get $row1)" : "", j === 1 ? "(local.get $col1)" : ""].filter(
      Boolean,
    );
    if (cond.length === 0) return st;
    const c = cond.length === 2 ? `(i32.and ${cond[0]} ${cond[1]})` : cond[0];
    return `(if ${c} (then ${st}))`;
  };
  return `
  ;; y[img][2ty + i][2tx + j][r] = (Aᵀ M A)[i][j] + bias[r] (then max(·, 0) when relu) for tiles
  ;; t0 + tl, tl < tb, t < tEnd; M is [16][tb][co]; output rows/columns ≥ ho/wo are skipped.
  ;; bias 0: none.
  (func $wino_out (export "wino_out")
    (param $mm i32) (param $y i32) (param $bias i32) (param $relu i32) (param $ho i32) (param $wo i32)
    (param $co i32) (param $tw i32) (param $tpi i32) (param $t0 i32) (param $tb i32) (param $tEnd i32)
    (local $tl i32) (local $t i32) (local $img i32) (local $rem i32) (local $ty i32) (local $tx i32)
    (local $coB i32) (local $rowB i32) (local $xiB i32) (local $cb i32) (local $src i32) (local $q i32)
    (local $row1 i32) (local $col1 i32) (local $b v128) (local $zero v128)
    ${locals(m.flat(), "v128")} ${locals(names("s", 2, 4).flat(), "v128")}
    ${locals(result.flat(), "v128")}
    (local.set $coB (i32.shl (local.get $co) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $wo) (local.get $coB)))
    (local.set $xiB (i32.mul (local.get $tb) (local.get $coB)))
    (block $tDone (loop $ts
      (br_if $tDone (i32.ge_u (local.get $tl) (local.get $tb)))
      (local.set $t (i32.add (local.get $t0) (local.get $tl)))
      (br_if $tDone (i32.ge_u (local.get $t) (local.get $tEnd)))
      ${tileCoords}
      (local.set $row1 (i32.lt_u (i32.add (i32.shl (local.get $ty) (i32.const 1)) (i32.const 1)) (local.get $ho)))
      (local.set $col1 (i32.lt_u (i32.add (i32.shl (local.get $tx) (i32.const 1)) (i32.const 1)) (local.get $wo)))
      (local.set $cb (i32.const 0))
      (block $cDone (loop $cs
        (br_if $cDone (i32.ge_u (local.get $cb) (local.get $coB)))
        (local.set $src (i32.add (i32.add (local.get $mm) (i32.mul (local.get $tl) (local.get $coB))) (local.get $cb)))
        ;; q = y + 4·(((img·ho + 2ty)·wo + 2tx)·co) + cb
        (local.set $q (i32.add (i32.add (local.get $y) (i32.mul (local.get $coB)
          (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $ho)) (i32.shl (local.get $ty) (i32.const 1))) (local.get $wo))
            (i32.shl (local.get $tx) (i32.const 1))))) (local.get $cb)))
        (local.set $b (if (result v128) (local.get $bias)
          (then (v128.load (i32.add (local.get $bias) (local.get $cb)))) (else (local.get $zero))))
        ${loads.join("\n        ")}
        ${code.join("\n        ")}
        ${result.flat().map(post).join("\n        ")}
        ${range(2).flatMap((i) => range(2).map((j) => store(i, j))).join("\n        ")}
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br $cs)))
      (local.set $tl (i32.add (local.get $tl) (i32.const 1)))
      (br $ts))))`;
}

function winoGemm(fma: boolean): string {
  const acc = range(4).flatMap((i) => [`c${i}0`, `c${i}1`]);
  const body = range(4).map((i) => `
        (local.set $a (v128.load32_splat (local.get $pa${i})))
        (local.set $c${i}0 ${madd(fma, "a", "b0", `c${i}0`)})
        (local.set $c${i}1 ${madd(fma, "a", "b1", `c${i}1`)})`).join("");
  const stores = range(4).map((i) => {
    const o = i === 0
      ? "(local.get $o)"
      : `(i32.add (local.get $o) (i32.mul (i32.const ${i}) (local.get $rowB)))`;
    return `(v128.store ${o} (local.get $c${i}0)) (v128.store offset=16 ${o} (local.get $c${i}1))`;
  });
  return `
  ;; out [rows][cols] = a [rows][k] · b [k][cols]; rows % 4 == 0, cols % 8 == 0. 4 × 8 register
  ;; tiles: per step of k, two vectors of b and four splatted scalars of a.
  (func $wino_gemm (export "wino_gemm")
    (param $pa i32) (param $pbm i32) (param $rows i32) (param $k i32) (param $cols i32) (param $out i32)
    (local $q i32) (local $r i32) (local $kB i32) (local $rowB i32) (local $o i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $pend i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) ${locals(acc, "v128")}
    (local.set $kB (i32.shl (local.get $k) (i32.const 2)))
    (local.set $rowB (i32.shl (local.get $cols) (i32.const 2)))
    (block $qDone (loop $qs
      (br_if $qDone (i32.ge_u (local.get $q) (local.get $rows)))
      (local.set $r (i32.const 0))
      (block $rDone (loop $rs
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $cols)))
        ${acc.map((c) => `(local.set $${c} (v128.const i32x4 0 0 0 0))`).join(" ")}
        (local.set $pa0 (i32.add (local.get $pa) (i32.mul (local.get $q) (local.get $kB))))
        (local.set $pa1 (i32.add (local.get $pa0) (local.get $kB)))
        (local.set $pa2 (i32.add (local.get $pa1) (local.get $kB)))
        (local.set $pa3 (i32.add (local.get $pa2) (local.get $kB)))
        (local.set $pb (i32.add (local.get $pbm) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $pend (i32.add (local.get $pb) (i32.mul (local.get $k) (local.get $rowB))))
        (block $kDone (loop $ks
          (br_if $kDone (i32.ge_u (local.get $pb) (local.get $pend)))
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))${body}
          (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
          (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
          (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
          (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
          (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
          (br $ks)))
        (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $q) (local.get $rowB)) (i32.shl (local.get $r) (i32.const 2)))))
        ${stores.join("\n        ")}
        (local.set $r (i32.add (local.get $r) (i32.const 8)))
        (br $rs)))
      (local.set $q (i32.add (local.get $q) (i32.const 4)))
      (br $qs))))`;
}

/** A of F(2, 3) (4 × 2) applied to two values: the dy tile's transform for the filter gradient. */
function a4(e: string[]): string[] {
  return [e[0], add(e[0], e[1]), sub(e[0], e[1]), `(f32x4.neg ${e[1]})`];
}

/** Gᵀ of F(2, 3) (3 × 4) applied to four values (`half` holds 0.5 in each lane). */
function gt(m: string[]): string[] {
  const half = "(local.get $half)";
  return [
    add(m[0], mul(half, add(m[1], m[2]))),
    mul(half, sub(m[1], m[2])),
    add(mul(half, add(m[1], m[2])), m[3]),
  ];
}

function winoDy(): string {
  const e = names("e", 2, 2);
  const { code, result } = transform2d(e, a4, a4, "t", "v");
  const zero = "(v128.const i32x4 0 0 0 0)";
  const valid = [["", "(local.get $col1)"], [
    "(local.get $row1)",
    "(i32.and (local.get $row1) (local.get $col1))",
  ]];
  const loads = e.flatMap((row, a) =>
    row.map((name, b) => {
      const addr =
        `(i32.add (local.get $src) (i32.add (i32.mul (i32.const ${a}) (local.get $rowB)) (i32.mul (i32.const ${b}) (local.get $coB))))`;
      const load = `(v128.load ${addr})`;
      return valid[a][b] === ""
        ? `(local.set $${name} ${load})`
        : `(local.set $${name} (if (result v128) ${valid[a][b]} (then ${load}) (else ${zero})))`;
    })
  );
  const stores = result.flat().map((name, xi) =>
    `(v128.store (i32.add (local.get $dst) (i32.mul (i32.const ${xi}) (local.get $xiB))) ${
      get(name)
    })`
  );
  return `
  ;; E[ξ][tl][r] = (A e Aᵀ)[ξ] for the 2×2 tile e of NHWC dy [·][ho][wo][co] at tile t0 + tl
  ;; (zeros outside dy; zero rows at or past tEnd): the filter gradient's F(3×3, 2×2) transform.
  (func $wino_dy (export "wino_dy")
    (param $dy i32) (param $ho i32) (param $wo i32) (param $co i32) (param $tw i32) (param $tpi i32)
    (param $t0 i32) (param $tb i32) (param $tEnd i32) (param $ee i32)
    (local $tl i32) (local $t i32) (local $img i32) (local $rem i32) (local $ty i32) (local $tx i32)
    (local $coB i32) (local $rowB i32) (local $xiB i32) (local $cb i32) (local $src i32) (local $dst i32)
    (local $row1 i32) (local $col1 i32)
    ${locals(e.flat(), "v128")} ${locals(names("t", 4, 2).flat(), "v128")}
    ${locals(result.flat(), "v128")}
    (local.set $coB (i32.shl (local.get $co) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $wo) (local.get $coB)))
    (local.set $xiB (i32.mul (local.get $tb) (local.get $coB)))
    (block $tDone (loop $ts
      (br_if $tDone (i32.ge_u (local.get $tl) (local.get $tb)))
      (local.set $t (i32.add (local.get $t0) (local.get $tl)))
      (local.set $dst (i32.add (local.get $ee) (i32.mul (local.get $tl) (local.get $coB))))
      ${zeroPastEnd("$coB")}
      ${tileCoords}
      (local.set $row1 (i32.lt_u (i32.add (i32.shl (local.get $ty) (i32.const 1)) (i32.const 1)) (local.get $ho)))
      (local.set $col1 (i32.lt_u (i32.add (i32.shl (local.get $tx) (i32.const 1)) (i32.const 1)) (local.get $wo)))
      (local.set $src (i32.add (local.get $dy) (i32.mul (local.get $coB)
        (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $ho)) (i32.shl (local.get $ty) (i32.const 1))) (local.get $wo))
          (i32.shl (local.get $tx) (i32.const 1))))))
      (local.set $cb (i32.const 0))
      (block $cDone (loop $cs
        (br_if $cDone (i32.ge_u (local.get $cb) (local.get $coB)))
        ${loads.join("\n        ")}
        ${code.join("\n        ")}
        ${stores.join("\n        ")}
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br $cs)))
      (local.set $tl (i32.add (local.get $tl) (i32.const 1)))
      (br $ts))))`;
}

function winoGemmTn(fma: boolean): string {
  const acc = range(4).flatMap((i) => [`c${i}0`, `c${i}1`]);
  const body = range(4).map((i) => `
          (local.set $a (v128.load32_splat offset=${4 * i} (local.get $pa)))
          (local.set $c${i}0 ${madd(fma, "a", "b0", `c${i}0`)})
          (local.set $c${i}1 ${madd(fma, "a", "b1", `c${i}1`)})`).join("");
  const at = (i: number) =>
    i === 0
      ? "(local.get $o)"
      : `(i32.add (local.get $o) (i32.mul (i32.const ${i}) (local.get $rowB)))`;
  const loads = range(4).map((i) =>
    `(local.set $c${i}0 (v128.load ${at(i)})) (local.set $c${i}1 (v128.load offset=16 ${at(i)}))`
  );
  const stores = range(4).map((i) =>
    `(v128.store ${at(i)} (local.get $c${i}0)) (v128.store offset=16 ${at(i)} (local.get $c${i}1))`
  );
  return `
  ;; out [rows][cols] += aᵀ · b for a [k][lda] (its first rows columns used) and b [k][cols];
  ;; rows % 4 == 0, cols % 8 == 0: the filter gradient's sums over tiles, 4 × 8 register tiles.
  (func $wino_gemm_tn (export "wino_gemm_tn")
    (param $am i32) (param $bm i32) (param $rows i32) (param $k i32) (param $cols i32) (param $lda i32)
    (param $out i32)
    (local $q i32) (local $r i32) (local $ldaB i32) (local $rowB i32) (local $o i32)
    (local $pa i32) (local $pb i32) (local $pend i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) ${locals(acc, "v128")}
    (local.set $ldaB (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $rowB (i32.shl (local.get $cols) (i32.const 2)))
    (block $qDone (loop $qs
      (br_if $qDone (i32.ge_u (local.get $q) (local.get $rows)))
      (local.set $r (i32.const 0))
      (block $rDone (loop $rs
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $cols)))
        (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $q) (local.get $rowB)) (i32.shl (local.get $r) (i32.const 2)))))
        ${loads.join("\n        ")}
        (local.set $pa (i32.add (local.get $am) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $pb (i32.add (local.get $bm) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $pend (i32.add (local.get $pb) (i32.mul (local.get $k) (local.get $rowB))))
        (block $kDone (loop $ks
          (br_if $kDone (i32.ge_u (local.get $pb) (local.get $pend)))
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))${body}
          (local.set $pa (i32.add (local.get $pa) (local.get $ldaB)))
          (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
          (br $ks)))
        ${stores.join("\n        ")}
        (local.set $r (i32.add (local.get $r) (i32.const 8)))
        (br $rs)))
      (local.set $q (i32.add (local.get $q) (i32.const 4)))
      (br $qs))))`;
}

function winoFilterOut(): string {
  const m = names("m", 4, 4);
  const { code, result } = transform2d(m, gt, gt, "t", "w");
  const loads = m.flat().map((name, xi) => {
    const at = (base: string) =>
      `(v128.load (i32.add (local.get ${base}) (i32.mul (i32.const ${xi}) (local.get $xiB))))`;
    return `(local.set $${name} (if (result v128) (local.get $m1)
          (then (f32x4.add ${at("$src")} ${at("$src1")})) (else ${at("$src")})))`;
  });
  const stores = result.flat().map((name, tap) =>
    `(v128.store (i32.add (local.get $dst) (i32.mul (i32.const ${tap}) (local.get $xiB))) ${
      get(name)
    })`
  );
  return `
  ;; dw[i][j][q][r] = (Gᵀ M G)[i][j] with M = m0 + m1 (m1 0: m0 alone), M [16][ci][co], dw HWIO
  ;; [3][3][ci][co]: the filter gradient's output transform, once per call.
  (func (export "wino_filter_out") (param $m0 i32) (param $m1 i32) (param $ci i32) (param $co i32)
    (param $dw i32)
    (local $q i32) (local $cb i32) (local $coB i32) (local $xiB i32) (local $off i32)
    (local $src i32) (local $src1 i32) (local $dst i32) (local $half v128)
    ${locals(m.flat(), "v128")} ${locals(names("t", 3, 4).flat(), "v128")}
    ${locals(result.flat(), "v128")}
    (local.set $half (f32x4.splat (f32.const 0.5)))
    (local.set $coB (i32.shl (local.get $co) (i32.const 2)))
    (local.set $xiB (i32.mul (local.get $ci) (local.get $coB)))
    (block $qDone (loop $qs
      (br_if $qDone (i32.ge_u (local.get $q) (local.get $ci)))
      (local.set $cb (i32.const 0))
      (block $cDone (loop $cs
        (br_if $cDone (i32.ge_u (local.get $cb) (local.get $coB)))
        (local.set $off (i32.add (i32.mul (local.get $q) (local.get $coB)) (local.get $cb)))
        (local.set $src (i32.add (local.get $m0) (local.get $off)))
        (local.set $src1 (i32.add (local.get $m1) (local.get $off)))
        (local.set $dst (i32.add (local.get $dw) (local.get $off)))
        ${loads.join("\n        ")}
        ${code.join("\n        ")}
        ${stores.join("\n        ")}
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br $cs)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $qs))))`;
}

/**
 * The body of `wino_conv` / `wino_dw`: reads tb, ci and co from the parameter block, points
 * `$second` past the block's first buffer (16·tb·ci floats of scratch), then for each block of tb
 * tiles in [t0, t1) runs `block` with `$t0` and `$end` set.
 */
function blockDriver(
  slot: (name: "tb" | "ci" | "co") => string,
  second: string,
  block: string,
): string {
  return `(local.set $tb ${slot("tb")})
    (local.set $ci ${slot("ci")})
    (local.set $co ${slot("co")})
    (local.set $${second} (i32.add (local.get $scratch) (i32.shl (i32.mul (i32.mul (local.get $tb) (local.get $ci)) (i32.const 16)) (i32.const 2))))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $t0) (local.get $t1)))
      (local.set $end (i32.add (local.get $t0) (local.get $tb)))
      (if (i32.gt_u (local.get $end) (local.get $t1)) (then (local.set $end (local.get $t1))))
      ${block}
      (local.set $t0 (local.get $end))
      (br $blocks))))`;
}

/** `(call $name …)` for ξ = 0 … 15 (the local `$xi`). */
function xiLoop(call: string): string {
  return `(local.set $xi (i32.const 0))
      (block $xiDone (loop $xis
        (br_if $xiDone (i32.ge_u (local.get $xi) (i32.const 16)))
        ${call}
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br $xis)))`;
}

/** Slots of the i32 parameter block that `wino_dw` reads (byte offset = 4 × slot). */
export const WINO_DW_PARAMS = [
  "x",
  "dy",
  "h",
  "w",
  "ci",
  "co",
  "ho",
  "wo",
  "padT",
  "padL",
  "tw",
  "tpi",
  "tb",
] as const;

function winoDw(): string {
  const slot = (name: (typeof WINO_DW_PARAMS)[number]) =>
    `(i32.load offset=${4 * WINO_DW_PARAMS.indexOf(name)} (local.get $p))`;
  return `
  ;; M[ξ] += Vᵀ E over tiles [t0, t1) of dy's 2×2 tile grid (parameter block p: WINO_DW_PARAMS in
  ;; winograd_wat.ts), in blocks of tb tiles through scratch (16·tb·(ci + co) floats); M is
  ;; [16][ci][co], accumulated (the caller zeroes it). wino_filter_out finishes the gradient.
  (func (export "wino_dw") (param $p i32) (param $t0 i32) (param $t1 i32) (param $scratch i32)
    (param $m i32)
    (local $tb i32) (local $ci i32) (local $co i32) (local $ee i32) (local $xi i32) (local $end i32)
    ${
    blockDriver(
      slot,
      "ee",
      `(call $wino_in ${slot("x")} ${slot("h")} ${slot("w")} (local.get $ci) ${slot("padT")}
        ${slot("padL")} ${slot("tw")} ${
        slot("tpi")
      } (local.get $t0) (local.get $tb) (local.get $end)
        (local.get $scratch))
      (call $wino_dy ${slot("dy")} ${slot("ho")} ${slot("wo")} (local.get $co) ${slot("tw")}
        ${slot("tpi")} (local.get $t0) (local.get $tb) (local.get $end) (local.get $ee))
      ${
        xiLoop(`(call $wino_gemm_tn
          (i32.add (local.get $scratch) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $tb)) (local.get $ci)) (i32.const 2)))
          (i32.add (local.get $ee) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $tb)) (local.get $co)) (i32.const 2)))
          (local.get $ci) (local.get $tb) (local.get $co) (local.get $ci)
          (i32.add (local.get $m) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $ci)) (local.get $co)) (i32.const 2))))`)
      }`,
    )
  }`;
}

/** Slots of the i32 parameter block that `wino_conv` reads (byte offset = 4 × slot). */
export const WINO_PARAMS = [
  "x",
  "u",
  "y",
  "bias",
  "relu",
  "h",
  "w",
  "ci",
  "co",
  "ho",
  "wo",
  "padT",
  "padL",
  "tw",
  "tpi",
  "tb",
] as const;

function winoConv(): string {
  const slot = (name: (typeof WINO_PARAMS)[number]) =>
    `(i32.load offset=${4 * WINO_PARAMS.indexOf(name)} (local.get $p))`;
  return `
  ;; Tiles [t0, t1) of the convolution described by the parameter block p (slots: WINO_PARAMS in
  ;; winograd_wat.ts), in blocks of tb tiles through scratch (16·tb·(ci + co) floats): input
  ;; transform, 16 matmuls with U, output transform.
  (func (export "wino_conv") (param $p i32) (param $t0 i32) (param $t1 i32) (param $scratch i32)
    (local $tb i32) (local $ci i32) (local $co i32) (local $m i32) (local $xi i32) (local $end i32)
    ${
    blockDriver(
      slot,
      "m",
      `(call $wino_in ${slot("x")} ${slot("h")} ${slot("w")} (local.get $ci) ${slot("padT")}
        ${slot("padL")} ${slot("tw")} ${
        slot("tpi")
      } (local.get $t0) (local.get $tb) (local.get $end)
        (local.get $scratch))
      ${
        xiLoop(`(call $wino_gemm
          (i32.add (local.get $scratch) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $tb)) (local.get $ci)) (i32.const 2)))
          (i32.add ${
          slot("u")
        } (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $ci)) (local.get $co)) (i32.const 2)))
          (local.get $tb) (local.get $ci) (local.get $co)
          (i32.add (local.get $m) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $tb)) (local.get $co)) (i32.const 2))))`)
      }
      (call $wino_out (local.get $m) ${slot("y")} ${slot("bias")} ${slot("relu")} ${slot("ho")}
        ${slot("wo")} (local.get $co) ${slot("tw")} ${slot("tpi")} (local.get $t0) (local.get $tb)
        (local.get $end))`,
    )
  }`;
}

/** The Winograd functions as module fields, to be placed inside `wasm_ops.wat`'s `(module …)`. */
export function winogradWat(fma: boolean): string {
  return [
    winoFilter(),
    winoIn(),
    winoGemm(fma),
    winoOut(),
    winoConv(),
    winoDy(),
    winoGemmTn(fma),
    winoFilterOut(),
    winoDw(),
  ].join("\n");
}
