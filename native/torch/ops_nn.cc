// Network kernels: convolutions (NHWC data and HWIO filters seen as channels-last NCHW / OIHW by
// strides, so oneDNN runs them without transposing), their input and filter gradients through
// at::convolution_backward (the calls PyTorch's autograd makes), fused bias + activation, batched
// matmul, batch norm and pooling. Padding arrives resolved from JavaScript as [top, bottom, left,
// right]; ATen pads symmetrically, so uneven padding (tfjs 'same' at stride 2) pads explicitly.
#include "common.h"

#include <mutex>

using namespace piat;

namespace {
struct Conv {
  std::vector<int64_t> stride, dilation, pads;  // pads: top, bottom, left, right
  int64_t groups = 1;
  bool even() const { return pads[0] == pads[1] && pads[2] == pads[3]; }
  std::vector<int64_t> padding() const { return even() ? std::vector<int64_t>{pads[0], pads[2]} : std::vector<int64_t>{0, 0}; }
};
Conv convArgs(const Args& A) {
  Conv c{A.ints("strides", 2), A.ints("dilations", 2), A.ints("pads")};
  if (c.dilation.empty()) c.dilation = {1, 1};
  if (c.pads.size() != 4) fail("pads must be [top, bottom, left, right]");
  return c;
}
// NCHW view padded explicitly when the padding is uneven
at::Tensor padUneven(const at::Tensor& x, const Conv& c, double value = 0) {
  if (c.even()) return x;
  return at::constant_pad_nd(x, {c.pads[2], c.pads[3], c.pads[0], c.pads[1]}, value);
}
// depthwise filter [kh, kw, C, m] -> OIHW [C*m, 1, kh, kw]
at::Tensor depthwiseWeight(const at::Tensor& f) {
  return f.permute({2, 3, 0, 1}).reshape({f.size(2) * f.size(3), 1, f.size(0), f.size(1)});
}
at::Tensor activate(at::Tensor y, const std::string& act, const Args& A, const at::Tensor* prelu) {
  if (act.empty() || act == "linear") return y;
  if (act == "relu") return at::relu_(y);
  if (act == "relu6") return at::clamp_(y, 0, 6);
  if (act == "elu") return at::elu(y);
  if (act == "sigmoid") return at::sigmoid_(y);
  if (act == "leakyrelu") return at::where(y < 0, y * A.f64("leakyreluAlpha", 0.2), y);
  if (act == "prelu" && prelu) return at::where(y < 0, y * *prelu, y);
  fail("unknown activation " + act);
}

// An NHWC tensor as the NCHW operand of a convolution in its layout (a copy only where the tensor
// is in the other one: the network's input, or where the network changes layout).
at::Tensor convOperand(const at::Tensor& xNhwc, bool channelsFirst) {
  auto x = nchw(xNhwc);
  return channelsFirst ? x.contiguous() : x.contiguous(at::MemoryFormat::ChannelsLast);
}
// whether a convolution of this OIHW filter shape runs channels-first (ConvLayout)
bool firstFor(at::IntArrayRef oihw) { return convLayout().channelsFirst(oihw[1], oihw[0]); }
// convFilter of a per-layer kernel's filter input, in the layout its convolution runs
at::Tensor filterOf(const at::Tensor& hwio) { return convFilter(hwio, convLayout().channelsFirst(hwio.size(2), hwio.size(3))); }

at::Tensor conv2d(const at::Tensor& xNhwc, const at::Tensor& w, const Conv& c, const c10::optional<at::Tensor>& bias) {
  auto x = padUneven(convOperand(xNhwc, firstFor(w.sizes())), c);
  return nhwc(at::convolution(x, w, bias, c.stride, c.padding(), c.dilation, false, {0, 0}, c.groups));
}
// dx of a convolution: [n, h, w, ci] from dy [n, oh, ow, co]
at::Tensor conv2dInputGrad(const at::Tensor& dyNhwc, const at::Tensor& w, std::vector<int64_t> inShape, const Conv& c) {
  int64_t n = inShape[0], h = inShape[1], wd = inShape[2], ci = inShape[3];
  int64_t ph = c.even() ? h : h + c.pads[0] + c.pads[1], pw = c.even() ? wd : wd + c.pads[2] + c.pads[3];
  bool first = firstFor(w.sizes());
  auto dummy = at::empty({n, ci, ph, pw}, dyNhwc.options().memory_format(first ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast));
  auto g = std::get<0>(at::convolution_backward(convOperand(dyNhwc, first), dummy, w, c10::nullopt, c.stride, c.padding(), c.dilation, false, {0, 0}, c.groups, {true, false, false}));
  if (!c.even()) g = g.narrow(2, c.pads[0], h).narrow(3, c.pads[2], wd);
  return nhwc(g);
}
// dW of a convolution, OIHW
at::Tensor conv2dFilterGrad(const at::Tensor& xNhwc, const at::Tensor& dyNhwc, std::vector<int64_t> oihwShape, const Conv& c) {
  bool first = firstFor(oihwShape);
  auto x = padUneven(convOperand(xNhwc, first), c);
  auto dummy = at::empty(oihwShape, xNhwc.options());
  std::vector<int64_t> stride = c.stride;
  if (subsampledPointwise(oihwShape, stride, c.padding(), c.groups)) {
    x = subsample(x, stride, first);
    stride = {1, 1};
  }
  return std::get<1>(at::convolution_backward(convOperand(dyNhwc, first), x, dummy, c10::nullopt, stride, c.padding(), c.dilation, false, {0, 0}, c.groups, {false, true, false}));
}
}  // namespace

