// The optimizer's update of every parameter in one call (addon.cc's sgdStep), as PyTorch's
// foreach SGD: one list operation per arithmetic step over all parameters instead of ~4 tfjs
// kernel calls per parameter (on CUDA, ATen runs each list operation as a few multi-tensor
// kernels). The arithmetic is src/train/sgd.ts's reference path operation by operation, with
// the same float32 scalars, so on the CPU both give bit-identical weights (tested).
#include "common.h"

namespace piat {

namespace {
// tfjs turns a JavaScript number into a float32 scalar tensor; round the same way.
at::Scalar f32(double v) { return at::Scalar(static_cast<double>(static_cast<float>(v))); }

void checkSame(const at::Tensor& p, const at::Tensor& other, const char* what, size_t i) {
  if (other.scalar_type() != at::kFloat) fail(std::string("sgdStep: ") + what + " " + std::to_string(i) + " is not float32");
  if (other.sizes() != p.sizes()) fail(std::string("sgdStep: ") + what + " " + std::to_string(i) + " has another shape than its parameter");
  if (other.device() != p.device()) fail(std::string("sgdStep: ") + what + " " + std::to_string(i) + " is on another device than its parameter");
}
}  // namespace

SgdUpdate sgdStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& bufs,
                  const std::vector<bool>& decay, const SgdHyper& h) {
  const size_t n = params.size();
  const bool momentum = h.momentum > 0;
  if (grads.size() != n || decay.size() != n || (momentum && bufs.size() != n))
    fail("sgdStep: " + std::to_string(n) + " parameters need as many gradients, decay flags and (with momentum) velocities");
  for (size_t i = 0; i < n; i++) {
    if (params[i].scalar_type() != at::kFloat) fail("sgdStep: parameter " + std::to_string(i) + " is not float32");
    checkSame(params[i], grads[i], "gradient", i);
    if (momentum) checkSame(params[i], bufs[i], "velocity", i);
  }
  SgdUpdate out;
  if (n == 0) return out;
  // d = g + wd·p where decay applies (reference: tf.add(g, tf.mul(p, wd)))
  std::vector<at::Tensor> d(grads);
  if (h.weightDecay > 0) {
    std::vector<at::Tensor> pd, gd;
    std::vector<size_t> where;
    for (size_t i = 0; i < n; i++)
      if (decay[i]) {
        pd.push_back(params[i]);
        gd.push_back(grads[i]);
        where.push_back(i);
      }
    if (!pd.empty()) {
      auto dd = at::_foreach_add(gd, at::_foreach_mul(pd, f32(h.weightDecay)));
      for (size_t k = 0; k < where.size(); k++) d[where[k]] = dd[k];
    }
  }
  // v = μ·buf + d (reference: tf.add(tf.mul(vel, μ), d); the first step's buf is zeros, so v = d
  // as PyTorch's buf = d_p, but for the sign of a zero)
  std::vector<at::Tensor> v = d;
  if (momentum) {
    v = at::_foreach_mul(bufs, f32(h.momentum));
    at::_foreach_add_(v, d);
    out.bufs = v;
  }
  // p - lr·(nesterov ? d + μ·v : v)
  std::vector<at::Tensor> upd = h.nesterov ? at::_foreach_add(d, at::_foreach_mul(v, f32(h.momentum))) : v;
  out.params = at::_foreach_sub(params, at::_foreach_mul(upd, f32(h.lr)));
  return out;
}

}  // namespace piat
