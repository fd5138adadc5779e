/**
 * Python's pickle format, as far as PyTorch checkpoints need it (the opcodes are those of
 * CPython's `Lib/pickletools.py`).
 *
 * - {@linkcode PickleWriter} emits protocol-2 opcodes one call at a time; `src/model/torch_state.ts`
 *   uses it to write a `state_dict` exactly as `torch.save` lays one out.
 * - {@linkcode unpickle} runs the binary opcodes of protocols 2–5 on a stack machine. Nothing is
 *   imported or executed: `GLOBAL` gives a {@linkcode PyGlobal} naming the callable, `REDUCE`
 *   asks the caller's `reduce` to build the value (an OrderedDict, a tensor) and `BINPERSID` its
 *   `persistentLoad` (PyTorch's tensor storages). Unknown opcodes are an `InputError` naming the
 *   byte offset.
 *
 * Python values become: `None` → `null`, `bool`, `int` → `number` (or `bigint` past 2^53),
 * `float`, `str`, `bytes` → `Uint8Array`, `tuple` and `list` → arrays, `dict` → `Map`.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** A callable named by `GLOBAL` (`module.name`). */
export interface PyGlobal {
  global: string;
}

/** A value built by `REDUCE` that the caller's `reduce` left opaque. */
export interface PyObject {
  reduce: string;
  args: unknown[];
  state?: unknown;
}

/** Protocol-2 opcode writer (see the module doc). */
export class PickleWriter {
  #bytes: number[] = [];
  #enc = new TextEncoder();

