;; WebAssembly SIMD kernels for the Otsu baseline. src/baseline/otsu_wasm_build.ts compiles this
;; file with wabt into src/baseline/otsu_wasm_bytes.ts; src/baseline/otsu_wasm.ts runs it.
;;
;; grey: RGB → grey exactly as OpenCV 4.6 cvtColor(RGB2GRAY) for 8-bit input,
;;   grey = (R·9798 + G·19235 + B·3735 + 2^14) >> 15,
;; computed like OpenCV's SIMD path with i32x4.dot_i16x8_s on (R, G) and (B, 1) pairs, 16 pixels
;; per iteration.
;; hist: 256-bin histogram counted into four interleaved i32 tables (bin v of table k at byte
;; hist + 16·v + 4·k), so that runs of equal grey do not wait on one counter.
;; mask_gt / mask_le: 0/1 mask of grey > t or grey ≤ t, 16 pixels per iteration.
;; Pixel counts must be multiples of 16 (the caller does the rest) and the RGB area must be
;; followed by at least 4 readable bytes (each 4-pixel step loads 16 bytes and uses 12).
(module
  (memory (export "memory") 1)

  (func $grey4 (param $p i32) (result v128)
    (local $v v128)
    (local.set $v (v128.load (local.get $p)))
    (i32x4.shr_u
      (i32x4.add
        (i32x4.dot_i16x8_s
          ;; (R, G) of 4 pixels as i16 pairs: bytes r0 0 g0 0 r1 0 g1 0 …
          (i8x16.shuffle 0 16 1 16 3 16 4 16 6 16 7 16 9 16 10 16
            (local.get $v) (v128.const i32x4 0 0 0 0))
          (v128.const i16x8 9798 19235 9798 19235 9798 19235 9798 19235))
        (i32x4.dot_i16x8_s
          ;; (B, 1) pairs; bytes 16, 17 of the second operand are 1, 0
          (i8x16.shuffle 2 17 16 17 5 17 16 17 8 17 16 17 11 17 16 17
            (local.get $v) (v128.const i16x8 1 1 1 1 1 1 1 1))
          (v128.const i16x8 3735 16384 3735 16384 3735 16384 3735 16384)))
      (i32.const 15)))

  (func (export "grey") (param $rgb i32) (param $grey i32) (param $n i32)
    (local $end i32) (local $g v128)
    (local.set $end (i32.add (local.get $grey) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $grey) (local.get $end)))
        (local.set $g
          (i8x16.narrow_i16x8_u
            (i16x8.narrow_i32x4_u
              (call $grey4 (local.get $rgb))
              (call $grey4 (i32.add (local.get $rgb) (i32.const 12))))
            (i16x8.narrow_i32x4_u
              (call $grey4 (i32.add (local.get $rgb) (i32.const 24)))
              (call $grey4 (i32.add (local.get $rgb) (i32.const 36))))))
        (v128.store (local.get $grey) (local.get $g))
        (local.set $rgb (i32.add (local.get $rgb) (i32.const 48)))
        (local.set $grey (i32.add (local.get $grey) (i32.const 16)))
        (br $next))))

  (func (export "hist") (param $grey i32) (param $hist i32) (param $n i32)
    (local $end i32) (local $w i32) (local $a i32)
    (local.set $end (i32.add (local.get $grey) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $grey) (local.get $end)))
        (local.set $w (i32.load (local.get $grey)))
        (local.set $a (i32.add (local.get $hist) (i32.shl (i32.and (local.get $w) (i32.const 255)) (i32.const 4))))
        (i32.store offset=0 (local.get $a) (i32.add (i32.load offset=0 (local.get $a)) (i32.const 1)))
        (local.set $a (i32.add (local.get $hist) (i32.and (i32.shr_u (local.get $w) (i32.const 4)) (i32.const 4080))))
        (i32.store offset=4 (local.get $a) (i32.add (i32.load offset=4 (local.get $a)) (i32.const 1)))
        (local.set $a (i32.add (local.get $hist) (i32.and (i32.shr_u (local.get $w) (i32.const 12)) (i32.const 4080))))
        (i32.store offset=8 (local.get $a) (i32.add (i32.load offset=8 (local.get $a)) (i32.const 1)))
        (local.set $a (i32.add (local.get $hist) (i32.shl (i32.shr_u (local.get $w) (i32.const 24)) (i32.const 4))))
        (i32.store offset=12 (local.get $a) (i32.add (i32.load offset=12 (local.get $a)) (i32.const 1)))
        (local.set $grey (i32.add (local.get $grey) (i32.const 4)))
        (br $next))))

  (func (export "mask_gt") (param $grey i32) (param $mask i32) (param $n i32) (param $t i32)
    (local $end i32) (local $tv v128)
    (local.set $end (i32.add (local.get $grey) (local.get $n)))
    (local.set $tv (i8x16.splat (local.get $t)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $grey) (local.get $end)))
        (v128.store (local.get $mask)
          (v128.and
            (i8x16.gt_u (v128.load (local.get $grey)) (local.get $tv))
            (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))
        (local.set $grey (i32.add (local.get $grey) (i32.const 16)))
        (local.set $mask (i32.add (local.get $mask) (i32.const 16)))
        (br $next))))

  (func (export "mask_le") (param $grey i32) (param $mask i32) (param $n i32) (param $t i32)
    (local $end i32) (local $tv v128)
    (local.set $end (i32.add (local.get $grey) (local.get $n)))
    (local.set $tv (i8x16.splat (local.get $t)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $grey) (local.get $end)))
        (v128.store (local.get $mask)
          (v128.and
            (i8x16.le_u (v128.load (local.get $grey)) (local.get $tv))
            (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))
        (local.set $grey (i32.add (local.get $grey) (i32.const 16)))
        (local.set $mask (i32.add (local.get $mask) (i32.const 16)))
        (br $next)))))
