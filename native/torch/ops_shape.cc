// Shape, indexing and reduction kernels. Axes follow tfjs (negative counts from the end);
// kernels that tfjs prepares in JavaScript (StridedSlice) receive resolved begin/end/strides.
#include "common.h"

using namespace piat;

namespace {
std::vector<int64_t> axes(const Args& A, const char* name, int64_t rank) {
  auto ax = A.ints(name);
  if (!A.has(name)) {  // null: every axis
    for (int64_t i = 0; i < rank; i++) ax.push_back(i);
  }
  for (auto& a : ax) a = axis(a, rank);
  return ax;
}
at::Tensor arith(const at::Tensor& t) { return t.scalar_type() == at::kBool ? t.to(at::kInt) : t; }
// Reductions ATen takes one axis at a time: the last axis first, so the others keep their index.
template <typename F>
at::Tensor axisByAxis(at::Tensor x, std::vector<int64_t> ax, F reduce) {
  std::sort(ax.rbegin(), ax.rend());
  for (auto a : ax) x = reduce(x, a);
  return x;
}
}  // namespace

KERNEL("Reshape") { return one(A.in(0).reshape(A.ints("shape"))); }
KERNEL("Transpose") { return one(A.in(0).permute(A.ints("perm")).contiguous()); }
KERNEL("Slice") {
  auto x = A.in(0);
  auto begin = A.ints("begin", x.dim()), size = A.ints("size", x.dim());
  for (int64_t d = 0; d < x.dim(); d++) {
    int64_t b = begin[d], s = size[d] < 0 ? x.size(d) - b : size[d];
    x = x.narrow(d, b, s);
  }
  return one(x);
}
// attrs resolved by tfjs's slice_util.sliceInfo in JavaScript: begin, strides and sizes per
// dimension (element j of dimension d is begin[d] + j * strides[d]), and the final shape
KERNEL("StridedSlice") {
  auto x = A.in(0);
  if (A.flag("identity")) return one(x.reshape(A.ints("finalShape")));
  auto begin = A.ints("begin"), strides = A.ints("strides"), sizes = A.ints("sizes");
  for (int64_t d = 0; d < x.dim(); d++) {
    int64_t s = strides[d], b = begin[d], k = sizes[d], n = x.size(d);
    if (k <= 0) {
      x = x.narrow(d, 0, 0);
    } else if (s > 0) {
      x = x.slice(d, b, b + (k - 1) * s + 1, s);
    } else {
      // walk backwards: flip, then step forwards
      int64_t fb = n - 1 - b;
      x = x.flip({d}).slice(d, fb, fb + (k - 1) * (-s) + 1, -s);
    }
  }
  return one(x.reshape(A.ints("finalShape")));
}
KERNEL("Concat") {
  std::vector<at::Tensor> parts;
  for (auto& t : A.inputs())
    if (t.numel() > 0 || A.size() == 1) parts.push_back(t);
  if (parts.empty()) parts.push_back(A.in(0));
  int64_t ax = axis(A.i64("axis"), parts[0].dim());
  // tfjs upcasts mixed dtypes
  return one(at::cat(parts, ax));
}
KERNEL("Pack") {
  int64_t ax = axis(A.i64("axis"), A.in(0).dim() + 1);
  return one(at::stack(A.inputs(), ax));
}
KERNEL("Unpack") {
  auto x = A.in(0);
  auto parts = at::unbind(x, axis(A.i64("axis"), x.dim()));
  return std::vector<at::Tensor>(parts.begin(), parts.end());
}
KERNEL("SplitV") {
  auto x = A.in(0);
  int64_t ax = axis(A.i64("axis"), x.dim());
  // sizes resolved in JavaScript by backend_util.prepareSplitSize
  auto parts = at::split_with_sizes(x, A.ints("sizes"), ax);
  return parts;
}
KERNEL("PadV2") {
  auto x = A.in(0);
  auto p = A.intPairs("paddings");
  std::vector<int64_t> pad;
  for (int64_t d = x.dim() - 1; d >= 0; d--) {
    pad.push_back(p[d][0]);
    pad.push_back(p[d][1]);
  }
  return one(at::constant_pad_nd(x, pad, A.f64("constantValue", 0)));
}
KERNEL("Tile") { return one(A.in(0).repeat(A.ints("reps"))); }
KERNEL("Reverse") {
  auto x = A.in(0);
  auto d = A.ints("dims");
  for (auto& a : d) a = axis(a, x.dim());
  return one(d.empty() ? x : x.flip(d));
}
KERNEL("GatherV2") {
  auto x = A.in(0), idx = A.in(1).to(at::kLong);
  if (A.i64("batchDims", 0) != 0) unsupported("batchDims > 0 is not supported");
  int64_t ax = axis(A.i64("axis"), x.dim());
  auto out = at::index_select(x, ax, idx.reshape({-1}));
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + ax);
  for (auto d : idx.sizes()) shape.push_back(d);
  for (int64_t d = ax + 1; d < x.dim(); d++) shape.push_back(x.size(d));
  return one(out.reshape(shape));
}
KERNEL("GatherNd") {
  auto params = A.in(0), idx = A.in(1).to(at::kLong);
  int64_t k = idx.size(-1);
  std::vector<at::Tensor> index;
  auto flat = idx.reshape({-1, k});
  for (int64_t j = 0; j < k; j++) index.push_back(flat.select(1, j));
  c10::List<c10::optional<at::Tensor>> list;
  for (auto& t : index) list.push_back(t);
  auto out = at::index(params, list);
  std::vector<int64_t> shape(idx.sizes().begin(), idx.sizes().end() - 1);
  for (int64_t d = k; d < params.dim(); d++) shape.push_back(params.size(d));
  return one(out.reshape(shape));
}
KERNEL("UnsortedSegmentSum") {
  auto x = A.in(0), ids = A.in(1).to(at::kLong).reshape({-1});
  int64_t n = A.i64("numSegments");
  std::vector<int64_t> rest(x.sizes().begin() + A.in(1).dim(), x.sizes().end());
  std::vector<int64_t> outShape{n};
  outShape.insert(outShape.end(), rest.begin(), rest.end());
  auto flatX = x.reshape({ids.size(0), -1});
  // tfjs drops negative ids
  auto keep = ids >= 0;
  auto out = at::zeros({n, flatX.size(1)}, x.options());
  out.index_add_(0, ids.masked_select(keep), flatX.index({keep}));
  return one(out.reshape(outShape));
}
KERNEL("OneHot") {
  auto idx = A.in(0).to(at::kLong);
  int64_t depth = A.i64("depth");
  auto hot = idx.unsqueeze(-1) == at::arange(depth, idx.options());
  double on = A.f64("onValue", 1), off = A.f64("offValue", 0);
  std::string d = A.str("dtype", "int32");
  auto t = d == "float32" ? at::kFloat : at::kInt;
  return one(at::where(hot, at::scalar_tensor(on, opts(t)), at::scalar_tensor(off, opts(t))));
}
KERNEL("Fill") {
  std::string d = A.str("dtype", "float32");
  auto t = d == "int32" ? at::kInt : d == "bool" ? at::kBool : at::kFloat;
  return one(at::full(A.ints("shape"), A.f64("value"), opts(t)));
}
KERNEL("Range") {
  std::string d = A.str("dtype", "float32");
  auto t = d == "int32" ? at::kInt : at::kFloat;
  double start = A.f64("start"), stop = A.f64("stop"), step = A.f64("step", 1);
  if ((step > 0 && start >= stop) || (step < 0 && start <= stop)) return one(at::empty({0}, opts(t)));
  return one(at::arange(start, stop, step, opts(at::kDouble)).to(t));
}
KERNEL("TopK") {
  auto x = A.in(0);
  auto r = at::topk(x, A.i64("k"), -1, true, A.flag("sorted", true));
  return {std::get<0>(r), std::get<1>(r).to(at::kInt)};
}
KERNEL("Einsum") { return one(at::einsum(A.str("equation"), A.inputs())); }
KERNEL("Cumsum") {
  auto x = arith(A.in(0));
  int64_t ax = axis(A.i64("axis"), x.dim());
  bool rev = A.flag("reverse"), excl = A.flag("exclusive");
  if (rev) x = x.flip({ax});
  auto c = at::cumsum(x, ax, x.scalar_type());
  if (excl) c = c - x;
  if (rev) c = c.flip({ax});
  return one(c);
}

