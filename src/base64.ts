/**
 * Base64 for the project's embedded WebAssembly modules: the build scripts write compiled bytes
 * as base64 into generated `.ts` files, so running the tool needs no compiler and no file reads.
 *
 * @example
 * ```ts
 * import { decodeBase64, encodeBase64 } from "./base64.ts";
 * console.assert(encodeBase64(new Uint8Array([0, 97, 115, 109])) === "AGFzbQ==");
 * console.assert(decodeBase64("AGFzbQ==")[1] === 97);
 * ```
 *
 * @module
 */

/** Base64 of bytes. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of base64 text. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