namespace piat {
namespace {
// A filter's laid-out copy, valid while its storage lives (the weak reference) at the same version
// (not written in place) and view (offset, shape, strides).
struct LaidFilter {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  int64_t version, offset;
  std::vector<int64_t> sizes, strides;
  bool channelsFirst;
  at::Tensor laid;
};
FilterCacheStats stats;
std::unordered_map<const c10::StorageImpl*, LaidFilter>& laidFilters() {
  static std::unordered_map<const c10::StorageImpl*, LaidFilter> cache;
  return cache;
}
}  // namespace

at::Tensor convFilter(const at::Tensor& hwio, bool channelsFirst) {
  at::Tensor w = oihw(hwio);
  auto format = channelsFirst ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast;
  if (w.is_contiguous(format) || hwio.requires_grad() || !hwio.has_storage()) return w;
  auto& cache = laidFilters();
  const c10::StorageImpl* key = hwio.storage().unsafeGetStorageImpl();
  auto it = cache.find(key);
  if (it != cache.end()) {
    const LaidFilter& e = it->second;
    if (!e.storage.expired() && e.version == hwio._version() && e.offset == hwio.storage_offset() && e.channelsFirst == channelsFirst &&
        e.sizes == hwio.sizes().vec() && e.strides == hwio.strides().vec()) {
      stats.reuses++;
      return e.laid;
    }
  }
  // a miss follows an update (or a new model): the copies of filters freed since go now (a model's
  // tens of entries, so the sweep is cheap)
  for (auto i = cache.begin(); i != cache.end();) i = i->second.storage.expired() ? cache.erase(i) : std::next(i);
  at::Tensor laid = w.contiguous(format);
  stats.copies++;
  cache.insert_or_assign(key, LaidFilter{hwio.storage().getWeakStorageImpl(), hwio._version(), hwio.storage_offset(), hwio.sizes().vec(),
                                         hwio.strides().vec(), channelsFirst, laid});
  return laid;
}
FilterCacheStats filterCacheStats() {
  FilterCacheStats s = stats;
  for (const auto& [key, e] : laidFilters()) {
    s.entries++;
    s.bytes += e.laid.nbytes();
  }
  return s;
}
}  // namespace piat

