/**
 * The values a stored truth mask holds (`masks.u8`, `masks/{id}.png`): background, vessel, and —
 * in sets prepared with `--ignore` — "ignore", pixels of regions annotators marked as uncertain
 * (`unsure`) or where vessels were not annotated (`glomerulus`), left out of every loss and metric.
 *
 * @module
 */

/** A vessel pixel of a stored mask. */
export const VESSEL_U8 = 1;
/** An ignored pixel of a stored mask (shards). */
export const IGNORE_U8 = 2;
/** An ignored pixel in a mask PNG (vessel 255, background 0). */
export const IGNORE_PNG = 128;
/** An ignored pixel in a training target (vessel 1, background 0). */
export const IGNORE_TARGET = -1;
