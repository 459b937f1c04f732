// Node-API entry points of the piat-ts torch backend: a table of ATen tensors indexed by integer
// handles (one per tfjs data id), copies in and out of JavaScript typed arrays, and `run`, which
// calls the kernel registered under a tfjs kernel name. See src/backend/torch/ for the JS side.
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <c10/util/Exception.h>
#include <climits>
#include <cstring>
#include <unordered_set>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"

namespace piat {

at::Device& device() {
  static at::Device d(at::kCPU);
  return d;
}
static ConvLayout layoutFromName(const std::string& s) {
  ConvLayout l;
  if (s == "nchw") l.kind = ConvLayout::NCHW;
  else if (s == "nhwc") l.kind = ConvLayout::NHWC;
  else if (s == "auto") l.kind = ConvLayout::Auto;
  else if (s.rfind("auto:", 0) == 0 && s.size() > 5 && s.find_first_not_of("0123456789", 5) == std::string::npos) l.autoChannels = std::stoll(s.substr(5));
  else fail("the convolution layout (PIAT_TORCH_CONV_LAYOUT) must be auto, auto:<channels>, nchw or nhwc, not '" + s + "'");
  return l;
}
static std::string layoutName(const ConvLayout& l) {
  return l.kind == ConvLayout::NCHW ? "nchw" : l.kind == ConvLayout::NHWC ? "nhwc" : "auto:" + std::to_string(l.autoChannels);
}
ConvLayout& convLayout() {
  static ConvLayout l;  // PIAT_TORCH_CONV_LAYOUT is applied from JavaScript (startTorch) through SetConvLayout
  return l;
}
at::TensorOptions opts(at::ScalarType t) { return at::TensorOptions().dtype(t).device(device()); }

at::ScalarType scalarType(int code) {
  switch (code) {
    case F32: return at::kFloat;
    case I32: return at::kInt;
    case BOOL: return at::kBool;
  }
  fail("unknown dtype code " + std::to_string(code));
}
int dtypeCode(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return F32;
    case at::kInt: return I32;
    case at::kBool: return BOOL;
    default: fail(std::string("kernel produced unsupported dtype ") + c10::toString(t));
  }
}

std::unordered_map<std::string, Kernel>& registry() {
  static std::unordered_map<std::string, Kernel> r;
  return r;
}

void fail(const std::string& msg) { throw std::runtime_error(msg); }

// ---- Node-API status checks (see NAPI_CALL in common.h) -----------------------------------------
std::string napiError(napi_env env, napi_status s, const char* call) {
  const napi_extended_error_info* info = nullptr;
  std::string why = "no message";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != nullptr && info->error_message != nullptr) why = info->error_message;
  return std::string("Node-API call ") + call + " failed: " + why + " (napi_status " + std::to_string(static_cast<int>(s)) + ")";
}
void throwJs(napi_env env, const char* code, const std::string& msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;  // that exception propagates
  napi_status s = napi_throw_error(env, code, msg.c_str());
  // It fails only with an exception pending (or JavaScript unable to run, which Node-API version 8
  // reports the same way) or for a null argument; nothing else could report the error then.
  if (s != napi_ok && s != napi_pending_exception) {
    std::string fatal = "napi_throw_error failed (napi_status " + std::to_string(static_cast<int>(s)) + ") while throwing: " + msg;
    napi_fatal_error("piat torch addon", NAPI_AUTO_LENGTH, fatal.c_str(), NAPI_AUTO_LENGTH);
  }
}

