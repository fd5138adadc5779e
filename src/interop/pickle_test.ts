import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { PickleWriter, unpickle } from "./pickle.ts";

// Made with Debian's Python 3.11:
//   import pickle, collections
//   d = collections.OrderedDict([("a", (1, 2)), ("b", [3.5, None, True, -7, 300, 2**40])])
//   pickle.dumps(d, protocol=2).hex(); pickle.dumps(d, protocol=4).hex()
const PROTO2 =
  "800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000006171024b014b02" +
  "86710358010000006271045d71052847400c0000000000004e884af9ffffff4d2c018a0600000000000165752e";
const PROTO4 =
  "80049551000000000000008c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c" +
  "0161944b014b0286948c0162945d942847400c0000000000004e884af9ffffff4d2c018a0600000000000165752e";

const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));

Deno.test("unpickle: Python's own protocol-2 and protocol-4 bytes of an OrderedDict", () => {
  for (const [name, h] of [["2", PROTO2], ["4", PROTO4]]) {
    const calls: string[] = [];
    const v = unpickle(hex(h), `p${name}.pkl`, {
      reduce: (c) => (calls.push(c), c === "collections.OrderedDict" ? new Map() : undefined),
    });
    assert.deepEqual(calls, ["collections.OrderedDict"], `protocol ${name}`);
    assert.deepEqual(
      v,
      new Map<string, unknown>([["a", [1, 2]], ["b", [3.5, null, true, -7, 300, 2 ** 40]]]),
      `protocol ${name}`,
    );
  }
});

Deno.test("unpickle: an unknown callable stays a named object; nothing is executed", () => {
  const bytes = new PickleWriter().proto().global("os", "system").mark().str("rm -rf /").tuple()
    .reduce().stop();
  assert.deepEqual(unpickle(bytes, "x.pkl"), { reduce: "os.system", args: ["rm -rf /"] });
});

Deno.test("unpickle: truncated bytes, an unknown opcode and a persistent id without a loader are one InputError each", () => {
  const full = hex(PROTO2);
  assert.throws(
    () => unpickle(full.subarray(0, 40), "cut.pkl"),
    (e: unknown) =>
      e instanceof InputError && /^cut\.pkl: pickle byte \d+: truncated$/.test(e.message),
  );
  assert.throws(
    () => unpickle(Uint8Array.of(0x80, 2, 0xff), "odd.pkl"),
    (e: unknown) =>
      e instanceof InputError && e.message === "odd.pkl: pickle byte 2: unsupported opcode 0xff",
  );
  const pid = new PickleWriter().proto().str("k").persid().stop();
  assert.throws(() => unpickle(pid, "p.pkl"), /persistent id without a loader/);
});

Deno.test("PickleWriter: the opcodes of a hand-checked tuple (torch.load reads whole files: tasks/export_test.ts)", () => {
  // ('ab', 1, -2, (), (3,), False) by hand: PROTO 2, MARK, BINUNICODE len 2 "ab", BININT 1,
  // BININT -2, EMPTY_TUPLE, MARK BININT 3 TUPLE, NEWFALSE, TUPLE, STOP
  const bytes = new PickleWriter().proto().mark().str("ab").int(1).int(-2).ints([]).ints([3])
    .bool(false).tuple().stop();
  assert.equal(
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""),
    "80022858020000006162" + "4a01000000" + "4afeffffff" + "29" + "284a0300000074" + "89" + "74" +
      "2e",
  );
  assert.deepEqual(unpickle(bytes, "t.pkl"), ["ab", 1, -2, [], [3], false]);
});

Deno.test("unpickle: BINUNICODE8's 64-bit length, low word first (by hand)", () => {
  // PROTO 4, BINUNICODE8 length 2 (02 00 00 00 00 00 00 00) "hi", STOP
  const bytes = Uint8Array.of(0x80, 4, 0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69, 0x2e);
  assert.equal(unpickle(bytes, "s.pkl"), "hi");
  const huge = bytes.slice();
  huge[7] = 1; // high word 1: over 4 GiB
  assert.throws(() => unpickle(huge, "h.pkl"), /a string over 4 GiB/);
});
