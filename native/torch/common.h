// Shared by the piat-ts torch backend's sources: the tensor table, kernel arguments read from
// tfjs's attrs object, and the kernel registry (one entry per tfjs kernel name).
#pragma once
#include <ATen/ATen.h>
#include <node_api.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace piat {

// The device every tensor lives on (CPU, or CUDA when PIAT_DEVICE=cuda and the build has it).
at::Device& device();
at::TensorOptions opts(at::ScalarType t);

// tfjs dtypes: float32, int32, bool (complex64 and string are not supported on this backend).
enum DType { F32 = 0, I32 = 1, BOOL = 2 };
at::ScalarType scalarType(int code);
int dtypeCode(at::ScalarType t);

// Arguments of one kernel call: the input tensors and tfjs's attrs object, read by name.
class Args {
 public:
  Args(napi_env env, napi_value attrs, std::vector<at::Tensor> inputs) : env_(env), attrs_(attrs), in_(std::move(inputs)) {}
  const at::Tensor& in(size_t i) const;
  size_t size() const { return in_.size(); }
  const std::vector<at::Tensor>& inputs() const { return in_; }
  bool has(const char* name) const;  // present, not null or undefined
  int64_t i64(const char* name) const;
  int64_t i64(const char* name, int64_t dflt) const;
  double f64(const char* name) const;
  double f64(const char* name, double dflt) const;
  bool flag(const char* name, bool dflt = false) const;
  std::string str(const char* name, const std::string& dflt = "") const;
  // A number or an array of numbers; a single number is repeated `repeat` times when repeat > 0.
  std::vector<int64_t> ints(const char* name, size_t repeat = 0) const;
  std::vector<double> doubles(const char* name) const;
  // Nested int arrays, e.g. paddings [[a,b],[c,d]].
  std::vector<std::vector<int64_t>> intPairs(const char* name) const;

 private:
  napi_value get(const char* name) const;
  napi_env env_;
  napi_value attrs_;
  std::vector<at::Tensor> in_;
};

using Kernel = std::function<std::vector<at::Tensor>(const Args&)>;
std::unordered_map<std::string, Kernel>& registry();

struct Register {
  Register(const char* name, Kernel k) { registry()[name] = std::move(k); }
};

// One output.
inline std::vector<at::Tensor> one(at::Tensor t) { return {std::move(t)}; }

// tfjs axes may be negative.
inline int64_t axis(int64_t a, int64_t rank) { return a < 0 ? a + rank : a; }

// NHWC tensor <-> NCHW view with channels-last strides (no copy).
inline at::Tensor nchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
inline at::Tensor nhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}); }
// Where a convolution keeps its activations. NCHW runs it, as PyTorch does, on NCHW-contiguous
// memory that tfjs sees as an NHWC tensor through a permuted view; NHWC views tfjs's NHWC memory
// as channels-last NCHW (no copy). oneDNN's blocked NCHW kernels beat its NHWC ones on AVX2 CPUs
// at 128-640 channels (WRN-34-10: 1.3x), its NHWC ones at up to 64 (the small CNN: 10 %), so
// Auto (the default) runs a convolution NCHW when both its channel counts reach `autoChannels`.
// The element-wise kernels between convolutions keep their inputs' layout, so a network pays
// one copy where it changes layout. setConvLayout picks it (startTorch passes
// PIAT_TORCH_CONV_LAYOUT=auto|auto:N|nchw|nhwc; the A/B scripts switch it in one process).
struct ConvLayout {
  enum Kind { Auto, NCHW, NHWC } kind = Auto;
  int64_t autoChannels = 128;
  bool channelsFirst(int64_t ci, int64_t co) const { return kind == NCHW || (kind == Auto && ci >= autoChannels && co >= autoChannels); }
};
ConvLayout& convLayout();
// `t` in the memory layout of `ref` (same shape): gradients meet activations of either layout, and
// an element-wise kernel that reads one operand transposed (or batch norm's backward, which falls
// to a generic path on mixed layouts) is far slower than one copy.
inline at::Tensor inLayoutOf(const at::Tensor& t, const at::Tensor& ref) {
  if (t.sizes() != ref.sizes() || t.strides() == ref.strides() || !ref.is_non_overlapping_and_dense()) return t;
  return at::empty_like(ref).copy_(t);
}
// libtorch 1.13's oneDNN weight gradient of a 1x1 convolution with stride > 1 and fewer than 8
// input channels, in channels-last memory, corrupts the heap or returns wrong values (ResNet-18's
// shortcuts below width 8; 8 or more channels are sound; reproduced with Debian's PyTorch 1.13
// alone). Such a convolution equals the stride-1 one of its input subsampled by the stride, whose
// gradients are sound: where this says so, the per-layer filter gradient (ops_nn.cc) and the fused
// model (model.cc) run it that way.
inline bool subsampledPointwise(at::IntArrayRef oihw, at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups) {
  return oihw[2] == 1 && oihw[3] == 1 && oihw[1] < 8 && groups == 1 && (stride[0] > 1 || stride[1] > 1) && padding[0] == 0 &&
         padding[1] == 0;
}
// `x` (NCHW) subsampled by `stride`, in the memory layout given
inline at::Tensor subsample(const at::Tensor& x, at::IntArrayRef stride, bool channelsFirst) {
  at::Tensor s = x.slice(2, 0, c10::nullopt, stride[0]).slice(3, 0, c10::nullopt, stride[1]);
  return channelsFirst ? s.contiguous() : s.contiguous(at::MemoryFormat::ChannelsLast);
}
// HWIO filter -> OIHW view (no copy).
inline at::Tensor oihw(const at::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}); }
// An HWIO filter as the OIHW operand a convolution wants: contiguous in the convolution's memory
// layout, so cuDNN and oneDNN take it without a copy of their own. The laid-out copy is reused while
// the filter's storage lives unwritten (ops_nn.cc), so the calls that share a weight between two
// updates (an attack's steps) copy it once; copies of freed filters go at the next miss. A filter
// that needs gradients through it (the fused model's recorded weights) is only permuted.
at::Tensor convFilter(const at::Tensor& hwio, bool channelsFirst);
// How often convFilter made a laid-out copy and reused one, and the copies it holds (addon info()).
struct FilterCacheStats {
  uint64_t copies = 0, reuses = 0;
  size_t entries = 0, bytes = 0;
};
FilterCacheStats filterCacheStats();