// ---- Args --------------------------------------------------------------------------------------
static napi_valuetype typeOf(napi_env env, napi_value v) {
  napi_valuetype t;
  NAPI_CHECK(env, napi_typeof(env, v, &t));
  return t;
}
static bool isArray(napi_env env, napi_value v) {
  bool is = false;
  NAPI_CHECK(env, napi_is_array(env, v, &is));
  return is;
}
static uint32_t arrayLength(napi_env env, napi_value v, const char* what) {
  if (!isArray(env, v)) fail(std::string(what) + " must be an array");
  uint32_t n;
  NAPI_CHECK(env, napi_get_array_length(env, v, &n));
  return n;
}
static napi_value element(napi_env env, napi_value v, uint32_t i) {
  napi_value e;
  NAPI_CHECK(env, napi_get_element(env, v, i, &e));
  return e;
}
// a JavaScript string; `what` names it in the error when it is not one
static std::string utf8(napi_env env, napi_value v, const std::string& what) {
  if (typeOf(env, v) != napi_string) fail(what + " must be a string");
  size_t len;
  NAPI_CHECK(env, napi_get_value_string_utf8(env, v, nullptr, 0, &len));
  std::string s(len, '\0');
  NAPI_CHECK(env, napi_get_value_string_utf8(env, v, &s[0], len + 1, &len));
  return s;
}

napi_value Args::get(const char* name) const {
  napi_value v;
  NAPI_CHECK(env_, napi_get_named_property(env_, attrs_, name, &v));
  return v;
}
const at::Tensor& Args::in(size_t i) const {
  if (i >= in_.size()) fail("missing input " + std::to_string(i));
  return in_[i];
}
bool Args::has(const char* name) const {
  if (attrs_ == nullptr) return false;
  napi_valuetype t = typeOf(env_, get(name));
  return t != napi_undefined && t != napi_null;
}
static double number(napi_env env, napi_value v, const char* name) {
  napi_valuetype t = typeOf(env, v);
  if (t == napi_boolean) {
    bool b;
    NAPI_CHECK(env, napi_get_value_bool(env, v, &b));
    return b ? 1 : 0;
  }
  if (t != napi_number) fail(std::string("attr ") + name + " is not a number");
  double d;
  NAPI_CHECK(env, napi_get_value_double(env, v, &d));
  return d;
}
int64_t Args::i64(const char* name) const {
  if (!has(name)) fail(std::string("missing attr ") + name);
  return static_cast<int64_t>(number(env_, get(name), name));
}
int64_t Args::i64(const char* name, int64_t dflt) const { return has(name) ? i64(name) : dflt; }
double Args::f64(const char* name) const {
  if (!has(name)) fail(std::string("missing attr ") + name);
  return number(env_, get(name), name);
}
double Args::f64(const char* name, double dflt) const { return has(name) ? f64(name) : dflt; }
bool Args::flag(const char* name, bool dflt) const { return has(name) ? number(env_, get(name), name) != 0 : dflt; }
std::string Args::str(const char* name, const std::string& dflt) const {
  if (!has(name)) return dflt;
  return utf8(env_, get(name), std::string("attr ") + name);
}
static std::vector<double> numbers(napi_env env, napi_value v, const char* name) {
  if (!isArray(env, v)) return {number(env, v, name)};
  uint32_t n = arrayLength(env, v, name);
  std::vector<double> out(n);
  for (uint32_t i = 0; i < n; i++) out[i] = number(env, element(env, v, i), name);
  return out;
}
std::vector<double> Args::doubles(const char* name) const {
  if (!has(name)) return {};
  return numbers(env_, get(name), name);
}
std::vector<int64_t> Args::ints(const char* name, size_t repeat) const {
  if (!has(name)) return {};
  napi_value v = get(name);
  bool array = isArray(env_, v);
  auto d = numbers(env_, v, name);
  std::vector<int64_t> out(d.begin(), d.end());
  if (!array && repeat > 0) out.assign(repeat, out[0]);
  return out;
}
std::vector<std::vector<int64_t>> Args::intPairs(const char* name) const {
  std::vector<std::vector<int64_t>> out;
  if (!has(name)) return out;
  napi_value v = get(name);
  uint32_t n = arrayLength(env_, v, (std::string("attr ") + name).c_str());
  for (uint32_t i = 0; i < n; i++) {
    auto d = numbers(env_, element(env_, v, i), name);
    out.emplace_back(d.begin(), d.end());
  }
  return out;
}

// ---- tensor table ------------------------------------------------------------------------------
static std::vector<at::Tensor> table;
static std::vector<uint32_t> freeSlots;
static int64_t liveBytes = 0;
static int64_t liveTensors = 0;

