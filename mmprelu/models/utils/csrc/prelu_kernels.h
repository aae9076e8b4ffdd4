// Element loops of the fused PReLU kernel (see prelu_cpu.cpp): Eq. (1)
// forward and the one-pass backward of Eq. (1)-(3), for the two layouts
// "rows" (R rows of L contiguous elements, row r uses slope r % C) and
// "vec" (positions of C contiguous channels). Every loop handles the index
// range [begin, end) of rows / positions given by at::parallel_for.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__clang__)
// One clone per instruction set, chosen by the loader at run time.
#define MMPRELU_CLONES \
  __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define MMPRELU_CLONES
#endif

namespace mmprelu {
namespace kernels {

template <typename T>
static inline __attribute__((always_inline)) void fwd_rows_impl(
    const T* x, T* y, const T* a, int64_t numel, int64_t L, int64_t C,
    int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T s = a[r % C];
    const int64_t lo = r * L, hi = std::min(numel, lo + L);
    const T* xr = x + lo;
    T* yr = y + lo;
    const int64_t n = hi - lo;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const T v = xr[i];
      yr[i] = v > T(0) ? v : s * v;
    }
  }
}

template <typename T>
static inline __attribute__((always_inline)) void fwd_vec_impl(
    const T* x, T* y, const T* a, int64_t C, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const T* xp = x + p * C;
    T* yp = y + p * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const T v = xp[c];
      yp[c] = v > T(0) ? v : a[c] * v;
    }
  }
}

// grad_input (if gi) and, per row, the sum over saved <= 0 of g * saved.
template <typename T>
static inline __attribute__((always_inline)) void bwd_rows_impl(
    const T* g, const T* s, T* gi, const T* a, T* part, int64_t numel,
    int64_t L, int64_t C, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T slope = a[r % C];
    const int64_t lo = r * L, hi = std::min(numel, lo + L);
    const T* gr = g + lo;
    const T* sr = s + lo;
    const int64_t n = hi - lo;
    T acc = T(0);
    if (gi != nullptr) {
      T* gir = gi + lo;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < n; ++i) {
        const T gv = gr[i], sv = sr[i];
        const bool pos = sv > T(0);
        gir[i] = pos ? gv : slope * gv;
        acc += pos ? T(0) : gv * sv;
      }
    } else {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < n; ++i) {
        const T gv = gr[i], sv = sr[i];
        acc += sv > T(0) ? T(0) : gv * sv;
      }
    }
    if (part != nullptr) part[r] = acc;
  }
}

// vec layout: positions [begin, end) of one block; part = C sums.
template <typename T>
static inline __attribute__((always_inline)) void bwd_vec_impl(
    const T* g, const T* s, T* gi, const T* a, T* part, int64_t C,
    int64_t begin, int64_t end) {
  for (int64_t c = 0; c < C; ++c) part[c] = T(0);
  for (int64_t p = begin; p < end; ++p) {
    const T* gp = g + p * C;
    const T* sp = s + p * C;
    T* gip = gi == nullptr ? nullptr : gi + p * C;
    if (gip != nullptr) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const T gv = gp[c], sv = sp[c];
        const bool pos = sv > T(0);
        gip[c] = pos ? gv : a[c] * gv;
        part[c] += pos ? T(0) : gv * sv;
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const T gv = gp[c], sv = sp[c];
        part[c] += sv > T(0) ? T(0) : gv * sv;
      }
    }
  }
}

// Non-template entry points, overloaded per dtype and cloned per
// instruction set (target_clones does not apply to templates).
#define MMPRELU_DEFINE(T)                                                     \
  MMPRELU_CLONES void fwd_rows(const T* x, T* y, const T* a, int64_t numel,  \
                               int64_t L, int64_t C, int64_t b, int64_t e) { \
    fwd_rows_impl<T>(x, y, a, numel, L, C, b, e);                             \
  }                                                                           \
  MMPRELU_CLONES void fwd_vec(const T* x, T* y, const T* a, int64_t C,        \
                              int64_t b, int64_t e) {                         \
    fwd_vec_impl<T>(x, y, a, C, b, e);                                        \
  }                                                                           \
  MMPRELU_CLONES void bwd_rows(const T* g, const T* s, T* gi, const T* a,     \
                               T* part, int64_t numel, int64_t L, int64_t C,  \
                               int64_t b, int64_t e) {                        \
    bwd_rows_impl<T>(g, s, gi, a, part, numel, L, C, b, e);                   \
  }                                                                           \
  MMPRELU_CLONES void bwd_vec(const T* g, const T* s, T* gi, const T* a,      \
                              T* part, int64_t C, int64_t b, int64_t e) {     \
    bwd_vec_impl<T>(g, s, gi, a, part, C, b, e);                              \
  }

MMPRELU_DEFINE(float)
MMPRELU_DEFINE(double)

}  // namespace kernels
}  // namespace mmprelu