KERNEL("Conv2D") { return one(conv2d(A.in(0), filterOf(A.in(1)), convArgs(A), c10::nullopt)); }
// inputs: x, filter, [bias], [preluActivationWeights]; attrs hasBias, activation
KERNEL("FusedConv2D") {
  auto c = convArgs(A);
  bool hasBias = A.flag("hasBias");
  c10::optional<at::Tensor> bias;
  at::Tensor extraBias;
  if (hasBias) {
    auto b = A.in(2);
    int64_t co = A.in(1).size(3);
    if (b.numel() == co) bias = b.reshape({co});
    else extraBias = b;
  }
  auto y = conv2d(A.in(0), filterOf(A.in(1)), c, bias);
  if (extraBias.defined()) y = y + extraBias;
  at::Tensor prelu;
  if (A.size() > (hasBias ? 3u : 2u)) prelu = A.in(hasBias ? 3 : 2);
  return one(activate(y, A.str("activation"), A, prelu.defined() ? &prelu : nullptr));
}
KERNEL("Conv2DBackpropInput") { return one(conv2dInputGrad(A.in(0), filterOf(A.in(1)), A.ints("inputShape"), convArgs(A))); }
KERNEL("Conv2DBackpropFilter") {
  auto f = A.ints("filterShape");  // HWIO
  auto g = conv2dFilterGrad(A.in(0), A.in(1), {f[3], f[2], f[0], f[1]}, convArgs(A));
  return one(g.permute({2, 3, 1, 0}));
}
KERNEL("DepthwiseConv2dNative") {
  auto c = convArgs(A);
  c.groups = A.in(0).size(3);
  return one(conv2d(A.in(0), depthwiseWeight(A.in(1)), c, c10::nullopt));
}
KERNEL("FusedDepthwiseConv2D") {
  auto c = convArgs(A);
  c.groups = A.in(0).size(3);
  auto y = conv2d(A.in(0), depthwiseWeight(A.in(1)), c, c10::nullopt);
  bool hasBias = A.flag("hasBias");
  if (hasBias) y = y + A.in(2);
  at::Tensor prelu;
  if (A.size() > (hasBias ? 3u : 2u)) prelu = A.in(hasBias ? 3 : 2);
  return one(activate(y.contiguous(), A.str("activation"), A, prelu.defined() ? &prelu : nullptr));
}
KERNEL("DepthwiseConv2dNativeBackpropInput") {
  auto c = convArgs(A);
  auto in = A.ints("inputShape");
  c.groups = in[3];
  return one(conv2dInputGrad(A.in(0), depthwiseWeight(A.in(1)), in, c));
}
KERNEL("DepthwiseConv2dNativeBackpropFilter") {
  auto c = convArgs(A);
  auto f = A.ints("filterShape");  // [kh, kw, C, m]
  c.groups = f[2];
  auto g = conv2dFilterGrad(A.in(0), A.in(1), {f[2] * f[3], 1, f[0], f[1]}, c);  // [C*m, 1, kh, kw]
  return one(g.reshape({f[2], f[3], f[0], f[1]}).permute({2, 3, 0, 1}));
}

// ---- matmul ----
namespace {
at::Tensor matmul(const Args& A) {
  auto a = A.in(0), b = A.in(1);
  if (A.flag("transposeA")) a = a.transpose(-1, -2);
  if (A.flag("transposeB")) b = b.transpose(-1, -2);
  return at::matmul(a, b);
}
}  // namespace
KERNEL("BatchMatMul") { return one(matmul(A)); }
// inputs: a, b, [bias], [preluActivationWeights]; attrs hasBias, activation
KERNEL("_FusedMatMul") {
  auto y = matmul(A);
  bool hasBias = A.flag("hasBias");
  if (hasBias) y = y + A.in(2);
  at::Tensor prelu;
  if (A.size() > (hasBias ? 3u : 2u)) prelu = A.in(hasBias ? 3 : 2);
  return one(activate(y, A.str("activation"), A, prelu.defined() ? &prelu : nullptr));
}

// ---- batch norm (inference form: running or batch statistics given) ----
// inputs: x, mean, variance, [offset], [scale]; attrs hasOffset, hasScale, varianceEpsilon
KERNEL("FusedBatchNorm") {
  auto x = A.in(0);
  auto a = at::rsqrt(A.in(2) + A.f64("varianceEpsilon", 0.001));
  size_t i = 3;
  at::Tensor offset;
  if (A.flag("hasOffset")) offset = A.in(i++);
  if (A.flag("hasScale")) a = a * A.in(i++);
  auto b = -A.in(1) * a;
  if (offset.defined()) b = b + offset;
  return one(at::addcmul(b, x, a));
}

