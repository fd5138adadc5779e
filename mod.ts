/**
 * vessel-seg: train and evaluate blood-vessel segmenters for PAS-stained kidney tiles in the data
 * layout of the Kaggle competition "HuBMAP – Hacking the Human Vasculature".
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/rng.ts";
export * from "./src/data/prepared.ts";
