// Filtering on the CPU, one tap at a time over a whole row (an axpy the compiler
// vectorizes); only the few border columns clamp their index.
// - separable: a row pass into scratch, then a column pass back; each sample's taps
//   are trimmed of the zero padding that evens out kernel lengths.
// - sparse: a 2-D kernel given by its non-zero taps (disks, thin motion lines).
#include <algorithm>

#include "ops/cpu/parallel.h"
#include "ops/cpu/vector_clones.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

// One sample's taps without their zero padding: 2 * radius + 1 values, the first at
// offset -radius from the output pixel.
struct Kernel1d {
  const float* taps;
  int radius;
};

Kernel1d trimmed(const SeparableTaps& all, int64_t sample) {
  const float* taps = all.taps + sample * all.size;
  int pad = 0;
  while (pad < all.size / 2 && taps[pad] == 0.0f && taps[all.size - 1 - pad] == 0.0f) ++pad;
  return {taps + pad, all.size / 2 - pad};
}

ARNIQA_CPU_CLONES void filter_row(const float* in, float* out, int64_t width, Kernel1d kernel) {
  const int radius = kernel.radius;
  std::fill(out, out + width, 0.0f);
  // Interior: every tap reads inside the row.
  const int64_t begin = std::min<int64_t>(radius, width);
  const int64_t end = std::max<int64_t>(begin, width - radius);
  for (int k = 0; k <= 2 * radius; ++k) {
    const float tap = kernel.taps[k];
    const float* source = in + (k - radius);
    for (int64_t col = begin; col < end; ++col) out[col] += tap * source[col];
  }
  // Borders: replicate by clamping the index.
  auto clamped = [&](int64_t col) {
    float sum = 0.0f;
    for (int k = 0; k <= 2 * radius; ++k) sum += kernel.taps[k] * in[std::clamp<int64_t>(col + k - radius, 0, width - 1)];
    out[col] = sum;
  };
  for (int64_t col = 0; col < begin; ++col) clamped(col);
  for (int64_t col = end; col < width; ++col) clamped(col);
}

ARNIQA_CPU_CLONES void filter_column_pass(const float* in, float* out, int64_t height, int64_t width, int64_t row,
                                          Kernel1d kernel) {
  float* target = out + row * width;
  std::fill(target, target + width, 0.0f);
  for (int k = 0; k <= 2 * kernel.radius; ++k) {
    const float tap = kernel.taps[k];
    const float* source = in + std::clamp<int64_t>(row + k - kernel.radius, 0, height - 1) * width;
    for (int64_t col = 0; col < width; ++col) target[col] += tap * source[col];
  }
}

// out_row += weight * the input row `source` shifted by `shift` columns, borders replicated.
ARNIQA_CPU_CLONES void add_shifted_row(const float* source, float* out_row, int64_t width, int64_t shift,
                                       float weight) {
  const int64_t begin = std::clamp<int64_t>(-shift, 0, width);
  const int64_t end = std::clamp<int64_t>(width - shift, begin, width);
  for (int64_t col = 0; col < begin; ++col) out_row[col] += weight * source[0];
  const float* shifted = source + shift;
  for (int64_t col = begin; col < end; ++col) out_row[col] += weight * shifted[col];
  for (int64_t col = end; col < width; ++col) out_row[col] += weight * source[width - 1];
}

}  // namespace

void separable_filter_cpu(const Batch& images, float* scratch, const SeparableTaps& taps, int num_threads) {
  const int64_t planes = images.samples * images.channels;
  const int64_t height = images.height;
  const int64_t width = images.width;
  // Rows of all planes are independent in each pass; the column pass needs the whole
  // row pass of its plane, hence two parallel loops.
  cpu::parallel_for(planes * height, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t plane_row = begin; plane_row < end; ++plane_row) {
      const int64_t sample = plane_row / (images.channels * height);
      const int64_t offset = plane_row * width;
      filter_row(images.data + offset, scratch + offset, width, trimmed(taps, sample));
    }
  });
  cpu::parallel_for(planes * height, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t plane_row = begin; plane_row < end; ++plane_row) {
      const int64_t plane = plane_row / height;
      const int64_t sample = plane / images.channels;
      const int64_t offset = plane * height * width;
      filter_column_pass(scratch + offset, images.data + offset, height, width, plane_row % height,
                         trimmed(taps, sample));
    }
  });
}

void sparse_filter_cpu(const Batch& images, float* out, const SparseTaps& taps, int num_threads) {
  const int64_t height = images.height;
  const int64_t width = images.width;
  cpu::parallel_for(images.samples * images.channels * height, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t plane_row = begin; plane_row < end; ++plane_row) {
      const int64_t plane = plane_row / height;
      const int64_t row = plane_row % height;
      const int64_t sample = plane / images.channels;
      const float* input = images.data + plane * height * width;
      float* out_row = out + plane_row * width;
      std::fill(out_row, out_row + width, 0.0f);
      const float* tap = taps.taps + sample * taps.capacity * 3;
      const int count = std::min(taps.counts[sample], taps.capacity);  // counts are not checked
      for (int i = 0; i < count; ++i, tap += 3) {
        const int64_t source_row = std::clamp<int64_t>(row + tap_shift(tap[0], height), 0, height - 1);
        add_shifted_row(input + source_row * width, out_row, width, tap_shift(tap[1], width), tap[2]);
      }
    }
  });
}

}  // namespace arniqa_edge::distort