static uint32_t store(at::Tensor t) {
  liveBytes += t.numel() * t.element_size();
  liveTensors++;
  if (!freeSlots.empty()) {
    uint32_t h = freeSlots.back();
    freeSlots.pop_back();
    table[h] = std::move(t);
    return h;
  }
  table.push_back(std::move(t));
  return static_cast<uint32_t>(table.size() - 1);
}
static const at::Tensor& lookup(uint32_t h) {
  if (h >= table.size() || !table[h].defined()) fail("unknown or disposed tensor handle " + std::to_string(h));
  return table[h];
}

// Kernel outputs own their memory: a view that covers part of an input's storage (a slice) is
// copied, so disposing the input frees it and the byte count stays exact. A dense permutation of
// its whole storage (a convolution's NCHW output seen as NHWC) is kept as it is; Read copies it.
static at::Tensor own(at::Tensor t) {
  if (t.scalar_type() == at::kLong) t = t.to(at::kInt);
  else if (t.scalar_type() == at::kDouble) t = t.to(at::kFloat);
  if (!t.is_non_overlapping_and_dense() || (t.numel() > 0 && t.storage().nbytes() != static_cast<size_t>(t.numel() * t.element_size())) || t.storage_offset() != 0)
    t = t.clone(at::MemoryFormat::Contiguous);  // one copy into fresh storage (contiguous().clone() copied twice)
  return t;
}

// ---- Node-API glue -----------------------------------------------------------------------------
// The body of an entry point: a C++ exception becomes a JavaScript Error (none may reach Node).
#define NAPI_TRY(env, ...)                                                   \
  try {                                                                      \
    __VA_ARGS__                                                              \
  } catch (const NapiError& e) {                                             \
    throwJs(env, "PIAT_TORCH_NAPI", e.what());                               \
    return nullptr;                                                          \
  } catch (const c10::Error& e) {                                            \
    throwJs(env, "PIAT_TORCH", e.what_without_backtrace());                  \
    return nullptr;                                                          \
  } catch (const std::exception& e) {                                        \
    throwJs(env, "PIAT_TORCH", e.what());                                    \
    return nullptr;                                                          \
  } catch (...) {                                                            \
    throwJs(env, "PIAT_TORCH", "unknown C++ exception in the torch addon"); \
    return nullptr;                                                          \
  }

static std::vector<napi_value> argv(napi_env env, napi_callback_info info, size_t n) {
  std::vector<napi_value> a(n);
  size_t got = n;
  NAPI_CHECK(env, napi_get_cb_info(env, info, &got, a.data(), nullptr, nullptr));
  if (got < n) fail("expected " + std::to_string(n) + " arguments");
  return a;
}
// a handle, dtype code or thread count
static uint32_t u32(napi_env env, napi_value v, const char* what) {
  if (typeOf(env, v) != napi_number) fail(std::string(what) + " must be a number");
  double d;
  NAPI_CHECK(env, napi_get_value_double(env, v, &d));
  if (!(d >= 0 && d <= 4294967295.0 && d == static_cast<double>(static_cast<uint32_t>(d))))
    fail(std::string(what) + " must be an unsigned 32-bit integer, not " + std::to_string(d));
  return static_cast<uint32_t>(d);
}
static napi_value num(napi_env env, double d) {
  napi_value v;
  NAPI_CHECK(env, napi_create_double(env, d, &v));
  return v;
}
static napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  NAPI_CHECK(env, napi_create_string_utf8(env, s.c_str(), s.size(), &v));
  return v;
}

