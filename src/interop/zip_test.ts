import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { crc32 } from "../crc32.ts";
import { readZip, writeZip } from "./zip.ts";

const enc = new TextEncoder();

Deno.test("crc32: the check values of ISO 3309 / PNG", () => {
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("writeZip: every entry's data starts on a 64-byte boundary, and readZip gives it back", () => {
  const entries = ["a", "bb/c.pkl", "archive/data/12"].map((name, i) => ({
    name,
    data: Uint8Array.from({ length: 37 * (i + 1) }, (_, k) => (k * 7 + i) & 0xff),
  }));
  const zip = writeZip(entries);
  const back = readZip(zip, "t.zip");
  for (const e of entries) {
    const got = back.get(e.name)!;
    assert.deepEqual(got, e.data);
    assert.equal(got.byteOffset % 64, 0, `${e.name} at ${got.byteOffset}`);
  }
});

Deno.test("readZip: an archive written by Python's zipfile", () => {
  // Made with Debian's Python 3.11:
  //   import zipfile, io; b = io.BytesIO()
  //   with zipfile.ZipFile(b, "w") as z: z.writestr("x/hi.txt", "hello")
  //   b.getvalue().hex()
  const hex =
    "504b0304140000000000d27e825d86a61036050000000500000008000000782f68692e74787468656c6c" +
    "6f504b01021403140000000000d27e825d86a610360500000005000000080000000000000000000000800100" +
    "000000782f68692e747874504b05060000000001000100360000002b0000000000";
  const bytes = Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
  const files = readZip(bytes, "py.zip");
  assert.deepEqual([...files.keys()], ["x/hi.txt"]);
  assert.equal(new TextDecoder().decode(files.get("x/hi.txt")), "hello");
});

Deno.test("readZip: not a ZIP, a truncated one, a CRC mismatch and a compressed entry are one InputError each", () => {
  const zip = writeZip([{ name: "a.bin", data: Uint8Array.of(1, 2, 3, 4) }], { align: 1 });
  const check = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(
      () => readZip(bytes, "f.pth"),
      (e: unknown) => e instanceof InputError && re.test(e.message),
    );
  check(enc.encode("not a zip at all, just some text"), /^f\.pth: not a ZIP archive/);
  check(zip.subarray(10), /damaged|not a ZIP/);
  const flipped = zip.slice();
  flipped[30 + "a.bin".length] ^= 0xff; // first data byte
  check(flipped, /^f\.pth: a\.bin: CRC-32 mismatch/);
  const deflated = zip.slice();
  const cd = zip.length - 22 - (46 + "a.bin".length);
  deflated[cd + 10] = 8;
  check(deflated, /^f\.pth: a\.bin: compressed ZIP entry \(method 8\)/);
});
