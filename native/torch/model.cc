// A network as one native call (src/backend/torch/fused-model.ts): its forward pass, given as a
// compact op list that the JavaScript side derives once from a tfjs LayersModel, runs in ATen with
// libtorch's autograd recording; the backward pass is one call of libtorch's autograd giving the
// gradients with respect to the input and any of the parameters. The parameters are the tfjs
// variables' own tensors (detached aliases, no copy) marked as leaves.
//
// The logits handed to tfjs are a plain tensor (no autograd history, so no later kernel records
// one) whose storage is the recorded output's memory and owns the recorded graph: the graph lives
// exactly as long as any tfjs tensor aliasing those logits (tfjs saves the logits for the gradient
// as an Identity, which shares the tensor), and modelBackward finds it through that storage.
//
// Tensors of rank 4 are held in NCHW form (a view of tfjs's NHWC memory, as the per-layer kernels
// see it); convolutions pick their memory layout as the Conv2D kernel does (ConvLayout).
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <cstring>

#include "common.h"

namespace piat {

namespace {

// Op codes of the list built by src/backend/torch/fused-model.ts (keep the two in step).
enum Op : int32_t {
  END = 0, CONV = 1, PAD = 2, BN = 3, ACT = 4, ADD = 5, MAXPOOL = 6, GAP = 7, FLATTEN = 8, DENSE = 9,
  // the vision transformers' layers (src/models/vit.ts)
  RESHAPE = 10, CLS_TOKEN = 11, POS_EMBED = 12, LAYER_NORM = 13, GELU = 14, ATTENTION = 15, GRAD_GATE = 16, FIRST_TOKEN = 17
};
enum Act : int32_t { LINEAR = 0, RELU = 1, TANH = 2, SIGMOID = 3 };

// The recorded forward pass of one call: its output and the leaves it was differentiated from
// (the input, then the parameters, in the call's handle order; undefined where absent).
struct Graph {
  at::Tensor out;
  std::vector<at::Tensor> leaves;
};
void deleteGraph(void* ctx) { delete static_cast<Graph*>(ctx); }

// A tensor without autograd history over `g->out`'s memory whose storage owns `g`.
at::Tensor carrying(std::unique_ptr<Graph> g) {
  at::NoGradGuard noGrad;
  at::Tensor out = g->out;
  size_t bytes = static_cast<size_t>(out.numel()) * out.element_size();
  c10::DataPtr ptr(out.data_ptr(), g.get(), &deleteGraph, out.device());
  g.release();  // the storage owns it from here
  c10::Storage storage(c10::Storage::use_byte_size_t(), bytes, std::move(ptr), nullptr, false);
  at::Tensor t = at::empty({0}, out.options());
  t.set_(storage, 0, out.sizes(), out.strides());
  return t;
}
Graph* graphOf(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return nullptr;
  const c10::DataPtr& ptr = t.storage().data_ptr();
  if (ptr.get_deleter() != &deleteGraph) return nullptr;
  return static_cast<Graph*>(ptr.get_context());
}

at::Tensor activate(at::Tensor y, int32_t act) {
  switch (act) {
    case LINEAR: return y;
    case RELU: return at::relu(y);
    case TANH: return at::tanh(y);
    case SIGMOID: return at::sigmoid(y);
  }
  fail("model: unknown activation code " + std::to_string(act));
}

// A float32 scalar as tfjs makes one from a JavaScript number (the running-statistics update).
at::Tensor f32(double v, const at::Tensor& like) { return at::scalar_tensor(static_cast<double>(static_cast<float>(v)), like.options()); }

// Multi-head self-attention as src/models/vit.ts's MultiHeadSelfAttention: qkv projection, per-head
// scaled dot-product softmax, in GPSA mode mixed with a positional softmax through the gate
// σ(λ_h) and renormalised, then the output projection. x: [n, t, d].
at::Tensor attention(const at::Tensor& x, const at::Tensor& qkvW, const at::Tensor& qkvB, const at::Tensor& projW, const at::Tensor& projB,
                     int64_t heads, const at::Tensor& posProj, const at::Tensor& gate, const at::Tensor& rel) {
  if (x.dim() != 3) fail("model: attention of a tensor of rank " + std::to_string(x.dim()) + ", not 3");
  int64_t n = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads;
  at::Tensor qkv = at::addmm(qkvB, x.reshape({n * t, d}), qkvW).reshape({n, t, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
  at::Tensor attn = at::softmax(at::matmul(q, k.transpose(-2, -1)) * f32(1 / std::sqrt(static_cast<double>(hd)), x), -1);
  if (gate.defined()) {
    // positional scores [h, t, t] = Σ_c v_pos[h, c]·r[t, t, c]
    at::Tensor pos = at::softmax(at::mm(rel.reshape({t * t, 3}), posProj.t()).reshape({t, t, heads}).permute({2, 0, 1}), -1);
    at::Tensor g = at::sigmoid(gate).reshape({1, heads, 1, 1});
    attn = (1 - g) * attn + g * pos.unsqueeze(0);
    attn = attn / attn.sum(-1, true);
  }
  at::Tensor out = at::matmul(attn, v).permute({0, 2, 1, 3}).reshape({n * t, d});
  return at::addmm(projB, out, projW).reshape({n, t, d});
}

class Reader {
 public:
  Reader(const std::vector<int32_t>& ops) : ops_(ops) {}
  int32_t next() {
    if (pos_ >= ops_.size()) fail("model: the op list ends inside an op");
    return ops_[pos_++];
  }
  bool done() const { return pos_ >= ops_.size(); }

 private:
  const std::vector<int32_t>& ops_;
  size_t pos_ = 0;
};

}  // namespace

ModelOutput modelForward(const std::vector<int32_t>& ops, const std::vector<double>& nums, const std::vector<at::Tensor>& inputs,
                         const std::vector<bool>& requiresGrad, bool training, bool record) {
  if (inputs.empty() || requiresGrad.size() != inputs.size()) fail("model: the input and parameters need one requires-grad flag each");
  c10::AutoGradMode gradMode(record);
  auto g = std::make_unique<Graph>();
  g->leaves.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); i++) {
    at::Tensor leaf = inputs[i].detach();
    if (record && requiresGrad[i]) {
      if (leaf.scalar_type() != at::kFloat) fail("model: a differentiated input or parameter is not float32");
      leaf.requires_grad_(true);
    }
    g->leaves.push_back(leaf);
  }
  auto param = [&](int32_t i) -> at::Tensor {
    if (i < 0) return at::Tensor();
    if (static_cast<size_t>(i) >= g->leaves.size()) fail("model: parameter index " + std::to_string(i) + " out of range");
    return g->leaves[i];
  };
  auto num = [&](int32_t i) -> double {
    if (i < 0 || static_cast<size_t>(i) >= nums.size()) fail("model: number index " + std::to_string(i) + " out of range");
    return nums[i];
  };
  std::vector<at::Tensor> slots(1, g->leaves[0].dim() == 4 ? nchw(g->leaves[0]) : g->leaves[0]);
  auto in = [&](int32_t s) -> const at::Tensor& {
    if (s < 0 || static_cast<size_t>(s) >= slots.size() || !slots[s].defined()) fail("model: slot " + std::to_string(s) + " read before it is written");
    return slots[s];
  };
  auto put = [&](int32_t s, at::Tensor t) {
    if (s < 0) fail("model: negative slot");
    if (static_cast<size_t>(s) >= slots.size()) slots.resize(s + 1);
    slots[s] = std::move(t);
  };
  ModelOutput result;
  at::Tensor out;
  Reader r(ops);
  while (!out.defined()) {
    int32_t op = r.next();
    if (op == END) {
      out = in(r.next());
      break;
    }
    int32_t dst = r.next();
    switch (op) {
      case CONV: {
        const at::Tensor& x = in(r.next());
        at::Tensor w = param(r.next()), b = param(r.next());
        std::vector<int64_t> stride{r.next(), r.next()}, dilation{r.next(), r.next()};
        int64_t t = r.next(), bo = r.next(), le = r.next(), ri = r.next();
        int32_t act = r.next();
        if (!w.defined() || w.dim() != 4 || x.dim() != 4) fail("model: a convolution needs a 4-D input and an HWIO filter");
        bool first = convLayout().channelsFirst(w.size(2), w.size(3));
        at::Tensor W = convFilter(w, first);
        at::Tensor xin = first ? x.contiguous() : x.contiguous(at::MemoryFormat::ChannelsLast);
        std::vector<int64_t> padding{t, le};
        if (t != bo || le != ri) {
          xin = at::constant_pad_nd(xin, {le, ri, t, bo}, 0);
          padding = {0, 0};
        }
        if (subsampledPointwise(W.sizes(), stride, padding, 1)) {
          xin = subsample(xin, stride, first);
          stride = {1, 1};
        }
        c10::optional<at::Tensor> bias;
        if (b.defined()) bias = b.reshape({W.size(0)});
        put(dst, activate(at::convolution(xin, W, bias, stride, padding, dilation, false, {0, 0}, 1), act));
        break;
      }
      case PAD: {
        const at::Tensor& x = in(r.next());
        int64_t t = r.next(), bo = r.next(), le = r.next(), ri = r.next();
        put(dst, at::constant_pad_nd(x, {le, ri, t, bo}, 0));
        break;
      }
      case BN: {
        const at::Tensor& x = in(r.next());
        at::Tensor gamma = param(r.next()), beta = param(r.next()), mean = param(r.next()), var = param(r.next());
        int32_t k = r.next();
        double eps = num(k), decay = num(k + 1);
        if (!mean.defined() || !var.defined()) fail("model: batch norm without running statistics");
        if (!training) {
          put(dst, at::batch_norm(x, gamma, beta, mean, var, false, 0.0, eps, true));
          break;
        }
        // batch statistics: the output and its gradient through them (ATen's batch-norm backward,
        // as PyTorch and the per-layer path); the running averages as tfjs-layers updates them,
        // orig - (orig - batch) * (1 - momentum), with the biased batch variance of the per-layer
        // path's moments kernel (PiatMoments)
        put(dst, at::batch_norm(x, gamma, beta, {}, {}, true, 0.0, eps, true));
        at::NoGradGuard noGrad;
        auto st = at::batch_norm_update_stats(x.detach(), {}, {}, 0.0);
        at::Tensor d = f32(decay, mean);
        result.stats.push_back(mean - (mean - std::get<0>(st)) * d);
        result.stats.push_back(var - (var - std::get<1>(st)) * d);
        break;
      }
      case ACT: {
        const at::Tensor& x = in(r.next());
        put(dst, activate(x, r.next()));
        break;
      }
      case ADD: {
        int32_t n = r.next();
        if (n < 1) fail("model: an addition of no tensors");
        at::Tensor sum = in(r.next());
        for (int32_t i = 1; i < n; i++) sum = sum + in(r.next());
        put(dst, sum);
        break;
      }
      case MAXPOOL: {
        const at::Tensor& x = in(r.next());
        std::vector<int64_t> kernel{r.next(), r.next()}, stride{r.next(), r.next()};
        int64_t t = r.next(), bo = r.next(), le = r.next(), ri = r.next();
        std::vector<int64_t> padding{t, le};
        at::Tensor xin = x;
        if (t != bo || le != ri || t * 2 > kernel[0] || le * 2 > kernel[1]) {
          xin = at::constant_pad_nd(x, {le, ri, t, bo}, -std::numeric_limits<double>::infinity());
          padding = {0, 0};
        }
        put(dst, at::max_pool2d(xin, kernel, stride, padding, {1, 1}, false));
        break;
      }
      case GAP: {
        const at::Tensor& x = in(r.next());
        if (x.dim() != 4) fail("model: global average pooling of a tensor of rank " + std::to_string(x.dim()));
        put(dst, x.mean({2, 3}));
        break;
      }
      case FLATTEN: {
        const at::Tensor& x = in(r.next());
        // tfjs flattens NHWC: rows in (h, w, c) order
        put(dst, (x.dim() == 4 ? nhwc(x) : x).reshape({x.size(0), -1}));
        break;
      }
      case DENSE: {
        const at::Tensor& x = in(r.next());
        at::Tensor w = param(r.next()), b = param(r.next());
        int32_t act = r.next();
        if (!w.defined() || w.dim() != 2 || x.dim() < 2 || x.dim() == 4) fail("model: a dense layer needs a 2-D or 3-D input and a 2-D kernel");
        // on tokens [n, t, d] it acts on the last axis, as tfjs's Dense does
        at::Tensor x2 = x.dim() == 2 ? x : x.reshape({-1, x.size(-1)});
        at::Tensor y = b.defined() ? at::addmm(b, x2, w) : at::mm(x2, w);
        if (x.dim() != 2) {
          std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
          shape.back() = w.size(1);
          y = y.reshape(shape);
        }
        put(dst, activate(y, act));
        break;
      }
      case RESHAPE: {
        const at::Tensor& x = in(r.next());
        int32_t rank = r.next();
        std::vector<int64_t> shape{x.size(0)};
        for (int32_t i = 0; i < rank; i++) shape.push_back(r.next());
        // tfjs reshapes NHWC memory order; a rank-4 result is held as NCHW again
        at::Tensor y = (x.dim() == 4 ? nhwc(x) : x).reshape(shape);
        put(dst, y.dim() == 4 ? nchw(y) : y);
        break;
      }
      case CLS_TOKEN: {
        const at::Tensor& x = in(r.next());
        at::Tensor cls = param(r.next());
        if (x.dim() != 3 || !cls.defined()) fail("model: a class token needs tokens [n, t, d] and a [1, 1, d] weight");
        put(dst, at::cat({cls.expand({x.size(0), 1, x.size(2)}), x}, 1));
        break;
      }
      case POS_EMBED: {
        const at::Tensor& x = in(r.next());
        put(dst, x + param(r.next()));
        break;
      }
      case LAYER_NORM: {
        const at::Tensor& x = in(r.next());
        at::Tensor gamma = param(r.next()), beta = param(r.next());
        double eps = num(r.next());
        put(dst, at::layer_norm(x, {x.size(-1)}, gamma, beta, eps));
        break;
      }
      case GELU: {
        // the exact erf form, as tfjs's 0.5·x·(1 + erf(x/√2))
        put(dst, at::gelu(in(r.next())));
        break;
      }
      case ATTENTION: {
        const at::Tensor& x = in(r.next());
        at::Tensor qkvW = param(r.next()), qkvB = param(r.next()), projW = param(r.next()), projB = param(r.next());
        int64_t heads = r.next();
        at::Tensor posProj = param(r.next()), gate = param(r.next()), rel = param(r.next());
        if (!qkvW.defined() || !qkvB.defined() || !projW.defined() || !projB.defined()) fail("model: attention without its projections");
        if (heads < 1 || x.size(-1) % heads != 0) fail("model: attention dim " + std::to_string(x.size(-1)) + " is not divisible by " + std::to_string(heads) + " heads");
        put(dst, attention(x, qkvW, qkvB, projW, projB, heads, posProj, gate, rel));
        break;
      }
      case GRAD_GATE: {
        // identity forward; a dropped gate passes no gradient back (A&P's attention random dropping)
        const at::Tensor& x = in(r.next());
        put(dst, r.next() ? x.detach() : x);
        break;
      }
      case FIRST_TOKEN: {
        const at::Tensor& x = in(r.next());
        if (x.dim() != 3) fail("model: the first token of a tensor of rank " + std::to_string(x.dim()));
        put(dst, x.select(1, 0));
        break;
      }
      default: fail("model: unknown op code " + std::to_string(op));
    }
  }
  if (!r.done()) fail("model: ops after the end");
  if (out.dim() != 2) fail("model: the output has rank " + std::to_string(out.dim()) + ", not 2");
  out = out.contiguous();
  if (record && out.requires_grad()) {
    g->out = out;
    result.logits = carrying(std::move(g));
  } else {
    result.logits = out.detach();
  }
  return result;
}

std::vector<at::Tensor> modelBackward(const at::Tensor& logits, const at::Tensor& dy, const std::vector<uint32_t>& which) {
  Graph* g = graphOf(logits);
  if (!g) fail("modelBackward: these logits do not come from a recorded modelForward");
  if (dy.sizes() != g->out.sizes()) fail("modelBackward: the output gradient's shape differs from the logits'");
  std::vector<at::Tensor> leaves;
  for (uint32_t i : which) {
    if (i >= g->leaves.size()) fail("modelBackward: leaf index " + std::to_string(i) + " out of range");
    if (!g->leaves[i].requires_grad()) fail("modelBackward: input " + std::to_string(i) + " was not differentiable when the forward pass ran (a parameter not trainable then)");
    leaves.push_back(g->leaves[i]);
  }
  if (leaves.empty()) return {};
  auto grads = torch::autograd::grad({g->out}, leaves, {dy.to(g->out.scalar_type())}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t k = 0; k < grads.size(); k++)
    if (!grads[k].defined()) grads[k] = at::zeros_like(leaves[k]);
  return grads;
}

// The gradient of the summed cross entropy of the network's eval-mode logits with respect to its
// input, in one call: the attacks' inner step (src/backend/torch/fused-attack.ts). Only the input is
// a leaf (the weights take no part in the graph), and the logits' gradient is the closed form
// softmax(z) − onehot(y) of PiatCrossEntropyGrad, so the result is the fused path's tf.grad of
// sum(crossEntropyPerExample(logits(model, x, false), y)) without a tfjs tape.
at::Tensor modelInputGrad(const std::vector<int32_t>& ops, const std::vector<double>& nums, const std::vector<at::Tensor>& inputs,
                          const at::Tensor& labels) {
  std::vector<bool> requiresGrad(inputs.size(), false);
  requiresGrad[0] = true;
  ModelOutput o = modelForward(ops, nums, inputs, requiresGrad, /*training=*/false, /*record=*/true);
  Graph* g = graphOf(o.logits);
  if (!g) fail("modelInputGrad: the network does not depend on its input");
  at::Tensor dz;
  {
    at::NoGradGuard noGrad;
    at::Tensor z = g->out.detach();
    if (labels.dim() != 1 || labels.size(0) != z.size(0)) fail("modelInputGrad: one label per example is needed");
    dz = at::softmax(z, 1);
    dz.scatter_add_(1, labels.to(at::kLong).unsqueeze(1), at::full({z.size(0), 1}, -1.0, z.options()));
  }
  auto grads = torch::autograd::grad({g->out}, {g->leaves[0]}, {dz}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
  return grads[0].defined() ? grads[0] : at::zeros_like(g->leaves[0]);
}

// ---- Node-API entry points (registered in addon.cc) ------------------------------------------------
namespace {
std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t n) {
  std::vector<napi_value> a(n);
  size_t got = n;
  NAPI_CHECK(env, napi_get_cb_info(env, info, &got, a.data(), nullptr, nullptr));
  if (got < n) fail("expected " + std::to_string(n) + " arguments");
  return a;
}
template <typename T>
std::vector<T> typed(napi_env env, napi_value v, napi_typedarray_type want, const char* what) {
  bool is = false;
  NAPI_CHECK(env, napi_is_typedarray(env, v, &is));
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (is) NAPI_CHECK(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr));
  if (!is || type != want) fail(std::string(what) + " has the wrong typed-array type");
  std::vector<T> out(length);
  if (length) std::memcpy(out.data(), data, length * sizeof(T));
  return out;
}
uint32_t u32(napi_env env, napi_value v, const char* what) {
  double d = 0;
  napi_valuetype t;
  NAPI_CHECK(env, napi_typeof(env, v, &t));
  if (t != napi_number) fail(std::string(what) + " must be a number");
  NAPI_CHECK(env, napi_get_value_double(env, v, &d));
  if (!(d >= 0 && d <= 4294967295.0 && d == static_cast<double>(static_cast<uint32_t>(d)))) fail(std::string(what) + " must be an unsigned 32-bit integer");
  return static_cast<uint32_t>(d);
}
template <typename F>
napi_value guarded(napi_env env, const char* name, F body) {
  try {
    return body();
  } catch (const NapiError& e) {
    throwJs(env, "PIAT_TORCH_NAPI", std::string(name) + ": " + e.what());
  } catch (const c10::Error& e) {
    throwJs(env, "PIAT_TORCH", std::string(name) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throwJs(env, "PIAT_TORCH", std::string(name) + ": " + e.what());
  } catch (...) {
    throwJs(env, "PIAT_TORCH", std::string(name) + ": unknown C++ exception");
  }
  return nullptr;
}
// The network arguments shared by modelForward and modelInputGrad: the op list, its numbers, and
// the tensors of the handles (the input, then the weights).
struct NetworkArgs {
  std::vector<int32_t> ops;
  std::vector<double> nums;
  std::vector<at::Tensor> inputs;
};
NetworkArgs networkArgs(napi_env env, const std::vector<napi_value>& a) {
  NetworkArgs n{typed<int32_t>(env, a[0], napi_int32_array, "ops"), typed<double>(env, a[1], napi_float64_array, "nums"), {}};
  auto hs = typed<uint32_t>(env, a[2], napi_uint32_array, "handles");
  n.inputs.reserve(hs.size());
  for (uint32_t h : hs) n.inputs.push_back(tensorAt(h));
  return n;
}
}  // namespace

// modelForward(ops: Int32Array, nums: Float64Array, handles: Uint32Array, requiresGrad: Uint8Array,
// flags: number (1: training, 2: record autograd)) -> encoded [logits, then with training each
// batch norm's new running mean and variance]
napi_value ModelForward(napi_env env, napi_callback_info info) {
  return guarded(env, "modelForward", [&]() -> napi_value {
    auto a = args(env, info, 5);
    NetworkArgs n = networkArgs(env, a);
    auto rg = typed<uint8_t>(env, a[3], napi_uint8_array, "requiresGrad");
    uint32_t flags = u32(env, a[4], "flags");
    ModelOutput o = modelForward(n.ops, n.nums, n.inputs, std::vector<bool>(rg.begin(), rg.end()), flags & 1, flags & 2);
    std::vector<at::Tensor> outs{o.logits};
    outs.insert(outs.end(), o.stats.begin(), o.stats.end());
    return encodeOutputs(env, outs);
  });
}

// modelInputGrad(ops: Int32Array, nums: Float64Array, handles: Uint32Array (input, then the
// weights), labels: handle) -> encoded [the input's gradient]
napi_value ModelInputGrad(napi_env env, napi_callback_info info) {
  return guarded(env, "modelInputGrad", [&]() -> napi_value {
    auto a = args(env, info, 4);
    NetworkArgs n = networkArgs(env, a);
    std::vector<at::Tensor> outs{modelInputGrad(n.ops, n.nums, n.inputs, tensorAt(u32(env, a[3], "labels")))};
    return encodeOutputs(env, outs);
  });
}

// modelBackward(logits: handle, dy: handle, which: Uint32Array of leaf indices (0: the input, i:
// handle i of the forward call)) -> encoded gradients, one per index
napi_value ModelBackward(napi_env env, napi_callback_info info) {
  return guarded(env, "modelBackward", [&]() -> napi_value {
    auto a = args(env, info, 3);
    const at::Tensor& logits = tensorAt(u32(env, a[0], "logits"));
    const at::Tensor& dy = tensorAt(u32(env, a[1], "dy"));
    auto which = typed<uint32_t>(env, a[2], napi_uint32_array, "which");
    auto grads = modelBackward(logits, dy, which);
    return encodeOutputs(env, grads);
  });
}

}  // namespace piat