// ---- pooling (NHWC) ----
namespace {
struct Pool {
  std::vector<int64_t> kernel, stride, pads;
  bool even() const { return pads[0] == pads[1] && pads[2] == pads[3]; }
  bool native() const { return even() && pads[0] * 2 <= kernel[0] && pads[2] * 2 <= kernel[1]; }
  std::vector<int64_t> padding() const { return native() ? std::vector<int64_t>{pads[0], pads[2]} : std::vector<int64_t>{0, 0}; }
  at::Tensor pad(const at::Tensor& x, double v) const { return native() ? x : at::constant_pad_nd(x, {pads[2], pads[3], pads[0], pads[1]}, v); }
};
Pool poolArgs(const Args& A) {
  Pool p{A.ints("filterSize", 2), A.ints("strides", 2), A.ints("pads")};
  if (p.pads.size() != 4) fail("pads must be [top, bottom, left, right]");
  return p;
}
const double NEG_INF = -std::numeric_limits<double>::infinity();
}  // namespace

KERNEL("MaxPool") {
  auto p = poolArgs(A);
  auto x = p.pad(nchw(A.in(0)), NEG_INF);
  return one(nhwc(at::max_pool2d(x, p.kernel, p.stride, p.padding(), {1, 1}, false)));
}
// inputs: dy, input, output
KERNEL("MaxPoolGrad") {
  auto p = poolArgs(A);
  auto x = p.pad(nchw(A.in(1)), NEG_INF);
  auto idx = std::get<1>(at::max_pool2d_with_indices(x, p.kernel, p.stride, p.padding(), {1, 1}, false));
  auto g = at::max_pool2d_with_indices_backward(nchw(A.in(0)), x, p.kernel, p.stride, p.padding(), {1, 1}, false, idx);
  if (!p.native()) g = g.narrow(2, p.pads[0], A.in(1).size(1)).narrow(3, p.pads[2], A.in(1).size(2));
  return one(nhwc(g));
}
KERNEL("AvgPool") {
  auto p = poolArgs(A);
  auto x = nchw(A.in(0));
  if (p.native()) return one(nhwc(at::avg_pool2d(x, p.kernel, p.stride, p.padding(), false, false)));
  // uneven padding: mean over the window's real elements = mean(zero-padded x) / mean(padded ones)
  auto sum = at::avg_pool2d(p.pad(x, 0), p.kernel, p.stride, {0, 0}, false, true);
  auto ones = at::ones({1, 1, x.size(2), x.size(3)}, x.options());
  auto cnt = at::avg_pool2d(p.pad(ones, 0), p.kernel, p.stride, {0, 0}, false, true);
  return one(nhwc(sum / cnt));
}
// inputs: dy, input
KERNEL("AvgPoolGrad") {
  auto p = poolArgs(A);
  if (!p.native()) unsupported("AvgPoolGrad with uneven padding");
  // standard NCHW strides (clone: with one channel the channels-last view counts as contiguous):
  // CUDA's channels-last backward dropped windows with count_include_pad = false (seen on an H200)
  auto dy = nchw(A.in(0)).clone(at::MemoryFormat::Contiguous), x = nchw(A.in(1)).clone(at::MemoryFormat::Contiguous);
  auto g = at::avg_pool2d_backward(dy, x, p.kernel, p.stride, p.padding(), false, false, c10::nullopt);
  return one(nhwc(g));
}

// ---- fused training paths (src/backend/torch/fused-ops.ts) ----
// tfjs differentiates ReLU as dy * step(x): two passes and a temporary; PyTorch's one-pass form.
KERNEL("PiatReluGrad") { return one(at::threshold_backward(inLayoutOf(A.in(0), A.in(1)), A.in(1), 0)); }

namespace {
// channels last (tfjs) -> channels at dim 1 (ATen), as a view
at::Tensor channelsFirst(const at::Tensor& x) { return x.dim() > 2 ? x.movedim(-1, 1) : x; }
at::Tensor channelsLast(const at::Tensor& x) { return x.dim() > 2 ? x.movedim(1, -1) : x; }
}  // namespace

