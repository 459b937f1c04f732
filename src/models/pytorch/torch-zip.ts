/**
 * torch.save's file format (PyTorch ≥ 1.6): a zip archive <name>/data.pkl (a pickle of the object)
 * plus <name>/data/<key> (each storage's raw little-endian bytes), <name>/byteorder, <name>/version.
 *
 * Reading is safe by construction, as torch.load(weights_only=True): the pickle is parsed by
 * pickleparser (which runs no Python) with a name resolver that accepts only the globals a tensor
 * state_dict needs (OrderedDict, the tensor and parameter rebuild functions, the storage types);
 * any other global (os.system, builtins.eval, a model class …) is refused with an error naming it.
 * Zip parsing is fflate's. Writing emits the same layout with a small protocol-2 pickle of an
 * OrderedDict of tensors, which torch.load(weights_only=True) accepts.
 */
import { unzipSync, zipSync, Zippable } from 'fflate';
import { Parser } from 'pickleparser';
import { PiatError } from '../../util/errors';
import { contiguousBytes, DTYPE_BYTES, numel, StateDict, TorchDtype, TorchTensor } from './tensor';

/** torch.<X>Storage → element type. */
const STORAGES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const STORAGE_OF = Object.fromEntries(Object.entries(STORAGES).map(([k, v]) => [v, k])) as Record<TorchDtype, string>;

interface StorageRef {
  kind: 'storage';
  dtype: TorchDtype;
  key: string;
}
/** A tensor as the pickle describes it; its bytes are read from the archive after parsing. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}
/** collections.OrderedDict: a Map; its pickled state (a state_dict's `_metadata`) is dropped. */
class OrderedDict extends Map<unknown, unknown> {
  __setstate__(): void {}
}
const storageType = (dtype: TorchDtype) => Object.assign(() => undefined, { storageDtype: dtype });

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  const ints = (v: unknown) => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
  if (
    !(storage as StorageRef)?.kind ||
    !Number.isInteger(offset) ||
    !ints(size) ||
    !ints(stride) ||
    (size as number[]).length !== (stride as number[]).length
  )
    throw new PiatError('bad-checkpoint', 'a tensor in the pickle has a malformed storage, offset, size or stride');
  return new TensorRef(storage as StorageRef, offset as number, size as number[], stride as number[]);
}

/** The globals a weights-only pickle may name, as in torch.load(weights_only=True). */
const ALLOWED: Record<string, (...args: unknown[]) => unknown> = {
  'collections.OrderedDict': () => new OrderedDict(),
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_parameter': (data) => data,
  'torch._utils._rebuild_parameter_with_state': (data) => data,
  // nn.Parameter subclasses: (_rebuild_from_type_v2)(func, new_type, args, state)
  'torch._tensor._rebuild_from_type_v2': (func, _type, args) => (func as (...a: unknown[]) => unknown)(...(args as unknown[])),
  'torch.nn.parameter.Parameter': () => undefined,
  ...Object.fromEntries(Object.entries(STORAGES).map(([name, dtype]) => [`torch.${name}`, storageType(dtype)])),
};

class WeightsOnlyNames {
  resolve(module: string, name: string): (...args: unknown[]) => unknown {
    const f = ALLOWED[`${module}.${name}`];
    if (!f)
      throw new PiatError(
        'unsafe-checkpoint',
        `The pickle names the global ${module}.${name}, which a weights-only checkpoint never needs; it was refused and nothing was executed. ` +
          `Only tensors in (nested) dicts are read: save the model's state_dict() (torch.save(model.state_dict(), path)) or use safetensors.`,
      );
    return f;
  }
}

class StorageIds {
  resolve(pid: unknown): StorageRef {
    const p = pid as unknown[];
    const type = (p?.[1] as { storageDtype?: TorchDtype } | undefined)?.storageDtype;
    if (!Array.isArray(p) || p[0] !== 'storage' || !type || typeof p[2] !== 'string')
      throw new PiatError(
        'bad-checkpoint',
        `the pickle holds a persistent id that is not a tensor storage: ${JSON.stringify(pid)?.slice(0, 80)}`,
      );
    return { kind: 'storage', dtype: type, key: p[2] };
  }
}