// A typed array's elements as a 1-D CPU tensor: a view of its memory where ATen has its element
// type, else a widened copy. ATen 1.13 has no uint16 or uint32, so a Uint16Array is read as int32
// and a Uint32Array as int64 (values above 32767 and 2^31 keep their value); a BigUint64Array is
// refused. The caller converts to the tensor's dtype.
template <typename From, typename To>
static at::Tensor widened(const void* data, int64_t n, at::ScalarType to) {
  at::Tensor t = at::empty({n}, at::TensorOptions().dtype(to));
  const From* in = static_cast<const From*>(data);
  To* out = t.data_ptr<To>();
  for (int64_t i = 0; i < n; i++) out[i] = static_cast<To>(in[i]);
  return t;
}
static at::Tensor typedArrayTensor(napi_typedarray_type type, void* data, int64_t n) {
  auto view = [&](at::ScalarType t) { return at::from_blob(data, {n}, at::TensorOptions().dtype(t)); };
  switch (type) {
    case napi_int8_array: return view(at::kChar);
    case napi_uint8_array:
    case napi_uint8_clamped_array: return view(at::kByte);
    case napi_int16_array: return view(at::kShort);
    case napi_uint16_array: return widened<uint16_t, int32_t>(data, n, at::kInt);
    case napi_int32_array: return view(at::kInt);
    case napi_uint32_array: return widened<uint32_t, int64_t>(data, n, at::kLong);
    case napi_float32_array: return view(at::kFloat);
    case napi_float64_array: return view(at::kDouble);
    case napi_bigint64_array: return view(at::kLong);
    case napi_biguint64_array: fail("values: a BigUint64Array cannot be written (ATen has no uint64 dtype)");
    default: break;
  }
  fail("values: typed array type " + std::to_string(static_cast<int>(type)) + " cannot be written");
}

// write(values: TypedArray, shape: number[], dtype: number) -> handle. The values are converted
// to the dtype (float32, int32, bool) unless they are already of it, then copied as they are.
static napi_value Write(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 3);
    bool typed = false;
    NAPI_CALL(env, napi_is_typedarray(env, a[0], &typed));
    if (!typed) fail("values must be a typed array");
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buf;
    size_t offset;
    NAPI_CALL(env, napi_get_typedarray_info(env, a[0], &type, &length, &data, &buf, &offset));
    auto shapeD = numbers(env, a[1], "shape");
    std::vector<int64_t> shape(shapeD.begin(), shapeD.end());
    at::ScalarType st = scalarType(static_cast<int>(u32(env, a[2], "dtype")));
    int64_t numel = 1;
    for (auto d : shape) numel *= d;
    if (static_cast<int64_t>(length) != numel)
      fail("write: " + std::to_string(length) + " values for a tensor of " + std::to_string(numel) + " elements");
    // On a GPU the values are staged in pinned (page-locked) host memory and copied without
    // waiting: the copy is queued on the stream, so an upload no longer synchronises the device.
    // The pinned block comes from libtorch's caching host allocator, which does not hand it out
    // again before the queued copy has run (as PyTorch's tensor.pin_memory().to(non_blocking=True)).
    bool gpu = device().is_cuda();
    at::Tensor cpu = at::empty(shape, at::TensorOptions().dtype(st).pinned_memory(gpu));
    if (numel > 0) {
      at::Tensor src = typedArrayTensor(type, data, numel);
      if (src.scalar_type() == st) std::memcpy(cpu.data_ptr(), src.data_ptr(), numel * cpu.element_size());
      else cpu.view({numel}).copy_(src);
    }
    return num(env, store(gpu ? cpu.to(device(), /*non_blocking=*/true) : cpu));
  })
}

// read(handle) -> Float32Array | Int32Array | Uint8Array (a copy)
static napi_value Read(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    at::Tensor t = lookup(u32(env, a[0], "handle")).contiguous();
    if (!t.device().is_cpu()) t = t.to(at::kCPU);
    napi_typedarray_type type;
    switch (t.scalar_type()) {
      case at::kFloat: type = napi_float32_array; break;
      case at::kInt: type = napi_int32_array; break;
      case at::kBool: type = napi_uint8_array; break;
      default: fail(std::string("read: a tensor of dtype ") + c10::toString(t.scalar_type()));
    }
    size_t bytes = t.numel() * t.element_size();
    void* out;
    napi_value ab, ta;
    NAPI_CALL(env, napi_create_arraybuffer(env, bytes, &out, &ab));
    if (bytes) std::memcpy(out, t.data_ptr(), bytes);
    NAPI_CALL(env, napi_create_typedarray(env, type, t.numel(), ab, 0, &ta));
    return ta;
  })
}

static napi_value Dispose(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    uint32_t h = u32(env, a[0], "handle");
    const at::Tensor& t = lookup(h);
    liveBytes -= t.numel() * t.element_size();
    liveTensors--;
    table[h] = at::Tensor();
    freeSlots.push_back(h);
    return nullptr;
  })
}

