// Element-wise kernels: tfjs's unary, binary (NumPy broadcasting, as ATen's), comparison and
// logical kernels, activations and their gradient kernels.
#include "common.h"

using namespace piat;

namespace {
// tfjs keeps int32 arithmetic in int32 and never produces bool from arithmetic on bools.
at::Tensor arith(const at::Tensor& t) { return t.scalar_type() == at::kBool ? t.to(at::kInt) : t; }
at::Tensor fl(const at::Tensor& t) { return t.is_floating_point() ? t : t.to(at::kFloat); }
}  // namespace

// ---- binary ----
KERNEL("Add") { return one(arith(A.in(0)) + arith(A.in(1))); }
KERNEL("Sub") { return one(arith(A.in(0)) - arith(A.in(1))); }
KERNEL("Multiply") { return one(arith(A.in(0)) * arith(A.in(1))); }
KERNEL("RealDiv") {
  auto a = A.in(0), b = A.in(1);
  // tfjs keeps int32 / int32 in int32, truncating the quotient
  if (!a.is_floating_point() && !b.is_floating_point()) return one(at::div(arith(a), arith(b), "trunc"));
  return one(fl(a) / fl(b));
}
KERNEL("FloorDiv") {
  auto a = arith(A.in(0)), b = arith(A.in(1));
  return one(at::div(a, b, "floor"));
}
KERNEL("Maximum") { return one(at::maximum(arith(A.in(0)), arith(A.in(1)))); }
KERNEL("Minimum") { return one(at::minimum(arith(A.in(0)), arith(A.in(1)))); }
KERNEL("Pow") {
  auto a = arith(A.in(0)), b = arith(A.in(1));
  return one(at::pow(a, b));
}
KERNEL("SquaredDifference") {
  auto d = arith(A.in(0)) - arith(A.in(1));
  return one(d * d);
}
KERNEL("Mod") { return one(at::remainder(arith(A.in(0)), arith(A.in(1)))); }
KERNEL("Atan2") { return one(at::atan2(fl(A.in(0)), fl(A.in(1)))); }
KERNEL("AddN") {
  at::Tensor s = arith(A.in(0)).clone();
  for (size_t i = 1; i < A.size(); i++) s.add_(A.in(i));
  return one(s);
}

// ---- comparison and logic ----
KERNEL("Equal") { return one(at::eq(A.in(0), A.in(1))); }
KERNEL("NotEqual") { return one(at::ne(A.in(0), A.in(1))); }
KERNEL("Less") { return one(at::lt(A.in(0), A.in(1))); }
KERNEL("LessEqual") { return one(at::le(A.in(0), A.in(1))); }
KERNEL("Greater") { return one(at::gt(A.in(0), A.in(1))); }
KERNEL("GreaterEqual") { return one(at::ge(A.in(0), A.in(1))); }
KERNEL("LogicalAnd") { return one(at::logical_and(A.in(0), A.in(1))); }
KERNEL("LogicalOr") { return one(at::logical_or(A.in(0), A.in(1))); }
KERNEL("LogicalNot") { return one(at::logical_not(A.in(0))); }
KERNEL("IsNan") { return one(at::isnan(A.in(0))); }
KERNEL("IsInf") { return one(at::isinf(A.in(0))); }
KERNEL("IsFinite") { return one(at::isfinite(A.in(0))); }

// ---- unary math (tfjs computes these in float32) ----
#define UNARY_F(name, expr) \
  KERNEL(name) {            \
    auto x = fl(A.in(0));   \
    return one(expr);       \
  }
