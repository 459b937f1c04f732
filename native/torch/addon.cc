// Node-API entry points of the piat-ts torch backend: a table of ATen tensors indexed by integer
// handles (one per tfjs data id), copies in and out of JavaScript typed arrays, and `run`, which
// calls the kernel registered under a tfjs kernel name. See src/backend/torch/ for the JS side.
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <c10/util/Exception.h>
#include <climits>
#include <cstring>
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

// ---- Args --------------------------------------------------------------------------------------
static void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) fail(std::string("Node-API call failed: ") + what);
}

napi_value Args::get(const char* name) const {
  napi_value v;
  check(env_, napi_get_named_property(env_, attrs_, name, &v), name);
  return v;
}
const at::Tensor& Args::in(size_t i) const {
  if (i >= in_.size()) fail("missing input " + std::to_string(i));
  return in_[i];
}
bool Args::has(const char* name) const {
  if (attrs_ == nullptr) return false;
  napi_valuetype t;
  check(env_, napi_typeof(env_, get(name), &t), name);
  return t != napi_undefined && t != napi_null;
}
static double number(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    return b ? 1 : 0;
  }
  if (t != napi_number) fail(std::string("attr ") + name + " is not a number");
  double d;
  napi_get_value_double(env, v, &d);
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
  napi_value v = get(name);
  size_t len;
  if (napi_get_value_string_utf8(env_, v, nullptr, 0, &len) != napi_ok) fail(std::string("attr ") + name + " is not a string");
  std::string s(len, '\0');
  napi_get_value_string_utf8(env_, v, &s[0], len + 1, &len);
  return s;
}
static std::vector<double> numbers(napi_env env, napi_value v, const char* name) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (!isArray) return {number(env, v, name)};
  uint32_t n;
  napi_get_array_length(env, v, &n);
  std::vector<double> out(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    out[i] = number(env, e, name);
  }
  return out;
}
std::vector<double> Args::doubles(const char* name) const {
  if (!has(name)) return {};
  return numbers(env_, get(name), name);
}
std::vector<int64_t> Args::ints(const char* name, size_t repeat) const {
  if (!has(name)) return {};
  napi_value v = get(name);
  bool isArray = false;
  napi_is_array(env_, v, &isArray);
  auto d = numbers(env_, v, name);
  std::vector<int64_t> out(d.begin(), d.end());
  if (!isArray && repeat > 0) out.assign(repeat, out[0]);
  return out;
}
std::vector<std::vector<int64_t>> Args::intPairs(const char* name) const {
  std::vector<std::vector<int64_t>> out;
  if (!has(name)) return out;
  napi_value v = get(name);
  uint32_t n;
  napi_get_array_length(env_, v, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env_, v, i, &e);
    auto d = numbers(env_, e, name);
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
#define NAPI_TRY(env, ...)                                         \
  try {                                                            \
    __VA_ARGS__                                                    \
  } catch (const c10::Error& e) {                                  \
    std::string m = e.what_without_backtrace();                    \
    napi_throw_error(env, "PIAT_TORCH", m.c_str());                \
    return nullptr;                                                \
  } catch (const std::exception& e) {                              \
    napi_throw_error(env, "PIAT_TORCH", e.what());                 \
    return nullptr;                                                \
  }

static std::vector<napi_value> argv(napi_env env, napi_callback_info info, size_t n) {
  std::vector<napi_value> a(n);
  size_t got = n;
  napi_get_cb_info(env, info, &got, a.data(), nullptr, nullptr);
  if (got < n) fail("expected " + std::to_string(n) + " arguments");
  return a;
}
static uint32_t u32(napi_env env, napi_value v) {
  uint32_t x;
  if (napi_get_value_uint32(env, v, &x) != napi_ok) fail("expected an unsigned integer");
  return x;
}
// a JavaScript string argument
static std::string utf8(napi_env env, napi_value v, const char* what) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) fail(std::string(what) + " must be a string");
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, &s[0], len + 1, &len);
  return s;
}
static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// write(values: TypedArray, shape: number[], dtype: number) -> handle
static napi_value Write(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 3);
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buf;
    size_t offset;
    if (napi_get_typedarray_info(env, a[0], &type, &length, &data, &buf, &offset) != napi_ok) fail("values must be a typed array");
    auto shapeD = numbers(env, a[1], "shape");
    std::vector<int64_t> shape(shapeD.begin(), shapeD.end());
    at::ScalarType st = scalarType(static_cast<int>(u32(env, a[2])));
    int64_t numel = 1;
    for (auto d : shape) numel *= d;
    size_t elem = st == at::kBool ? 1 : 4;
    size_t inBytes = length * (type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array ? 1 : type == napi_float64_array ? 8 : 4);
    at::Tensor cpu = at::empty(shape, at::TensorOptions().dtype(st));
    if (inBytes == numel * elem && !(type == napi_float64_array)) {
      std::memcpy(cpu.data_ptr(), data, inBytes);
    } else if (static_cast<int64_t>(length) == numel) {
      // a typed array of another element type (e.g. a Float32Array for an int32 tensor): convert
      at::ScalarType src = type == napi_float32_array ? at::kFloat : type == napi_int32_array ? at::kInt : type == napi_float64_array ? at::kDouble
                           : type == napi_uint8_array || type == napi_uint8_clamped_array ? at::kByte : type == napi_int8_array ? at::kChar
                           : type == napi_int16_array ? at::kShort : type == napi_uint16_array ? at::kShort : at::kInt;
      cpu.copy_(at::from_blob(data, shape, at::TensorOptions().dtype(src)));
    } else {
      fail("write: " + std::to_string(length) + " values for a tensor of " + std::to_string(numel) + " elements");
    }
    return num(env, store(device().is_cpu() ? cpu : cpu.to(device())));
  })
}