// Batch mean and (biased) variance over every axis but the channels, stacked [2, C]
// (a tfjs custom gradient has one output).
KERNEL("PiatMoments") {
  // ATen's batch-norm statistics pass (channels-last aware): ~15x faster than var_mean here
  auto r = at::batch_norm_update_stats(channelsFirst(A.in(0)), {}, {}, 0.0);
  return one(at::stack({std::get<0>(r), std::get<1>(r)}));
}
// inputs: x, mean, variance (of this batch), scale, offset; attrs varianceEpsilon
KERNEL("PiatBatchNormTrain") {
  auto x = channelsFirst(A.in(0));
  auto out = std::get<0>(at::native_batch_norm(x, A.in(3), A.in(4), A.in(1), A.in(2), false, 0.0, A.f64("varianceEpsilon")));
  return one(channelsLast(out));
}
// inputs: dy, x, mean, variance, scale -> dx (through the batch statistics too), dscale, doffset
KERNEL("PiatBatchNormTrainGrad") {
  double eps = A.f64("varianceEpsilon");
  auto invstd = at::rsqrt(A.in(3) + eps);
  auto r = at::native_batch_norm_backward(channelsFirst(inLayoutOf(A.in(0), A.in(1))), channelsFirst(A.in(1)), A.in(4), {}, {}, A.in(2), invstd, true, eps, {true, true, true});
  return {channelsLast(std::get<0>(r)), std::get<1>(r), std::get<2>(r)};
}
// dx of batch norm with given statistics: dy * scale / sqrt(variance + eps), one pass.
// inputs: dy, variance, [scale]; attrs varianceEpsilon
KERNEL("PiatBatchNormGradX") {
  auto a = at::rsqrt(A.in(1) + A.f64("varianceEpsilon"));
  if (A.size() > 2) a = a * A.in(2);
  return one(A.in(0) * a);
}
// dx of a sum or mean: dy (reshaped to keepShape) times `scale`, broadcast to x's shape, one pass
// (tfjs builds a full-size tensor of ones in JavaScript, copies it in and multiplies).
// inputs: dy, [x]: given x, dx takes its memory layout (the first gradient of a network's backward
// pass, e.g. global average pooling's, sets the layout of every gradient after it).
KERNEL("PiatReduceGrad") {
  auto dy = A.in(0).reshape(A.ints("keepShape"));
  double scale = A.f64("scale", 1.0);
  if (scale != 1.0) dy = dy * scale;
  auto full = dy.expand(A.ints("shape"));
  return one(A.size() > 1 ? inLayoutOf(full, A.in(1)) : full.contiguous());
}

// Cross entropy of softmax(logits) against integer labels (float or int32), per example, and its
// logits gradient: the fused model's loss (src/backend/torch/fused-loss.ts), two native calls where
// tfjs's composite takes about twenty.
KERNEL("PiatCrossEntropy") {
  const at::Tensor& z = A.in(0);
  at::Tensor y = A.in(1).to(at::kLong).unsqueeze(1);
  return one(at::logsumexp(z, 1) - z.gather(1, y).squeeze(1));
}
KERNEL("PiatCrossEntropyGrad") {
  const at::Tensor& dy = A.in(0);
  const at::Tensor& z = A.in(1);
  at::Tensor y = A.in(2).to(at::kLong).unsqueeze(1);
  at::Tensor g = at::softmax(z, 1);
  g.scatter_add_(1, y, at::full({z.size(0), 1}, -1.0, z.options()));
  return one(g * dy.unsqueeze(1));
}

// A float32 draw made on the device from a generator seeded by `seed` alone: the fused path's
// random starts (src/backend/torch/device-random.ts), with no draw in JavaScript and no upload.
// The generator is a fresh clone of the device's default one, so the draw depends on the seed and
// where it runs, not on earlier draws: CPU and CUDA draw different numbers from one seed, and so may
// two GPU models (the launch size follows the SM count) or two CPUs (vectorised normal draws).
// attrs: shape, dist ('uniform': [a, b); 'normal': mean a, standard deviation b), a, b, seed
KERNEL("PiatRandom") {
  at::Generator g = at::globalContext().defaultGenerator(device()).clone();
  {
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(static_cast<uint64_t>(A.i64("seed")));
  }
  std::string dist = A.str("dist");
  at::Tensor t = at::empty(A.ints("shape"), opts(at::kFloat));
  if (dist == "uniform") return one(t.uniform_(A.f64("a"), A.f64("b"), g));
  if (dist == "normal") return one(t.normal_(A.f64("a"), A.f64("b"), g));
  fail("PiatRandom: unknown dist '" + dist + "' (uniform or normal)");
}