// Encodes outputs as [n, handle, dtype, rank, dims..., handle, ...].
static napi_value encode(napi_env env, std::vector<at::Tensor>& outs) {
  std::vector<double> flat{static_cast<double>(outs.size())};
  for (auto& t : outs) {
    t = own(std::move(t));
    int code = dtypeCode(t.scalar_type());
    flat.push_back(store(t));
    flat.push_back(code);
    flat.push_back(t.dim());
    for (auto d : t.sizes()) flat.push_back(static_cast<double>(d));
  }
  napi_value arr;
  NAPI_CHECK(env, napi_create_array_with_length(env, flat.size(), &arr));
  for (size_t i = 0; i < flat.size(); i++) NAPI_CHECK(env, napi_set_element(env, arr, static_cast<uint32_t>(i), num(env, flat[i])));
  return arr;
}

const at::Tensor& tensorAt(uint32_t handle) { return lookup(handle); }
napi_value encodeOutputs(napi_env env, std::vector<at::Tensor>& outs) { return encode(env, outs); }

// run(kernelName, handles: number[], attrs: object | null) -> encoded outputs
static napi_value Run(napi_env env, napi_callback_info info) {
  std::string name = "?";
  try {
    auto a = argv(env, info, 3);
    name = utf8(env, a[0], "kernel name");
    auto it = registry().find(name);
    if (it == registry().end()) fail("no kernel");
    uint32_t n = arrayLength(env, a[1], "handles");
    std::vector<at::Tensor> inputs;
    inputs.reserve(n);
    for (uint32_t i = 0; i < n; i++) inputs.push_back(lookup(u32(env, element(env, a[1], i), "handle")));
    Args args(env, typeOf(env, a[2]) == napi_object ? a[2] : nullptr, std::move(inputs));
    auto outs = it->second(args);
    return encode(env, outs);
  } catch (const Unsupported& e) {
    throwJs(env, "PIAT_TORCH_UNSUPPORTED", "torch kernel " + name + ": " + e.what());
  } catch (const NapiError& e) {
    throwJs(env, "PIAT_TORCH_NAPI", "torch kernel " + name + ": " + e.what());
  } catch (const c10::Error& e) {
    throwJs(env, "PIAT_TORCH", "torch kernel " + name + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throwJs(env, "PIAT_TORCH", "torch kernel " + name + ": " + e.what());
  } catch (...) {
    throwJs(env, "PIAT_TORCH", "torch kernel " + name + ": unknown C++ exception");
  }
  return nullptr;
}

// A typed array's elements (one of type `want`), checked and copied out.
template <typename T>
static std::vector<T> typedElements(napi_env env, napi_value v, napi_typedarray_type want, const char* what) {
  bool typed = false;
  NAPI_CHECK(env, napi_is_typedarray(env, v, &typed));
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (typed) NAPI_CHECK(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr));
  if (!typed || type != want) fail(std::string(what) + " must be a " + (want == napi_uint32_array ? "Uint32Array" : "Uint8Array"));
  const T* p = static_cast<const T*>(data);
  return std::vector<T>(p, p + length);
}

