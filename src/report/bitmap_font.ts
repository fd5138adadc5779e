/**
 * Text in raster pictures (the slide mosaic's legend): a 5×7 pixel capital-letter font drawn into
 * RGB buffers, scaled by whole pixels. Lowercase letters are drawn as capitals; a character
 * without a glyph is drawn as a box. Glyphs are written out below, `#` set, `.` clear, top row
 * first.
 *
 * @module
 */

const GLYPHS: Record<string, string> = {
  "A": ".###. #...# #...# ##### #...# #...# #...#",
  "B": "####. #...# #...# ####. #...# #...# ####.",
  "C": ".###. #...# #.... #.... #.... #...# .###.",
  "D": "####. #...# #...# #...# #...# #...# ####.",
  "E": "##### #.... #.... ####. #.... #.... #####",
  "F": "##### #.... #.... ####. #.... #.... #....",
  "G": ".###. #...# #.... #.### #...# #...# .####",
  "H": "#...# #...# #...# ##### #...# #...# #...#",
  "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  "L": "#.... #.... #.... #.... #.... #.... #####",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
  "O": ".###. #...# #...# #...# #...# #...# .###.",
  "P": "####. #...# #...# ####. #.... #.... #....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
  "R": "####. #...# #...# ####. #.#.. #..#. #...#",
  "S": ".#### #.... #.... .###. ....# ....# ####.",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "U": "#...# #...# #...# #...# #...# #...# .###.",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  "Z": "##### ....# ...#. ..#.. .#... #.... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  ",": "..... ..... ..... ..... .##.. ..#.. .#...",
  ":": "..... .##.. .##.. ..... .##.. .##.. .....",
  "-": "..... ..... ..... ##### ..... ..... .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  "=": "..... ..... ##### ..... ##### ..... .....",
  "/": "....# ...#. ...#. ..#.. .#... .#... #....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
  "%": "##..# ##.#. ...#. ..#.. .#... .#.## #..##",
  "×": "..... #...# .#.#. ..#.. .#.#. #...# .....",
  "µ": "..... #...# #...# #...# #..## ###.# #....",
  "'": "..#.. ..#.. .#... ..... ..... ..... .....",
};

const BOX = "##### #...# #...# #...# #...# #...# #####";

/** Glyph width and height in font pixels, and the advance (glyph plus one column of space). */
export const GLYPH_W = 5, GLYPH_H = 7, ADVANCE = 6;

/**
 * Width in pixels of `text` drawn at `scale`.
 *
 * @example
 * ```ts
 * import { textWidth } from "./bitmap_font.ts";
 * console.assert(textWidth("AB", 2) === 2 * (2 * 6 - 1));
 * ```
 */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : scale * ([...text].length * ADVANCE - 1);
}

/**
 * Draws `text` into an RGB buffer with its top-left corner at `(x, y)`, clipped to the picture.
 *
 * @example
 * ```ts
 * import { drawText } from "./bitmap_font.ts";
 * const rgb = new Uint8Array(6 * 7 * 3);
 * drawText(rgb, 6, 7, 0, 0, "I", [255, 0, 0]);
 * console.assert(rgb[(0 * 6 + 1) * 3] === 255 && rgb[(0 * 6 + 0) * 3] === 0); // ".###."
 * ```
 */
export function drawText(
  rgbHWC: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  colour: readonly [number, number, number],
  scale = 1,
): void {
  let cx = x;
  for (const ch of text) {
    const rows = (GLYPHS[ch.toUpperCase()] ?? BOX).split(" ");
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (rows[gy][gx] !== "#") continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = cx + gx * scale + sx, py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            const o = (py * width + px) * 3;
            rgbHWC[o] = colour[0], rgbHWC[o + 1] = colour[1], rgbHWC[o + 2] = colour[2];
          }
        }
      }
    }
    cx += ADVANCE * scale;
  }
}