KERNEL("Cumprod") {
  auto x = arith(A.in(0));
  int64_t ax = axis(A.i64("axis"), x.dim());
  bool rev = A.flag("reverse"), excl = A.flag("exclusive");
  if (rev) x = x.flip({ax});
  if (excl) {  // shift by one along the axis, starting from 1
    auto ones = at::ones_like(x.narrow(ax, 0, 1));
    x = at::cat({ones, x.narrow(ax, 0, x.size(ax) - 1)}, ax);
  }
  auto c = at::cumprod(x, ax, x.scalar_type());
  if (rev) c = c.flip({ax});
  return one(c);
}

// ---- reductions ----
KERNEL("Sum") {
  auto x = arith(A.in(0));
  auto ax = axes(A, "axis", x.dim());
  if (ax.empty()) return one(x);
  return one(at::sum(x, ax, A.flag("keepDims"), x.scalar_type()));
}
KERNEL("Mean") {
  auto x = A.in(0);
  if (!x.is_floating_point()) x = x.to(at::kFloat);
  auto ax = axes(A, "axis", x.dim());
  if (ax.empty()) return one(x);
  return one(at::mean(x, ax, A.flag("keepDims")));
}
KERNEL("Prod") {
  auto x = arith(A.in(0));
  bool keep = A.flag("keepDims");
  return one(axisByAxis(x, axes(A, "axis", x.dim()), [&](const at::Tensor& t, int64_t a) { return at::prod(t, a, keep, t.scalar_type()); }));
}
KERNEL("Max") {
  auto x = A.in(0);
  auto ax = axes(A, "reductionIndices", x.dim());
  if (ax.empty()) return one(x);
  return one(at::amax(x, ax, A.flag("keepDims")));
}
KERNEL("Min") {
  auto x = A.in(0);
  auto ax = axes(A, "axis", x.dim());
  if (ax.empty()) return one(x);
  return one(at::amin(x, ax, A.flag("keepDims")));
}
KERNEL("All") {
  auto x = A.in(0).to(at::kBool);
  bool keep = A.flag("keepDims");
  return one(axisByAxis(x, axes(A, "axis", x.dim()), [&](const at::Tensor& t, int64_t a) { return at::all(t, a, keep); }));
}
KERNEL("Any") {
  auto x = A.in(0).to(at::kBool);
  bool keep = A.flag("keepDims");
  return one(axisByAxis(x, axes(A, "axis", x.dim()), [&](const at::Tensor& t, int64_t a) { return at::any(t, a, keep); }));
}
KERNEL("ArgMax") {
  auto x = A.in(0);
  return one(at::argmax(x, axis(A.ints("axis")[0], x.dim())));
}
KERNEL("ArgMin") {
  auto x = A.in(0);
  return one(at::argmin(x, axis(A.ints("axis")[0], x.dim())));
}
KERNEL("Softmax") {
  auto x = A.in(0);
  return one(at::softmax(x, axis(A.i64("dim", -1), x.dim())));
}
KERNEL("ExpandDims") {
  auto x = A.in(0);
  return one(x.unsqueeze(axis(A.i64("dim"), x.dim() + 1)));
}