// sgdStep(handles: Uint32Array, decay: Uint8Array, hyper: { lr, momentum, weightDecay, nesterov })
// One SGD update of n parameters (optim.cc): handles are the n parameters, their n gradients and,
// when momentum > 0, their n velocities; decay[i] says whether weight decay applies to parameter i.
// Every new tensor is computed first, then each parameter's and velocity's slot is given its new
// tensor: the handles (so tfjs's data ids, shapes and tensor counts) stay, a failed call changes
// nothing, and a tensor that shares the old storage (an Identity or Reshape output) keeps the old
// values, as tfjs's immutable tensors must. The caller makes sure no other tfjs tensor shares
// these data ids (src/backend/torch/backend.ts).
static napi_value SgdStep(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 3);
    std::vector<uint32_t> hs = typedElements<uint32_t>(env, a[0], napi_uint32_array, "handles");
    std::vector<uint8_t> flags = typedElements<uint8_t>(env, a[1], napi_uint8_array, "decay");
    if (typeOf(env, a[2]) != napi_object) fail("hyper must be an object { lr, momentum, weightDecay, nesterov }");
    Args args(env, a[2], {});
    SgdHyper h;
    h.lr = args.f64("lr");
    h.momentum = args.f64("momentum", 0);
    h.weightDecay = args.f64("weightDecay", 0);
    h.nesterov = args.flag("nesterov", false);
    const size_t n = flags.size();
    const bool momentum = h.momentum > 0;
    if (hs.size() != (momentum ? 3 : 2) * n)
      fail("sgdStep: " + std::to_string(hs.size()) + " handles for " + std::to_string(n) + " parameters (want " + std::to_string(momentum ? 3 : 2) + " per parameter)");
    std::vector<at::Tensor> params, grads, bufs;
    std::unordered_set<uint32_t> replaced;
    for (size_t i = 0; i < n; i++) {
      params.push_back(lookup(hs[i]));
      grads.push_back(lookup(hs[n + i]));
      if (momentum) bufs.push_back(lookup(hs[2 * n + i]));
      if (!replaced.insert(hs[i]).second || (momentum && !replaced.insert(hs[2 * n + i]).second))
        fail("sgdStep: a parameter or velocity is passed twice");
    }
    std::vector<bool> decay(flags.begin(), flags.end());
    SgdUpdate up = sgdStep(params, grads, bufs, decay, h);
    auto put = [](uint32_t handle, at::Tensor t) {
      t = own(std::move(t));
      liveBytes += t.numel() * t.element_size() - table[handle].numel() * table[handle].element_size();
      table[handle] = std::move(t);
    };
    for (size_t i = 0; i < n; i++) {
      put(hs[i], std::move(up.params[i]));
      if (momentum) put(hs[2 * n + i], std::move(up.bufs[i]));
    }
    return nullptr;
  })
}

// kernels() -> names of every registered kernel
static napi_value Kernels(napi_env env, napi_callback_info) {
  NAPI_TRY(env, {
    napi_value arr;
    NAPI_CALL(env, napi_create_array(env, &arr));
    uint32_t i = 0;
    for (auto& kv : registry()) NAPI_CALL(env, napi_set_element(env, arr, i++, str(env, kv.first)));
    return arr;
  })
}

// memory() -> { bytes, tensors, slots }: what the table holds now
static napi_value Memory(napi_env env, napi_callback_info) {
  NAPI_TRY(env, {
    napi_value o;
    NAPI_CALL(env, napi_create_object(env, &o));
    NAPI_CALL(env, napi_set_named_property(env, o, "bytes", num(env, static_cast<double>(liveBytes))));
    NAPI_CALL(env, napi_set_named_property(env, o, "tensors", num(env, static_cast<double>(liveTensors))));
    NAPI_CALL(env, napi_set_named_property(env, o, "slots", num(env, static_cast<double>(table.size()))));
    return o;
  })
}

// setThreads(n) / threads()
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    at::set_num_threads(static_cast<int>(u32(env, a[0], "threads")));
    return num(env, at::get_num_threads());
  })
}
static napi_value Threads(napi_env env, napi_callback_info) {
  NAPI_TRY(env, { return num(env, at::get_num_threads()); })
}

// setDevice("cpu" | "cuda" | "cuda:N") -> device string; fails when the build or machine has no CUDA
static napi_value SetDevice(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    at::Device d(utf8(env, a[0], "device"));
    if (d.is_cuda() && !at::hasCUDA()) fail("this libtorch has no usable CUDA (build against a CUDA libtorch with PIAT_LIBTORCH and run on a machine with an NVIDIA GPU)");
    if (liveTensors > 0 && d != device()) fail("cannot change device while tensors are alive");
    device() = d;
    return nullptr;
  })
}

// setConvLayout("auto" | "auto:N" | "nchw" | "nhwc") -> the layout now in force (see ConvLayout in common.h)
static napi_value SetConvLayout(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    convLayout() = layoutFromName(utf8(env, a[0], "layout"));
    return str(env, layoutName(convLayout()));
  })
}