// SGD with momentum and weight decay over every parameter at once (optim.cc; addon.cc's sgdStep):
// the new parameters and, with momentum, the new velocities, as fresh tensors (src/train/sgd.ts).
struct SgdHyper {
  double lr = 0, momentum = 0, weightDecay = 0;
  bool nesterov = false;
};
struct SgdUpdate {
  std::vector<at::Tensor> params, bufs;
};
SgdUpdate sgdStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& bufs,
                  const std::vector<bool>& decay, const SgdHyper& h);

// A network's forward pass as one call with libtorch's autograd recording, and its backward pass
// (model.cc; src/backend/torch/fused-model.ts builds the op list). With `training`, `stats` holds
// each batch norm's new running mean and variance, in op order.
struct ModelOutput {
  at::Tensor logits;
  std::vector<at::Tensor> stats;
};
ModelOutput modelForward(const std::vector<int32_t>& ops, const std::vector<double>& nums, const std::vector<at::Tensor>& inputs,
                         const std::vector<bool>& requiresGrad, bool training, bool record);
std::vector<at::Tensor> modelBackward(const at::Tensor& logits, const at::Tensor& dy, const std::vector<uint32_t>& which);
at::Tensor modelInputGrad(const std::vector<int32_t>& ops, const std::vector<double>& nums, const std::vector<at::Tensor>& inputs,
                          const at::Tensor& labels);
// The tensor table (addon.cc) for entry points defined elsewhere: a handle's tensor, and new
// handles for kernel outputs encoded as `run` returns them.
const at::Tensor& tensorAt(uint32_t handle);
napi_value encodeOutputs(napi_env env, std::vector<at::Tensor>& outs);
// Node-API entry points defined in model.cc (registered in addon.cc's Init).
napi_value ModelForward(napi_env env, napi_callback_info info);
napi_value ModelBackward(napi_env env, napi_callback_info info);
napi_value ModelInputGrad(napi_env env, napi_callback_info info);

[[noreturn]] void fail(const std::string& msg);

// A case this backend does not implement (e.g. GatherV2 with batchDims): the JavaScript side runs
// the call through its logged cpu fallback instead of failing.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] inline void unsupported(const std::string& msg) { throw Unsupported(msg); }

// ---- Node-API status checks --------------------------------------------------------------------
// Every Node-API call goes through one of these. On a status other than napi_ok the error names
// the call (its source text) and Node's extended message for it (napi_get_last_error_info):
// NAPI_CALL, in a function that returns a napi_value, throws that JavaScript Error (code
// PIAT_TORCH_NAPI) and returns nullptr; NAPI_CHECK, in the helpers such a function calls, throws it
// as a NapiError, which the entry point's try block turns into the same JavaScript Error. Where a
// JavaScript exception is already pending (a getter threw), that one propagates instead.
struct NapiError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// "Node-API call <call> failed: <message> (napi_status <s>)"; must run before any other Node-API call.
std::string napiError(napi_env env, napi_status s, const char* call);
// Throws a JavaScript Error with this code and message unless an exception is already pending.
void throwJs(napi_env env, const char* code, const std::string& msg);

}  // namespace piat

#define NAPI_CALL(env, call)                                                                \
  do {                                                                                      \
    napi_status piat_status_ = (call);                                                      \
    if (piat_status_ != napi_ok) {                                                          \
      ::piat::throwJs((env), "PIAT_TORCH_NAPI", ::piat::napiError((env), piat_status_, #call)); \
      return nullptr;                                                                       \
    }                                                                                       \
  } while (0)
#define NAPI_CHECK(env, call)                                                                    \
  do {                                                                                           \
    napi_status piat_status_ = (call);                                                           \
    if (piat_status_ != napi_ok) throw ::piat::NapiError(::piat::napiError((env), piat_status_, #call)); \
  } while (0)

#define PIAT_CAT2(a, b) a##b
#define PIAT_CAT(a, b) PIAT_CAT2(a, b)
// KERNEL("Add") { return one(A.in(0) + A.in(1)); }
#define KERNEL(name) \
  static std::vector<at::Tensor> PIAT_CAT(kernel_, __LINE__)(const piat::Args& A); \
  static piat::Register PIAT_CAT(reg_, __LINE__)(name, PIAT_CAT(kernel_, __LINE__)); \
  static std::vector<at::Tensor> PIAT_CAT(kernel_, __LINE__)(const piat::Args& A)