  #u32(n: number): void {
    this.#bytes.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  /** `PROTO 2`. */
  proto(): this {
    this.#bytes.push(0x80, 2);
    return this;
  }
  /** `GLOBAL module name`. */
  global(module: string, name: string): this {
    this.#bytes.push(0x63, ...this.#enc.encode(`${module}\n${name}\n`));
    return this;
  }
  /** `MARK`. */
  mark(): this {
    this.#bytes.push(0x28);
    return this;
  }
  /** `TUPLE` (from the last mark) or `EMPTY_TUPLE` with `empty`. */
  tuple(empty = false): this {
    this.#bytes.push(empty ? 0x29 : 0x74);
    return this;
  }
  /** `REDUCE`. */
  reduce(): this {
    this.#bytes.push(0x52);
    return this;
  }
  /** `SETITEMS` (pairs since the last mark into the dict below it). */
  setitems(): this {
    this.#bytes.push(0x75);
    return this;
  }
  /** `BINPERSID`. */
  persid(): this {
    this.#bytes.push(0x51);
    return this;
  }
  /** `BINUNICODE`. */
  str(s: string): this {
    const b = this.#enc.encode(s);
    this.#bytes.push(0x58);
    this.#u32(b.length);
    this.#bytes.push(...b);
    return this;
  }
  /** `BININT` (a signed 32-bit integer). */
  int(n: number): this {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
      throw new RangeError(`pickle int: ${n} is not a 32-bit integer`);
    }
    this.#bytes.push(0x4a);
    this.#u32(n >>> 0);
    return this;
  }
  /** `NEWTRUE` / `NEWFALSE`. */
  bool(b: boolean): this {
    this.#bytes.push(b ? 0x88 : 0x89);
    return this;
  }
  /** A tuple of 32-bit integers (`EMPTY_TUPLE` for none). */
  ints(values: readonly number[]): this {
    if (values.length === 0) return this.tuple(true);
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** `STOP`, and the bytes. */
  stop(): Uint8Array {
    this.#bytes.push(0x2e);
    return Uint8Array.from(this.#bytes);
  }
}

/** What {@linkcode unpickle} asks of its caller. */
export interface UnpickleHooks {
  /** Builds `callable(*args)`; the default keeps it as a {@linkcode PyObject}. */
  reduce?: (callable: string, args: unknown[]) => unknown;
  /** Resolves a persistent id (`BINPERSID`). Absent: such a pickle is refused. */
  persistentLoad?: (pid: unknown) => unknown;
}

const MARK = Symbol("mark");

/**
 * Runs a pickle (see the module doc) and returns its value.
 *
 * @param file the file's path, for messages
 * @throws {InputError} for an unknown opcode, a truncated pickle, or a malformed stack
 *
 * @example
 * ```ts
 * import { PickleWriter, unpickle } from "./pickle.ts";
 * const bytes = new PickleWriter().proto().mark().str("a").int(7).tuple().stop();
 * console.assert(JSON.stringify(unpickle(bytes, "x.pkl")) === '["a",7]');
 * ```
 */
export function unpickle(bytes: Uint8Array, file: string, hooks: UnpickleHooks = {}): unknown {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const fail = (what: string) => new InputError(file, undefined, `pickle byte ${pos}: ${what}`);
  const need = (n: number) => {
    if (pos + n > bytes.length) throw fail("truncated");
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), pos += 2, v.getUint16(pos - 2, true));
  const u32 = () => (need(4), pos += 4, v.getUint32(pos - 4, true));
  const take = (n: number) => (need(n), pos += n, bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail("truncated");
    const s = dec.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw fail("stack underflow");
    return stack.pop();
  };
  const popMark = () => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw fail("no mark");
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const top = () => {
    if (stack.length === 0) throw fail("stack underflow");
    return stack[stack.length - 1];
  };
  const asMap = (x: unknown) => {
    if (!(x instanceof Map)) throw fail("SETITEM(S) on something not a dict");
    return x;
  };
  const asList = (x: unknown) => {
    if (!Array.isArray(x)) throw fail("APPEND(S) on something not a list");
    return x;
  };
  const reduce = (callable: unknown, args: unknown[]) => {
    if (!isGlobal(callable)) throw fail("REDUCE of something not callable");
    return hooks.reduce?.(callable.global, args) ??
      ({ reduce: callable.global, args } satisfies PyObject);
  };
  const littleInt = (b: Uint8Array): number | bigint => {
    let n = 0n;
    for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n;
  };
  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(v.getInt32((need(4), pos += 4) - 4, true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(littleInt(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(littleInt(take(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push(v.getFloat64((need(8), pos += 8) - 8, false));
        break;
      case 0x8d: // BINUNICODE8: a 64-bit length whose high word is 0 (pickles here are small)
        if (v.getUint32((need(8), pos + 4), true) !== 0) throw fail("a string over 4 GiB");
        stack.push(dec.decode(take((pos += 8, v.getUint32(pos - 8, true)))));
        break;
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
        stack.push(dec.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING
        stack.push(dec.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x29: // EMPTY_TUPLE (tuples and lists are both arrays here)
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        if (stack.length < n) throw fail("stack underflow");
        stack.push(stack.splice(stack.length - n));
        break;
      }
      case 0x61: { // APPEND
        const x = pop();
        asList(top()).push(x);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const items = popMark();
        const m = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop(), key = pop();
        asMap(top()).set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const m = asMap(top());
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        stack.push({ global: `${module}.${name}` } satisfies PyGlobal);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        stack.push({ global: `${module}.${name}` } satisfies PyGlobal);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), callable = pop();
        if (!Array.isArray(args)) throw fail("REDUCE arguments are not a tuple");
        stack.push(reduce(callable, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop(), cls = pop();
        if (!Array.isArray(args)) throw fail("NEWOBJ arguments are not a tuple");
        stack.push(reduce(cls, args));
        break;
      }
      case 0x62: { // BUILD: object state (an OrderedDict's `_metadata`, say), kept aside
        const state = pop();
        const obj = top();
        if (obj !== null && typeof obj === "object" && "reduce" in obj) {
          (obj as PyObject).state = state;
        }
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(`memo ${k} is not set`);
        stack.push(memo.get(k));
        break;
      }
      case 0x51: { // BINPERSID
        if (!hooks.persistentLoad) throw fail("persistent id without a loader");
        stack.push(hooks.persistentLoad(pop()));
        break;
      }
      default:
        pos = at;
        throw fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/** True for a {@linkcode PyGlobal}. */
export function isGlobal(x: unknown): x is PyGlobal {
  return x !== null && typeof x === "object" && typeof (x as PyGlobal).global === "string";
}
