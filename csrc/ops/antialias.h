// Antialiased bilinear (triangle) resampling weights, as PIL's precompute_coeffs and
// torch's interpolate(mode="bilinear", antialias=True, align_corners=False) compute
// them: the triangle filter is stretched by the downscale ratio, so every input pixel
// under the output pixel's footprint contributes, and the weights are renormalised
// where the footprint leaves the image. For an exact 2x reduction this is the
// (1, 3, 3, 1) / 8 filter.
//
// Shared by the CPU kernel (precomputed tables) and the CUDA kernel (computed per
// thread), so both use the same float formula.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ARNIQA_HOST_DEVICE __host__ __device__
#define ARNIQA_UNROLL _Pragma("unroll")
#else
#define ARNIQA_HOST_DEVICE
#define ARNIQA_UNROLL
#endif

namespace arniqa_edge {

// Enough for ratios up to 3, i.e. any in_size / (in_size / 2) with in_size >= 2:
// a ratio r covers at most 2 * r + 1 input pixels.
constexpr int kMaxAntialiasTaps = 8;

struct AntialiasTaps {
  int first;  // index of the first input pixel read
  int count;  // number of input pixels read, <= kMaxAntialiasTaps
  float weights[kMaxAntialiasTaps];  // sum to 1; zero past count
};

ARNIQA_HOST_DEVICE inline float triangle_filter(float x) {
  x = x < 0.0f ? -x : x;
  return x < 1.0f ? 1.0f - x : 0.0f;
}

// Taps of output pixel `out_index` when resizing an axis from in_size to out_size.
//
// Positions are kept in integers, in units of 1 / (2 * out_size) input pixels, so
// the footprint is exact; the float formula of torch's float32 path rounds the
// centre and drifts by up to ~5e-5 (in 0..1 pixel units) on large odd sizes, while
// this matches PIL's double-precision coefficients to float rounding.
ARNIQA_HOST_DEVICE inline AntialiasTaps antialias_taps(int out_index, int in_size, int out_size) {
  const int64_t in = in_size;
  const int64_t out = out_size;
  const int64_t twice_out = 2 * out;
  // The triangle's support is 1 output pixel, i.e. in/out input pixels when
  // downscaling (and 1 when upscaling); span = support * out.
  const int64_t span = in > out ? in : out;
  // The output pixel's centre, (i + 0.5) * in / out input pixels, in those units.
  const int64_t center = (2 * static_cast<int64_t>(out_index) + 1) * in;

  // trunc(center - support + 0.5) and trunc(center + support + 0.5), as PIL and torch.
  int64_t first = (center - 2 * span + out) / twice_out;
  first = first < 0 ? 0 : first;
  int64_t end = (center + 2 * span + out) / twice_out;
  end = end > in ? in : end;

  AntialiasTaps taps;
  taps.first = static_cast<int>(first);
  taps.count = static_cast<int>(end - first < kMaxAntialiasTaps ? end - first : kMaxAntialiasTaps);
  // Fixed trip counts so that a GPU thread keeps the weights in registers.
  float total = 0.0f;
  ARNIQA_UNROLL
  for (int k = 0; k < kMaxAntialiasTaps; ++k) {
    // (input pixel centre - output pixel centre) / support, exact up to one rounding
    const int64_t offset = (2 * (first + k) + 1) * out - center;
    const float w = k < taps.count ? triangle_filter(static_cast<float>(offset) / static_cast<float>(2 * span)) : 0.0f;
    taps.weights[k] = w;
    total += w;
  }
  if (total != 0.0f) {
    ARNIQA_UNROLL
    for (int k = 0; k < kMaxAntialiasTaps; ++k) taps.weights[k] /= total;
  }
  return taps;
}

}  // namespace arniqa_edge
