// Fused CPU kernels and autograd function for PReLU, Eq. (1)-(3) of
// He et al. 2015 ("Delving Deep into Rectifiers").
//
// Forward:  f(y) = y if y > 0 else a_c * y (the same expression as
//           torch.prelu, so outputs are bitwise equal), optionally in place.
// Backward: one pass over (grad, saved) writes the input gradient
//           (grad * 1 or grad * a_c) and accumulates the slope gradient of
//           Eq. (2)-(3), sum over y <= 0 of grad * y, per row or per block.
//           With every slope > 0 the *output* is saved instead of the input
//           (the next layer keeps it anyway, so no extra memory): its sign is
//           the input's, and y = f / a_c on the negative side, so the slope
//           gradient is sum(grad * f) / a_c.
//
// Two memory layouts, each handled without copies:
//   rows: R rows of L contiguous elements, row r uses slope[r % C]
//         (NCHW-contiguous: C = channels, L = H*W; channel-shared: C = 1,
//         any dense tensor cut into rows);
//   vec:  P positions of C contiguous channels (channels_last NHWC, and
//         (N, C) inputs of fully connected layers).
// Partial slope sums are kept per row (rows) or per fixed block of
// positions (vec) and added up in double at the end, so the result does not
// depend on the number of threads.
//
// Built on first use by mmprelu/models/utils/prelu_ext.py (JIT, cached).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <vector>

#include "prelu_kernels.h"

using at::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

using namespace mmprelu::kernels;

constexpr int64_t kBlockElements = 1 << 14;  // vec layout: elements per block

// How a dense tensor maps onto the kernels' layouts.
struct Layout {
  bool vec;       // vec layout (channels innermost)
  int64_t rows;   // rows: R; vec: positions P
  int64_t len;    // rows: L; vec: C
  int64_t cycle;  // rows: slopes per cycle of rows (C or 1)
  at::MemoryFormat format;
};

Layout layout_of(const Tensor& x, int64_t num_slopes) {
  const int64_t numel = x.numel();
  const int64_t C = x.size(1);
  const bool cl = x.dim() == 4 && !x.is_contiguous() &&
                  x.is_contiguous(at::MemoryFormat::ChannelsLast);
  const at::MemoryFormat format =
      cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  if (num_slopes == 1) {  // one slope: any dense order, rows of 4096
    const int64_t L = 4096;
    return {false, (numel + L - 1) / L, L, 1, format};
  }
  int64_t inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) inner *= x.size(d);
  if (cl || inner == 1) return {true, numel / C, C, C, format};
  return {false, numel / inner, inner, C, format};
}

int64_t grain(int64_t per_item) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_item));
}

template <typename T>
void forward_into(const Tensor& x, Tensor& y, const Tensor& w,
                  const Layout& lo) {
  const T* xp = x.const_data_ptr<T>();
  T* yp = y.data_ptr<T>();
  const T* ap = w.const_data_ptr<T>();
  const int64_t numel = x.numel();
  if (lo.vec) {
    at::parallel_for(0, lo.rows, grain(lo.len), [&](int64_t b, int64_t e) {
      fwd_vec(xp, yp, ap, lo.len, b, e);
    });
  } else {
    at::parallel_for(0, lo.rows, grain(lo.len), [&](int64_t b, int64_t e) {
      fwd_rows(xp, yp, ap, numel, lo.len, lo.cycle, b, e);
    });
  }
}

// Returns the slope gradient (shape of w); writes gi if defined.
template <typename T>
Tensor backward_into(const Tensor& g, const Tensor& s, Tensor& gi,
                     const Tensor& w, const Layout& lo, bool from_output,
                     bool need_w) {
  const T* gp = g.const_data_ptr<T>();
  const T* sp = s.const_data_ptr<T>();
  T* gip = gi.defined() ? gi.data_ptr<T>() : nullptr;
  const T* ap = w.const_data_ptr<T>();
  const int64_t numel = g.numel();
  const int64_t S = w.numel();
  std::vector<double> total(S, 0.0);
  if (lo.vec) {
    const int64_t per_block =
        std::max<int64_t>(1, kBlockElements / std::max<int64_t>(1, lo.len));
    const int64_t blocks = (lo.rows + per_block - 1) / per_block;
    std::vector<T> part(need_w ? blocks * lo.len : 0);
    at::parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) {
      std::vector<T> scratch(need_w ? 0 : lo.len);
      for (int64_t k = b; k < e; ++k) {
        T* pk = need_w ? part.data() + k * lo.len : scratch.data();
        bwd_vec(gp, sp, gip, ap, pk, lo.len, k * per_block,
                std::min(lo.rows, (k + 1) * per_block));
      }
    });
    if (need_w) {
      for (int64_t k = 0; k < blocks; ++k)
        for (int64_t c = 0; c < lo.len; ++c)
          total[c] += static_cast<double>(part[k * lo.len + c]);
    }
  } else {
    std::vector<T> part(need_w ? lo.rows : 0);
    T* pp = need_w ? part.data() : nullptr;
    at::parallel_for(0, lo.rows, grain(lo.len), [&](int64_t b, int64_t e) {
      bwd_rows(gp, sp, gip, ap, pp, numel, lo.len, lo.cycle, b, e);
    });
    if (need_w) {
      for (int64_t r = 0; r < lo.rows; ++r)
        total[S == 1 ? 0 : r % lo.cycle] += static_cast<double>(part[r]);
    }
  }
  if (!need_w) return Tensor();
  Tensor gw = at::empty_like(w, at::MemoryFormat::Contiguous);
  T* gwp = gw.data_ptr<T>();
  for (int64_t c = 0; c < S; ++c) {
    double v = total[c];
    if (from_output) v /= static_cast<double>(ap[c]);
    gwp[c] = static_cast<T>(v);
  }
  return gw;
}

