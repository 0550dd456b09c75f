// Per-sample pointwise distortions on the CPU: tone curves, HSV saturation and
// quantization.
#include <algorithm>
#include <vector>

#include "ops/cpu/parallel.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

// Calls fn(sample, first, last) on pieces of the batch's values split across threads,
// each piece inside one sample, with flat value indices.
template <typename Fn>
void for_each_value_span(const Batch& images, int num_threads, Fn fn) {
  cpu::parallel_for_unit_pieces(images.samples, images.sample_size(), num_threads, fn);
}

}  // namespace

void tone_curve_cpu(const Batch& images, const ToneCurves& curves, int num_threads) {
  for_each_value_span(images, num_threads, [&](int64_t sample, int64_t first, int64_t last) {
    // Local copies: the compiler can then keep the table in registers and vectorize.
    float knots[kCurvePieces], coefficients[kCurvePieces * 4];
    std::copy_n(curves.knots + sample * kCurvePieces, kCurvePieces, knots);
    std::copy_n(curves.coefficients + sample * kCurvePieces * 4, kCurvePieces * 4, coefficients);
    float* values = images.data;
    for (int64_t i = first; i < last; ++i) values[i] = eval_curve(values[i], knots, coefficients);
  });
}

void saturate_hsv_cpu(const Batch& images, const float* factors, int num_threads) {
  const int64_t plane = images.plane();
  cpu::parallel_for(images.samples * plane, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t pixel = begin; pixel < end; ++pixel) {
      const int64_t sample = pixel / plane;
      float* p = images.data + sample * images.sample_size() + pixel % plane;
      const float value = std::max({p[0], p[plane], p[2 * plane]});
      const float factor = factors[sample];
      for (int c = 0; c < 3; ++c) p[c * plane] = clamp01(value + factor * (p[c * plane] - value));
    }
  });
}

void quantize_cpu(const Batch& images, const int32_t* levels, int num_threads) {
  // Pass 1: the lowest and highest bin of each sample; pass 2: stretch.
  const int64_t per_sample = images.sample_size();
  std::vector<int> low(images.samples), high(images.samples);
  cpu::parallel_for(images.samples, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      const float* values = images.data + s * per_sample;
      const auto [min_it, max_it] = std::minmax_element(values, values + per_sample);
      // Binning is monotone, so the extreme values hold the extreme bins.
      low[s] = quantization_bin(*min_it, levels[s]);
      high[s] = quantization_bin(*max_it, levels[s]);
    }
  });
  for_each_value_span(images, num_threads, [&](int64_t sample, int64_t first, int64_t last) {
    const int level_count = levels[sample];
    const float offset = static_cast<float>(low[sample]);
    const float range = static_cast<float>(high[sample] - low[sample]);
    float* values = images.data;
    for (int64_t i = first; i < last; ++i) {
      const float bin = static_cast<float>(quantization_bin(values[i], level_count));
      values[i] = range > 0.0f ? (bin - offset) / range : clamp01(bin);
    }
  });
}

}  // namespace arniqa_edge::distort