UNARY_F("Exp", at::exp(x))
UNARY_F("Expm1", at::expm1(x))
UNARY_F("Log", at::log(x))
UNARY_F("Log1p", at::log1p(x))
UNARY_F("Sqrt", at::sqrt(x))
UNARY_F("Rsqrt", at::rsqrt(x))
UNARY_F("Reciprocal", at::reciprocal(x))
UNARY_F("Sin", at::sin(x))
UNARY_F("Cos", at::cos(x))
UNARY_F("Tan", at::tan(x))
UNARY_F("Asin", at::asin(x))
UNARY_F("Acos", at::acos(x))
UNARY_F("Atan", at::atan(x))
UNARY_F("Sinh", at::sinh(x))
UNARY_F("Cosh", at::cosh(x))
UNARY_F("Asinh", at::asinh(x))
UNARY_F("Acosh", at::acosh(x))
UNARY_F("Atanh", at::atanh(x))
UNARY_F("Tanh", at::tanh(x))
UNARY_F("Sigmoid", at::sigmoid(x))
UNARY_F("Erf", at::erf(x))
UNARY_F("Floor", at::floor(x))
UNARY_F("Ceil", at::ceil(x))
UNARY_F("Round", at::round(x))  // half to even, as tfjs
UNARY_F("Selu", at::selu(x))
UNARY_F("Elu", at::elu(x))
// tfjs: log(1 + exp(x)) with the same overflow guards as TensorFlow
UNARY_F("Softplus", at::where(x > 15.9423847f, x, at::where(x < -15.9423847f, at::exp(x), at::log1p(at::exp(x)))))

KERNEL("Neg") { return one(at::neg(arith(A.in(0)))); }
KERNEL("Abs") { return one(at::abs(arith(A.in(0)))); }
KERNEL("Sign") { return one(at::sign(arith(A.in(0)))); }
KERNEL("Square") {
  auto x = arith(A.in(0));
  return one(x * x);
}
KERNEL("Relu") { return one(at::relu(arith(A.in(0)))); }
KERNEL("Relu6") { return one(at::clamp(arith(A.in(0)), 0, 6)); }
KERNEL("LeakyRelu") {
  auto x = fl(A.in(0));
  return one(at::where(x < 0, x * A.f64("alpha"), x));
}
KERNEL("Prelu") {
  auto x = fl(A.in(0));
  return one(at::where(x < 0, x * A.in(1), x));
}
KERNEL("Step") {
  // 1 where x > 0, alpha elsewhere, NaN stays NaN
  auto x = fl(A.in(0));
  auto s = at::where(x > 0, at::ones_like(x), at::full_like(x, A.f64("alpha", 0.0)));
  return one(at::where(at::isnan(x), x, s));
}
KERNEL("ClipByValue") {
  auto x = A.in(0);
  return one(at::clamp(x, A.f64("clipValueMin"), A.f64("clipValueMax")));
}
KERNEL("EluGrad") {
  auto dy = A.in(0), y = A.in(1);
  return one(at::where(y < 0, dy * (y + 1), dy));
}

// ---- dtype and identity ----
KERNEL("Cast") {
  std::string d = A.str("dtype");
  at::ScalarType t = d == "float32" ? at::kFloat : d == "int32" ? at::kInt : d == "bool" ? at::kBool : (fail("Cast to " + d + " is not supported on the torch backend"), at::kFloat);
  return one(A.in(0).to(t));
}
KERNEL("Identity") { return one(A.in(0)); }
KERNEL("ZerosLike") { return one(at::zeros_like(A.in(0))); }
KERNEL("OnesLike") { return one(at::ones_like(A.in(0))); }
KERNEL("Select") {
  auto c = A.in(0), t = A.in(1), e = A.in(2);
  if (c.dim() == 1 && t.dim() > 1) {  // legacy tfjs form: condition selects rows
    std::vector<int64_t> s(t.dim(), 1);
    s[0] = c.size(0);
    c = c.reshape(s);
  }
  return one(at::where(c.to(at::kBool), t, e));
}

// One L∞ PGD step from the adversarial input, its gradient and the clean input: x' = xAdv + α·sign(g),
// its offset from x clipped to [−ε, ε], the result clipped to [lo, hi]. The same ATen operations in
// the same order as src/attacks/pgd.ts's composite (sign, mul, add, sub, clamp, add, clamp), so the
// same bits, in one call (src/backend/torch/fused-attack.ts). inputs: xAdv, g, x; attrs alpha, eps, lo, hi
KERNEL("PiatLinfStep") {
  float alpha = static_cast<float>(A.f64("alpha"));
  at::Tensor next = A.in(0) + at::sign(A.in(1)) * at::scalar_tensor(alpha, A.in(1).options());
  double eps = A.f64("eps");
  at::Tensor delta = at::clamp(next - A.in(2), -eps, eps);
  return one(at::clamp(A.in(2) + delta, A.f64("lo"), A.f64("hi")));
}
