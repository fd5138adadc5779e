/**
 * Layout of the control block (an `Int32Array` on a `SharedArrayBuffer`) shared by the main
 * thread and the helper thread of `./wasm_ops_helper.ts`.
 *
 * @module
 */

/** 1 while a call is posted and not yet picked up; the helper waits on it. */
export const STATE = 0;
/** 0 while a call runs, then 1 (done) or 2 (it threw); the main thread waits on it. */
export const DONE = 1;
/** Index of the function in the helper's name list. */
export const FN = 2;
/** Number of i32 arguments. */
export const NARGS = 3;
/** First argument; up to {@linkcode MAX_ARGS} follow. */
export const ARGS = 4;
/** Most arguments of one call. */
export const MAX_ARGS = 12;
/** Int32 slots of the block. */
export const SLOTS = ARGS + MAX_ARGS;
