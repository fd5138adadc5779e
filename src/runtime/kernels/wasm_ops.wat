;; Training kernels for tfjs-backend-wasm, on WebAssembly SIMD, run directly on the backend's heap
;; (the module imports tfjs's memory; every pointer is a byte offset into it): memory-bound
;; per-channel kernels, fused batch norm and ReLU gradient, and the filter gradient's scatter
;; (to_planes) and blocked matmul (dw_gemm). Tensors are channels-last: a "row" is the C channels
;; of one pixel, rows are contiguous. Unless a function says otherwise it needs C % 4 == 0 (the
;; caller checks); pointers need no alignment.
;;
;; Built by wasm_ops_build.ts into wasm_ops_bytes.ts twice: this text as is (non-shared memory,
;; the single-threaded tfjs build) and with the import line's "(memory 1)" replaced by
;; "(memory 1 65536 shared)" (the threaded build's SharedArrayBuffer heap).
(module
  (import "env" "memory" (memory 1))

  ;; out[k] = Σ_r x[r·C + k] for k < C. Rows are added in blocks of 256 into tmp (C floats of
  ;; scratch), each block's total into out: the rounding error grows with the block length and
  ;; the number of blocks, not with the row count.
  (func (export "chan_sum")
    (param $x i32) (param $rows i32) (param $c i32) (param $out i32) (param $tmp i32)
    (local $rowBytes i32) (local $r i32) (local $blockEnd i32) (local $k i32) (local $p i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $k) (local.get $rowBytes)))
      (v128.store (i32.add (local.get $out) (local.get $k)) (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $zl)))
    (local.set $p (local.get $x))
    (local.set $r (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $blockEnd (i32.add (local.get $r) (i32.const 256)))
      (if (i32.gt_u (local.get $blockEnd) (local.get $rows))
        (then (local.set $blockEnd (local.get $rows))))
      ;; tmp = row r
      (local.set $k (i32.const 0))
      (block $c0 (loop $c0l
        (br_if $c0 (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $tmp) (local.get $k))
          (v128.load (i32.add (local.get $p) (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $c0l)))
      (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      ;; tmp += rows r+1 .. blockEnd-1
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $blockEnd)))
        (local.set $k (i32.const 0))
        (block $cd (loop $cl
          (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
          (v128.store (i32.add (local.get $tmp) (local.get $k))
            (f32x4.add
              (v128.load (i32.add (local.get $tmp) (local.get $k)))
              (v128.load (i32.add (local.get $p) (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $cl)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))
      ;; out += tmp
      (local.set $k (i32.const 0))
      (block $ad (loop $al
        (br_if $ad (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $out) (local.get $k))
          (f32x4.add
            (v128.load (i32.add (local.get $out) (local.get $k)))
            (v128.load (i32.add (local.get $tmp) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $al)))
      (br $blocks))))

  ;; out[k] = Σ_r (x[r·C + k] − mean[k])² (the batch variance's sum), blocked like chan_sum.
  (func (export "chan_sqdev_sum")
    (param $x i32) (param $rows i32) (param $c i32) (param $mean i32) (param $out i32)
    (param $tmp i32)
    (local $rowBytes i32) (local $r i32) (local $blockEnd i32) (local $k i32) (local $d v128)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $k) (local.get $rowBytes)))
      (v128.store (i32.add (local.get $out) (local.get $k)) (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $zl)))
    (local.set $r (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $blockEnd (i32.add (local.get $r) (i32.const 256)))
      (if (i32.gt_u (local.get $blockEnd) (local.get $rows))
        (then (local.set $blockEnd (local.get $rows))))
      (local.set $k (i32.const 0))
      (block $t0 (loop $t0l
        (br_if $t0 (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $tmp) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $t0l)))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $blockEnd)))
        (local.set $k (i32.const 0))
        (block $cd (loop $cl
          (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
          (local.set $d (f32x4.sub
            (v128.load (i32.add (local.get $x) (local.get $k)))
            (v128.load (i32.add (local.get $mean) (local.get $k)))))
          (v128.store (i32.add (local.get $tmp) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $tmp) (local.get $k)))
              (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $cl)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))
      (local.set $k (i32.const 0))
      (block $ad (loop $al
        (br_if $ad (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $out) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $k)))
            (v128.load (i32.add (local.get $tmp) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $al)))
      (br $blocks))))

  ;; The two sums of batch norm's gradient in one pass: s1[k] = Σ_r dy, s2[k] = Σ_r dy·(x − mean)
  ;; (rows r, channel k), blocked like chan_sum; tmp holds 2·C floats of scratch.
  (func (export "bn_grad_sums")
    (param $x i32) (param $dy i32) (param $rows i32) (param $c i32) (param $mean i32)
    (param $s1 i32) (param $s2 i32) (param $tmp i32)
    (local $rowBytes i32) (local $r i32) (local $blockEnd i32) (local $k i32) (local $g v128)
    (local $t2 i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $t2 (i32.add (local.get $tmp) (local.get $rowBytes)))
    (local.set $k (i32.const 0))
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $k) (local.get $rowBytes)))
      (v128.store (i32.add (local.get $s1) (local.get $k)) (v128.const i32x4 0 0 0 0))
      (v128.store (i32.add (local.get $s2) (local.get $k)) (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $zl)))
    (local.set $r (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $blockEnd (i32.add (local.get $r) (i32.const 256)))
      (if (i32.gt_u (local.get $blockEnd) (local.get $rows))
        (then (local.set $blockEnd (local.get $rows))))
      (local.set $k (i32.const 0))
      (block $t0 (loop $t0l
        (br_if $t0 (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $tmp) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (v128.store (i32.add (local.get $t2) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $t0l)))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $blockEnd)))
        (local.set $k (i32.const 0))
        (block $cd (loop $cl
          (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
          (local.set $g (v128.load (i32.add (local.get $dy) (local.get $k))))
          (v128.store (i32.add (local.get $tmp) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $tmp) (local.get $k))) (local.get $g)))
          (v128.store (i32.add (local.get $t2) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $t2) (local.get $k)))
              (f32x4.mul (local.get $g)
                (f32x4.sub
                  (v128.load (i32.add (local.get $x) (local.get $k)))
                  (v128.load (i32.add (local.get $mean) (local.get $k)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $cl)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop)))
      (local.set $k (i32.const 0))
      (block $ad (loop $al
        (br_if $ad (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $s1) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $s1) (local.get $k)))
            (v128.load (i32.add (local.get $tmp) (local.get $k)))))
        (v128.store (i32.add (local.get $s2) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $s2) (local.get $k)))
            (v128.load (i32.add (local.get $t2) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $al)))
      (br $blocks))))

  ;; Batch norm's input gradient: dx[r·C + k] = a[k]·dy + b[k]·(x − mean[k]) + c0[k].
  (func (export "bn_grad_dx")
    (param $x i32) (param $dy i32) (param $rows i32) (param $c i32) (param $mean i32)
    (param $a i32) (param $b i32) (param $c0 i32) (param $dx i32)
    (local $rowBytes i32) (local $end i32) (local $k i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $rowBytes))))
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $k (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $dx) (local.get $k))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $k)))
                (v128.load (i32.add (local.get $dy) (local.get $k))))
              (f32x4.mul (v128.load (i32.add (local.get $b) (local.get $k)))
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k)))
                  (v128.load (i32.add (local.get $mean) (local.get $k))))))
            (v128.load (i32.add (local.get $c0) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $cl)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
      (br $rowLoop))))

  ;; ReLU's gradient: dx[i] = x[i] > 0 ? dy[i] : 0 for i < n (n % 4 == 0).
  (func (export "relu_grad") (param $x i32) (param $dy i32) (param $n i32) (param $dx i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $dx)
        (v128.and (v128.load (local.get $dy))
          (f32x4.gt (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (br $l))))

  ;; y[r·C + k] = (x[r·C + k] − mean[k]) · a[k] + b[k]: batch norm with a = γ / √(σ² + ε), b = β.
  (func (export "chan_norm")
    (param $x i32) (param $rows i32) (param $c i32)
    (param $mean i32) (param $a i32) (param $b i32) (param $y i32)
    (local $rowBytes i32) (local $end i32) (local $k i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $rowBytes))))
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $k (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $y) (local.get $k))
          (f32x4.add
            (f32x4.mul
              (f32x4.sub
                (v128.load (i32.add (local.get $x) (local.get $k)))
                (v128.load (i32.add (local.get $mean) (local.get $k))))
              (v128.load (i32.add (local.get $a) (local.get $k))))
            (v128.load (i32.add (local.get $b) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $cl)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
      (br $rowLoop))))

  ;; y[r·C + k] = x[r·C + k] ∘ v[k] with ∘ chosen by op: 0 x + v, 1 x − v, 2 v − x, 3 x · v,
  ;; 4 x / v, 5 v / x (a binary operation broadcasting a per-channel vector).
  (func (export "chan_binop")
    (param $x i32) (param $rows i32) (param $c i32) (param $v i32) (param $y i32) (param $op i32)
    (local $rowBytes i32) (local $end i32) (local $k i32) (local $a v128) (local $b v128)
    (local $r v128)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $rowBytes))))
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $k (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $k))))
        (local.set $b (v128.load (i32.add (local.get $v) (local.get $k))))
        (block $set
          (block $o5 (block $o4 (block $o3 (block $o2 (block $o1 (block $o0
            (br_table $o0 $o1 $o2 $o3 $o4 $o5 (local.get $op)))
            (local.set $r (f32x4.add (local.get $a) (local.get $b))) (br $set))
            (local.set $r (f32x4.sub (local.get $a) (local.get $b))) (br $set))
            (local.set $r (f32x4.sub (local.get $b) (local.get $a))) (br $set))
            (local.set $r (f32x4.mul (local.get $a) (local.get $b))) (br $set))
            (local.set $r (f32x4.div (local.get $a) (local.get $b))) (br $set))
          (local.set $r (f32x4.div (local.get $b) (local.get $a))))
        (v128.store (i32.add (local.get $y) (local.get $k)) (local.get $r))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $cl)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
      (br $rowLoop))))

  ;; Gradient of a 2×2, stride-2, unpadded max pool. x and dx are [R·2, Wo·2, C] (R = N·Ho image
  ;; rows of the output), dy is [R, Wo, C]. Each window's gradient goes to its first maximum in
  ;; row-major order, found as a sequential scan with a strict ">" from −∞ would find it (pmax
  ;; is exactly "if (v > m) m = v"); a window of −∞ and NaN only gets no gradient.
  (func (export "maxpool2_grad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $r i32) (param $wo i32) (param $c i32)
    (local $pix i32) (local $rowIn i32) (local $xa i32) (local $xb i32) (local $da i32)
    (local $db i32) (local $ox i32) (local $k i32)
    (local $a v128) (local $b v128) (local $cc v128) (local $d v128) (local $m v128)
    (local $g v128) (local $valid v128) (local $sel v128) (local $taken v128)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowIn (i32.mul (local.get $pix) (i32.shl (local.get $wo) (i32.const 1))))
    (block $done (loop $rowLoop
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $xa (local.get $x))
      (local.set $xb (i32.add (local.get $x) (local.get $rowIn)))
      (local.set $da (local.get $dx))
      (local.set $db (i32.add (local.get $dx) (local.get $rowIn)))
      (local.set $ox (local.get $wo))
      (block $colsDone (loop $colLoop
        (br_if $colsDone (i32.eqz (local.get $ox)))
        (local.set $k (i32.const 0))
        (block $cd (loop $cl
          (br_if $cd (i32.ge_u (local.get $k) (local.get $pix)))
          (local.set $a (v128.load (i32.add (local.get $xa) (local.get $k))))
          (local.set $b (v128.load (i32.add (i32.add (local.get $xa) (local.get $pix)) (local.get $k))))
          (local.set $cc (v128.load (i32.add (local.get $xb) (local.get $k))))
          (local.set $d (v128.load (i32.add (i32.add (local.get $xb) (local.get $pix)) (local.get $k))))
          (local.set $m
            (f32x4.pmax
              (f32x4.pmax
                (f32x4.pmax
                  (f32x4.pmax (v128.const f32x4 -inf -inf -inf -inf) (local.get $a))
                  (local.get $b))
                (local.get $cc))
              (local.get $d)))
          (local.set $valid (f32x4.gt (local.get $m) (v128.const f32x4 -inf -inf -inf -inf)))
          (local.set $g (v128.and (v128.load (i32.add (local.get $dy) (local.get $k))) (local.get $valid)))
          ;; first of a, b, c, d equal to m takes g
          (local.set $sel (f32x4.eq (local.get $a) (local.get $m)))
          (v128.store (i32.add (local.get $da) (local.get $k)) (v128.and (local.get $g) (local.get $sel)))
          (local.set $taken (local.get $sel))
          (local.set $sel (v128.andnot (f32x4.eq (local.get $b) (local.get $m)) (local.get $taken)))
          (v128.store (i32.add (i32.add (local.get $da) (local.get $pix)) (local.get $k))
            (v128.and (local.get $g) (local.get $sel)))
          (local.set $taken (v128.or (local.get $taken) (local.get $sel)))
          (local.set $sel (v128.andnot (f32x4.eq (local.get $cc) (local.get $m)) (local.get $taken)))
          (v128.store (i32.add (local.get $db) (local.get $k)) (v128.and (local.get $g) (local.get $sel)))
          (local.set $taken (v128.or (local.get $taken) (local.get $sel)))
          (local.set $sel (v128.andnot (f32x4.eq (local.get $d) (local.get $m)) (local.get $taken)))
          (v128.store (i32.add (i32.add (local.get $db) (local.get $pix)) (local.get $k))
            (v128.and (local.get $g) (local.get $sel)))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $cl)))
        (local.set $xa (i32.add (local.get $xa) (i32.shl (local.get $pix) (i32.const 1))))
        (local.set $xb (i32.add (local.get $xb) (i32.shl (local.get $pix) (i32.const 1))))
        (local.set $da (i32.add (local.get $da) (i32.shl (local.get $pix) (i32.const 1))))
        (local.set $db (i32.add (local.get $db) (i32.shl (local.get $pix) (i32.const 1))))
        (local.set $dy (i32.add (local.get $dy) (local.get $pix)))
        (local.set $ox (i32.sub (local.get $ox) (i32.const 1)))
        (br $colLoop)))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $rowIn) (i32.const 1))))
      (local.set $dx (i32.add (local.get $dx) (i32.shl (local.get $rowIn) (i32.const 1))))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; The filter gradient's matmuls for all taps at once (see conv2dBackpropFilterPlanes):
  ;; out[t, q, r] += Σ_{k0 ≤ k < k1} planes[q·P + offs[t] + k] · grid[k·co + r] for taps t < ntaps
  ;; (offs: i32 offsets in floats), q < ci (ci % 4 == 0), r < co (co % 8 == 0). k runs in chunks
  ;; of 256 so that the grid rows of a chunk stay in cache for every tap and row block; the inner
  ;; loop keeps a 4 × 8 block of out in eight registers (4 splatted plane values times 2 grid
  ;; vectors per k). Multiply and add stay separate instructions (no fused multiply-add), so
  ;; results do not depend on the machine.
  (func (export "dw_gemm")
    (param $planes i32) (param $P i32) (param $grid i32) (param $co i32) (param $ci i32)
    (param $offs i32) (param $ntaps i32) (param $k0 i32) (param $k1 i32) (param $out i32)
    (local $kc0 i32) (local $kc1 i32) (local $t i32) (local $q i32) (local $r i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $pend i32)
    (local $Pb i32) (local $rowB i32) (local $o i32) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $Pb (i32.shl (local.get $P) (i32.const 2)))
    (local.set $rowB (i32.shl (local.get $co) (i32.const 2)))
    (local.set $kc0 (local.get $k0))
    (block $chunksDone (loop $chunks
      (br_if $chunksDone (i32.ge_u (local.get $kc0) (local.get $k1)))
      (local.set $kc1 (i32.add (local.get $kc0) (i32.const 256)))
      (if (i32.gt_u (local.get $kc1) (local.get $k1)) (then (local.set $kc1 (local.get $k1))))
      (local.set $t (i32.const 0))
      (block $tapsDone (loop $taps
        (br_if $tapsDone (i32.ge_u (local.get $t) (local.get $ntaps)))
        (local.set $q (i32.const 0))
        (block $qDone (loop $qs
          (br_if $qDone (i32.ge_u (local.get $q) (local.get $ci)))
          (local.set $r (i32.const 0))
          (block $rDone (loop $rs
            (br_if $rDone (i32.ge_u (local.get $r) (local.get $co)))
            ;; o = out + 4·((t·ci + q)·co + r)
            (local.set $o (i32.add (local.get $out) (i32.shl
              (i32.add (i32.mul (i32.add (i32.mul (local.get $t) (local.get $ci)) (local.get $q)) (local.get $co)) (local.get $r))
              (i32.const 2))))
            (local.set $c00 (v128.load (local.get $o)))
            (local.set $c01 (v128.load offset=16 (local.get $o)))
            (local.set $c10 (v128.load (i32.add (local.get $o) (local.get $rowB))))
            (local.set $c11 (v128.load offset=16 (i32.add (local.get $o) (local.get $rowB))))
            (local.set $c20 (v128.load (i32.add (local.get $o) (i32.shl (local.get $rowB) (i32.const 1)))))
            (local.set $c21 (v128.load offset=16 (i32.add (local.get $o) (i32.shl (local.get $rowB) (i32.const 1)))))
            (local.set $c30 (v128.load (i32.add (local.get $o) (i32.mul (local.get $rowB) (i32.const 3)))))
            (local.set $c31 (v128.load offset=16 (i32.add (local.get $o) (i32.mul (local.get $rowB) (i32.const 3)))))
            ;; pa_j = planes + 4·((q + j)·P + offs[t] + kc0)
            (local.set $pa0 (i32.add (local.get $planes) (i32.shl
              (i32.add (i32.add (i32.mul (local.get $q) (local.get $P)) (i32.load (i32.add (local.get $offs) (i32.shl (local.get $t) (i32.const 2))))) (local.get $kc0))
              (i32.const 2))))
            (local.set $pa1 (i32.add (local.get $pa0) (local.get $Pb)))
            (local.set $pa2 (i32.add (local.get $pa1) (local.get $Pb)))
            (local.set $pa3 (i32.add (local.get $pa2) (local.get $Pb)))
            (local.set $pb (i32.add (local.get $grid) (i32.add (i32.mul (local.get $kc0) (local.get $rowB)) (i32.shl (local.get $r) (i32.const 2)))))
            (local.set $pend (i32.add (local.get $grid) (i32.add (i32.mul (local.get $kc1) (local.get $rowB)) (i32.shl (local.get $r) (i32.const 2)))))
            (block $kDone (loop $ks
              (br_if $kDone (i32.ge_u (local.get $pb) (local.get $pend)))
              (local.set $b0 (v128.load (local.get $pb)))
              (local.set $b1 (v128.load offset=16 (local.get $pb)))
              (local.set $a (v128.load32_splat (local.get $pa0)))
              (local.set $c00 (f32x4.add (f32x4.mul (local.get $a) (local.get $b0)) (local.get $c00)))
              (local.set $c01 (f32x4.add (f32x4.mul (local.get $a) (local.get $b1)) (local.get $c01)))
              (local.set $a (v128.load32_splat (local.get $pa1)))
              (local.set $c10 (f32x4.add (f32x4.mul (local.get $a) (local.get $b0)) (local.get $c10)))
              (local.set $c11 (f32x4.add (f32x4.mul (local.get $a) (local.get $b1)) (local.get $c11)))
              (local.set $a (v128.load32_splat (local.get $pa2)))
              (local.set $c20 (f32x4.add (f32x4.mul (local.get $a) (local.get $b0)) (local.get $c20)))
              (local.set $c21 (f32x4.add (f32x4.mul (local.get $a) (local.get $b1)) (local.get $c21)))
              (local.set $a (v128.load32_splat (local.get $pa3)))
              (local.set $c30 (f32x4.add (f32x4.mul (local.get $a) (local.get $b0)) (local.get $c30)))
              (local.set $c31 (f32x4.add (f32x4.mul (local.get $a) (local.get $b1)) (local.get $c31)))
              (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
              (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
              (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
              (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
              (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
              (br $ks)))
            (v128.store (local.get $o) (local.get $c00))
            (v128.store offset=16 (local.get $o) (local.get $c01))
            (v128.store (i32.add (local.get $o) (local.get $rowB)) (local.get $c10))
            (v128.store offset=16 (i32.add (local.get $o) (local.get $rowB)) (local.get $c11))
            (v128.store (i32.add (local.get $o) (i32.shl (local.get $rowB) (i32.const 1))) (local.get $c20))
            (v128.store offset=16 (i32.add (local.get $o) (i32.shl (local.get $rowB) (i32.const 1))) (local.get $c21))
            (v128.store (i32.add (local.get $o) (i32.mul (local.get $rowB) (i32.const 3))) (local.get $c30))
            (v128.store offset=16 (i32.add (local.get $o) (i32.mul (local.get $rowB) (i32.const 3))) (local.get $c31))
            (local.set $r (i32.add (local.get $r) (i32.const 8)))
            (br $rs)))
          (local.set $q (i32.add (local.get $q) (i32.const 4)))
          (br $qs)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $taps)))
      (local.set $kc0 (local.get $kc1))
      (br $chunks))))

;; Scatters NHWC pixels [N, H, W, C] into channel-major planes of a padded grid for the filter
  ;; gradient: dst[q·P + (n·hp + y + pt)·wp + x + pl] = pixel (n, y, x) channel q, P = plane
  ;; (floats). Grid cells outside the image are left as they are (the caller zero-fills them).
  ;; Source pixels are srcPix bytes apart, with rowSkip extra bytes after each row of W pixels and
  ;; imgSkip after each image (4·C, 0, 0 for a plain tensor; a stride-2 subsampling skips rows).
  ;; With C % 4 == 0, blocks of 4 pixels × 4 channels are transposed in registers (4 loads, 8
  ;; shuffles, 4 stores); the last W % 4 pixels of a row, or any C % 4 != 0, go one by one.
  (func (export "to_planes")
    (param $src i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $dst i32)
    (param $plane i32) (param $hp i32) (param $wp i32) (param $pt i32) (param $pl i32)
    (param $srcPix i32) (param $rowSkip i32) (param $imgSkip i32)
    (local $img i32) (local $y i32) (local $x i32) (local $q i32) (local $d i32) (local $s i32)
    (local $planeBytes i32) (local $rowDst i32) (local $pixBytes i32) (local $wv i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $planeBytes (i32.shl (local.get $plane) (i32.const 2)))
    (local.set $pixBytes (local.get $srcPix))
    ;; pixels per row handled 4 at a time (none when C % 4 != 0)
    (local.set $wv (select (i32.and (local.get $w) (i32.const -4)) (i32.const 0)
      (i32.eqz (i32.and (local.get $c) (i32.const 3)))))
    (local.set $img (i32.const 0))
    (block $imgsDone (loop $imgLoop
      (br_if $imgsDone (i32.ge_u (local.get $img) (local.get $n)))
      (local.set $y (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $h)))
        ;; rowDst = dst + 4·((img·hp + y + pt)·wp + pl)
        (local.set $rowDst
          (i32.add (local.get $dst)
            (i32.shl
              (i32.add
                (i32.mul
                  (i32.add (i32.mul (local.get $img) (local.get $hp))
                    (i32.add (local.get $y) (local.get $pt)))
                  (local.get $wp))
                (local.get $pl))
              (i32.const 2))))
        (local.set $x (i32.const 0))
        (block $vecDone (loop $vecLoop
          (br_if $vecDone (i32.ge_u (local.get $x) (local.get $wv)))
          (local.set $q (i32.const 0))
          (local.set $s (local.get $src))
          (local.set $d (i32.add (local.get $rowDst) (i32.shl (local.get $x) (i32.const 2))))
          (block $qDone (loop $qLoop
            (br_if $qDone (i32.ge_u (local.get $q) (local.get $c)))
            (local.set $r0 (v128.load (local.get $s)))
            (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $pixBytes))))
            (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $pixBytes) (i32.const 1)))))
            (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $pixBytes) (i32.const 3)))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (v128.store (local.get $d)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $d) (local.get $planeBytes))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $d) (i32.shl (local.get $planeBytes) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $d) (i32.mul (local.get $planeBytes) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.shl (local.get $planeBytes) (i32.const 2))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $qLoop)))
          (local.set $src (i32.add (local.get $src) (i32.shl (local.get $pixBytes) (i32.const 2))))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (br $vecLoop)))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $x) (local.get $w)))
          (local.set $d (i32.add (local.get $rowDst) (i32.shl (local.get $x) (i32.const 2))))
          (local.set $q (i32.const 0))
          (block $chDone (loop $chLoop
            (br_if $chDone (i32.ge_u (local.get $q) (local.get $c)))
            (f32.store (local.get $d)
              (f32.load (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $d (i32.add (local.get $d) (local.get $planeBytes)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $chLoop)))
          (local.set $src (i32.add (local.get $src) (local.get $pixBytes)))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $colLoop)))
        (local.set $src (i32.add (local.get $src) (local.get $rowSkip)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop)))
      (local.set $src (i32.add (local.get $src) (local.get $imgSkip)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $imgLoop))))

  ;; dst[r·dstStride + k] = src[r·srcStride + k] for r < rows, k < len (all in floats; len % 4
  ;; == 0): one channel block of a concatenation or a split along the last axis.
  (func (export "copy_rows")
    (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32)
    (param $rows i32) (param $len i32)
    (local $k i32) (local $lenBytes i32) (local $sb i32) (local $db i32)
    (local.set $lenBytes (i32.shl (local.get $len) (i32.const 2)))
    (local.set $sb (i32.shl (local.get $srcStride) (i32.const 2)))
    (local.set $db (i32.shl (local.get $dstStride) (i32.const 2)))
    (block $done (loop $rowLoop
      (br_if $done (i32.eqz (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $k) (local.get $lenBytes)))
        (v128.store (i32.add (local.get $dst) (local.get $k))
          (v128.load (i32.add (local.get $src) (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $cl)))
      (local.set $src (i32.add (local.get $src) (local.get $sb)))
      (local.set $dst (i32.add (local.get $dst) (local.get $db)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $rowLoop))))
)