// read(handle) -> Float32Array | Int32Array | Uint8Array (a copy)
static napi_value Read(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    at::Tensor t = lookup(u32(env, a[0])).contiguous();
    if (!t.device().is_cpu()) t = t.to(at::kCPU);
    size_t bytes = t.numel() * t.element_size();
    void* out;
    napi_value ab, ta;
    napi_create_arraybuffer(env, bytes, &out, &ab);
    if (bytes) std::memcpy(out, t.data_ptr(), bytes);
    napi_typedarray_type type = t.scalar_type() == at::kFloat ? napi_float32_array : t.scalar_type() == at::kInt ? napi_int32_array : napi_uint8_array;
    napi_create_typedarray(env, type, t.numel(), ab, 0, &ta);
    return ta;
  })
}

static napi_value Dispose(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    uint32_t h = u32(env, a[0]);
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
  napi_create_array_with_length(env, flat.size(), &arr);
  for (size_t i = 0; i < flat.size(); i++) napi_set_element(env, arr, i, num(env, flat[i]));
  return arr;
}

// run(kernelName, handles: number[], attrs: object | null) -> encoded outputs
static napi_value Run(napi_env env, napi_callback_info info) {
  std::string name = "?";
  try {
    auto a = argv(env, info, 3);
    name = utf8(env, a[0], "kernel name");
    auto it = registry().find(name);
    if (it == registry().end()) fail("no kernel");
    uint32_t n;
    napi_get_array_length(env, a[1], &n);
    std::vector<at::Tensor> inputs;
    inputs.reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      napi_get_element(env, a[1], i, &e);
      inputs.push_back(lookup(u32(env, e)));
    }
    napi_valuetype at;
    napi_typeof(env, a[2], &at);
    Args args(env, at == napi_object ? a[2] : nullptr, std::move(inputs));
    auto outs = it->second(args);
    return encode(env, outs);
  } catch (const Unsupported& e) {
    std::string m = "torch kernel " + name + ": " + e.what();
    napi_throw_error(env, "PIAT_TORCH_UNSUPPORTED", m.c_str());
  } catch (const c10::Error& e) {
    std::string m = "torch kernel " + name + ": " + e.what_without_backtrace();
    napi_throw_error(env, "PIAT_TORCH", m.c_str());
  } catch (const std::exception& e) {
    std::string m = "torch kernel " + name + ": " + e.what();
    napi_throw_error(env, "PIAT_TORCH", m.c_str());
  }
  return nullptr;
}

// kernels() -> names of every registered kernel
static napi_value Kernels(napi_env env, napi_callback_info) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (auto& kv : registry()) {
    napi_value s;
    napi_create_string_utf8(env, kv.first.c_str(), kv.first.size(), &s);
    napi_set_element(env, arr, i++, s);
  }
  return arr;
}

// memory() -> { bytes, tensors, handles }: what the table holds now
static napi_value Memory(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "bytes", num(env, static_cast<double>(liveBytes)));
  napi_set_named_property(env, o, "tensors", num(env, static_cast<double>(liveTensors)));
  napi_set_named_property(env, o, "slots", num(env, static_cast<double>(table.size())));
  return o;
}

// setThreads(n) / threads()
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  NAPI_TRY(env, {
    auto a = argv(env, info, 1);
    at::set_num_threads(static_cast<int>(u32(env, a[0])));
    return num(env, at::get_num_threads());
  })
}
static napi_value Threads(napi_env env, napi_callback_info) { return num(env, at::get_num_threads()); }

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
    std::string name = layoutName(convLayout());
    napi_value v;
    napi_create_string_utf8(env, name.c_str(), name.size(), &v);
    return v;
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
    napi_value v;
    napi_create_string_utf8(env, mallocPolicy().c_str(), mallocPolicy().size(), &v);
    return v;
  })
}

// info() -> build and runtime facts for the run record
static napi_value Info(napi_env env, napi_callback_info) {
  NAPI_TRY(env, {
  napi_value o, s;
  napi_create_object(env, &o);
  std::string ver = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
  napi_create_string_utf8(env, ver.c_str(), ver.size(), &s);
  napi_set_named_property(env, o, "libtorch", s);
  std::string dev = device().str();
  napi_create_string_utf8(env, dev.c_str(), dev.size(), &s);
  napi_set_named_property(env, o, "device", s);
  napi_get_boolean(env, at::hasCUDA(), &s);
  napi_set_named_property(env, o, "cuda", s);
  std::string par = at::get_parallel_info();
  napi_create_string_utf8(env, par.c_str(), par.size(), &s);
  napi_set_named_property(env, o, "parallel", s);
  napi_set_named_property(env, o, "threads", num(env, at::get_num_threads()));
  std::string layout = layoutName(convLayout());
  napi_create_string_utf8(env, layout.c_str(), layout.size(), &s);
  napi_set_named_property(env, o, "convLayout", s);
  napi_create_string_utf8(env, mallocPolicy().c_str(), mallocPolicy().size(), &s);
  napi_set_named_property(env, o, "malloc", s);
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
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace piat

NAPI_MODULE(NODE_GYP_MODULE_NAME, piat::Init)