/** Replaces every TensorRef in a parsed object with its tensor read from the archive. */
function resolveTensors(value: unknown, storage: (ref: StorageRef) => Uint8Array): unknown {
  if (value instanceof TensorRef) {
    const bytes = storage(value.storage);
    const item = DTYPE_BYTES[value.storage.dtype];
    try {
      return {
        dtype: value.storage.dtype,
        shape: value.shape,
        bytes: contiguousBytes(bytes, item, value.offset, value.shape, value.stride),
      } as TorchTensor;
    } catch (e) {
      throw new PiatError(
        'bad-checkpoint',
        `a tensor of shape [${value.shape}] does not fit its storage ${value.storage.key} (${(e as Error).message})`,
      );
    }
  }
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, resolveTensors(v, storage)]));
  if (Array.isArray(value)) return value.map((v) => resolveTensors(v, storage));
  return value;
}

/**
 * The object torch.save wrote (usually a state_dict, or a dict holding one), with tensors as
 * TorchTensor and dicts as Map. `file` names the file in messages.
 */
export function readTorchZip(bytes: Uint8Array, file: string): unknown {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new PiatError(
      'bad-checkpoint',
      `${file} is not a zip archive (${(e as Error).message}). torch.save wrote zip archives from PyTorch 1.6 on; re-save an older file with a recent PyTorch, or as safetensors.`,
    );
  }
  const pkl = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new PiatError('bad-checkpoint', `${file} is a zip archive without <name>/data.pkl: it was not written by torch.save.`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little')
    throw new PiatError('bad-checkpoint', `${file} stores big-endian tensors; only little-endian checkpoints are read.`);
  let parsed: unknown;
  try {
    parsed = new Parser({
      nameResolver: new WeightsOnlyNames(),
      persistentResolver: new StorageIds(),
      unpicklingTypeOfDictionary: 'Map',
      unpicklingTypeOfSet: 'array',
    }).parse(entries[pkl]);
  } catch (e) {
    if (e instanceof PiatError) throw new PiatError(e.code, `${file}: ${e.message}`);
    throw new PiatError('bad-checkpoint', `${file}: its pickle could not be read (${(e as Error).message}).`);
  }
  return resolveTensors(parsed, (ref) => {
    const data = entries[`${prefix}data/${ref.key}`];
    if (!data) throw new PiatError('bad-checkpoint', `${file} lacks the storage ${prefix}data/${ref.key} that its pickle names.`);
    return data;
  });
}

/** A protocol-2 pickle of OrderedDict(name → tensor), tensors as torch.save pickles them. */
class PickleWriter {
  private chunks: number[] = [];
  op(...bytes: number[]): this {
    this.chunks.push(...bytes);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, (b.length >>> 24) & 0xff, ...b);
  }
  int(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new Error(`cannot pickle ${n}`);
    if (n < 256) return this.op(0x4b, n); // BININT1
    return this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff); // BININT
  }
  tuple(items: number[]): this {
    this.op(0x28); // MARK
    items.forEach((i) => this.int(i));
    return this.op(0x74); // TUPLE
  }
  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function pickleStateDict(names: string[], tensors: TorchTensor[]): Uint8Array {
  const w = new PickleWriter().op(0x80, 2).emptyOrderedDict().op(0x28); // PROTO 2, OrderedDict(), MARK
  names.forEach((name, i) => {
    const t = tensors[i];
    const stride = t.shape.map((_, d) => numel(t.shape.slice(d + 1)));
    w.str(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28); // MARK (args)
    w.op(0x28).str('storage').global('torch', STORAGE_OF[t.dtype]).str(String(i)).str('cpu').int(numel(t.shape)).op(0x74, 0x51); // TUPLE, BINPERSID
    w.int(0).tuple(t.shape).tuple(stride).op(0x89).emptyOrderedDict(); // offset, size, stride, NEWFALSE, hooks
    w.op(0x74, 0x52); // TUPLE, REDUCE
  });
  return w.op(0x75, 0x2e).bytes(); // SETITEMS, STOP
}

/** torch.save(state_dict)'s bytes: loadable by torch.load(path, weights_only=True). `name` is the archive's folder. */
export function writeTorchZip(tensors: StateDict, name = 'archive'): Uint8Array {
  const names = [...tensors.keys()];
  const values = [...tensors.values()];
  const files: Zippable = {
    [`${name}/data.pkl`]: [pickleStateDict(names, values), { level: 0 }],
    [`${name}/byteorder`]: [new TextEncoder().encode('little'), { level: 0 }],
  };
  values.forEach((t, i) => (files[`${name}/data/${i}`] = [t.bytes, { level: 0 }]));
  files[`${name}/version`] = [new TextEncoder().encode('3\n'), { level: 0 }];
  return zipSync(files);
}