bool all_positive(const Tensor& w) {
  return AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "mmprelu_all_pos", [&] {
    const scalar_t* ap = w.const_data_ptr<scalar_t>();
    for (int64_t c = 0; c < w.numel(); ++c)
      if (!(ap[c] > scalar_t(0))) return false;
    return true;
  });
}

void check_inputs(const Tensor& x, const Tensor& w) {
  TORCH_CHECK(x.device().is_cpu() && w.device().is_cpu(),
              "mmprelu fused PReLU: CPU tensors only");
  TORCH_CHECK(x.dim() >= 2, "mmprelu fused PReLU: input needs >= 2 dims");
  TORCH_CHECK(x.scalar_type() == w.scalar_type() &&
                  (x.scalar_type() == at::kFloat ||
                   x.scalar_type() == at::kDouble),
              "mmprelu fused PReLU: float32/float64 input and weight of the "
              "same dtype");
  TORCH_CHECK(w.numel() == 1 || w.numel() == x.size(1),
              "mmprelu fused PReLU: weight has ", w.numel(),
              " elements; expected 1 or ", x.size(1));
}

}  // namespace

namespace mmprelu {

// grad_fn name: "torch::autograd::CppNode<mmprelu::FusedPReLU>".
struct FusedPReLU : public torch::autograd::Function<FusedPReLU> {
  static Tensor forward(AutogradContext* ctx, Tensor x, Tensor w,
                        bool inplace) {
    check_inputs(x, w);
    Tensor wc = w.contiguous();
    const bool from_output = all_positive(wc);
    const Layout lo = layout_of(x, wc.numel());
    // In place only where it is safe: the input is not needed for backward
    // (all slopes > 0), is a non-leaf in the graph (a leaf that requires
    // grad cannot be written over) and not a view (its base may be read).
    const bool in_place = inplace && from_output &&
                          x.is_contiguous(lo.format) && x.grad_fn() &&
                          !x.is_view();
    Tensor xc = x.contiguous(lo.format);
    Tensor y = in_place ? x : at::empty_like(xc, lo.format);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "mmprelu_prelu_fwd", [&] {
      forward_into<scalar_t>(xc, y, wc, lo);
    });
    if (in_place) ctx->mark_dirty({x});
    ctx->save_for_backward({from_output ? y : xc, wc});
    ctx->saved_data["from_output"] = from_output;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor& s = saved[0];
    const Tensor& w = saved[1];
    const bool from_output = ctx->saved_data["from_output"].toBool();
    const bool need_x = ctx->needs_input_grad(0);
    const bool need_w = ctx->needs_input_grad(1);
    const Layout lo = layout_of(s, w.numel());
    Tensor g = grads[0].contiguous(lo.format);
    Tensor gi = need_x ? at::empty_like(s, lo.format) : Tensor();
    Tensor gw;
    if (need_x || need_w) {
      AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "mmprelu_prelu_bwd", [&] {
        gw = backward_into<scalar_t>(g, s, gi, w, lo, from_output, need_w);
      });
    }
    if (gw.defined()) gw = gw.view(w.sizes());
    return {gi, gw, Tensor()};
  }
};

Tensor fused_prelu(const Tensor& x, const Tensor& w, bool inplace) {
  return FusedPReLU::apply(x, w, inplace);
}

}  // namespace mmprelu

TORCH_LIBRARY(mmprelu_cpu, m) {
  m.def("prelu(Tensor input, Tensor weight, bool inplace) -> Tensor",
        &mmprelu::fused_prelu);
}