// setMalloc("keep" | "release") -> the policy in force. glibc hands every block above its mmap
// threshold (128 KiB, raised dynamically to at most 32 MiB) back to the system when it is freed,
// so each new activation of a training step is fresh memory whose pages fault in one by one (on
// the 2-core machine a third of the small CNN's input gradient went to that; WRN-34-10's 84 MB
// activations at batch 128 never reach the heap at all). `keep` serves every block from the heap
// and trims it only past 2 GiB of free top: freed tensors' pages are reused warm, and the
// process keeps its peak memory. `release` is glibc's default. Elsewhere than glibc: "system".
static std::string& mallocPolicy() {
  static std::string p = "release";
  return p;
}
static napi_value SetMalloc(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    std::string want = utf8(env, a[0], "policy");
    if (want != "keep" && want != "release") fail("PIAT_TORCH_MALLOC must be 'keep' or 'release', got '" + want + "'");  // the malloc policy
#if defined(__GLIBC__)
    bool keep = want == "keep";
    mallopt(M_MMAP_MAX, keep ? 0 : 65536);
    mallopt(M_TRIM_THRESHOLD, keep ? INT_MAX : 128 * 1024);
    if (!keep) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallocPolicy() = want;
#else
    mallocPolicy() = "system";
#endif
    return str(env, mallocPolicy());
  })
}

// info() -> build and runtime facts for the run record
static napi_value Info(napi_env env, napi_callback_info) {
  NAPI_TRY(env, {
    napi_value o, cuda;
    NAPI_CALL(env, napi_create_object(env, &o));
    std::string ver = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
    NAPI_CALL(env, napi_set_named_property(env, o, "libtorch", str(env, ver)));
    NAPI_CALL(env, napi_set_named_property(env, o, "device", str(env, device().str())));
    NAPI_CALL(env, napi_get_boolean(env, at::hasCUDA(), &cuda));
    NAPI_CALL(env, napi_set_named_property(env, o, "cuda", cuda));
    NAPI_CALL(env, napi_set_named_property(env, o, "parallel", str(env, at::get_parallel_info())));
    NAPI_CALL(env, napi_set_named_property(env, o, "threads", num(env, at::get_num_threads())));
    NAPI_CALL(env, napi_set_named_property(env, o, "convLayout", str(env, layoutName(convLayout()))));
    NAPI_CALL(env, napi_set_named_property(env, o, "malloc", str(env, mallocPolicy())));
    FilterCacheStats fc = filterCacheStats();
    napi_value cache;
    NAPI_CALL(env, napi_create_object(env, &cache));
    NAPI_CALL(env, napi_set_named_property(env, cache, "copies", num(env, static_cast<double>(fc.copies))));
    NAPI_CALL(env, napi_set_named_property(env, cache, "reuses", num(env, static_cast<double>(fc.reuses))));
    NAPI_CALL(env, napi_set_named_property(env, cache, "entries", num(env, static_cast<double>(fc.entries))));
    NAPI_CALL(env, napi_set_named_property(env, cache, "bytes", num(env, static_cast<double>(fc.bytes))));
    NAPI_CALL(env, napi_set_named_property(env, o, "filterCache", cache));
    return o;
  })
}

// sync(): waits for queued device work (CUDA); a no-op on the CPU
static napi_value Sync(napi_env env, napi_callback_info) {
  NAPI_TRY(env, {
    if (device().is_cuda()) at::zeros({1}, opts(at::kFloat)).to(at::kCPU);
    return nullptr;
  })
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"write", nullptr, Write, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"read", nullptr, Read, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dispose", nullptr, Dispose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"run", nullptr, Run, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"kernels", nullptr, Kernels, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"memory", nullptr, Memory, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setConvLayout", nullptr, SetConvLayout, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setMalloc", nullptr, SetMalloc, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setDevice", nullptr, SetDevice, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sync", nullptr, Sync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"modelForward", nullptr, ModelForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"modelBackward", nullptr, ModelBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"modelInputGrad", nullptr, ModelInputGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace piat

NAPI_MODULE(NODE_GYP_MODULE_NAME, piat::Init)
