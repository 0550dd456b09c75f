// Random per-pixel distortions on the CPU: Gaussian and impulse noise, jitter. The
// random numbers come from distort_random.h, keyed by the sample's seed and counted
// by pixel, so they match the CUDA kernels for the same seeds.
//
// Work goes row by row: the random words and normals of a row are computed first in
// loops of their own (OpenMP simd; this file is built with -ffast-math so that
// logf/sinf/cosf have vector versions), then applied to the row's values. Generating
// them one pixel at a time, interleaved with the image work, kept every loop scalar.
#include <algorithm>
#include <utility>
#include <vector>

#include "ops/cpu/parallel.h"
#include "ops/cpu/vector_clones.h"
#include "ops/distort.h"
#include "ops/distort_math.h"
#include "ops/distort_random.h"

namespace arniqa_edge::distort {
namespace {

// Where each pixel of a row reads from in one jitter round: sample_bilinear's
// corner offsets and weights, computed once per pixel for all channels.
struct BilinearTaps {
  explicit BilinearTaps(int64_t width) : corner(width), down(width), right(width), dr(width), dc(width) {}

  ARNIQA_CPU_CLONES void locate(int64_t row, int height, int64_t width, float std, const float* dy, const float* dx) {
    const float last_row = static_cast<float>(height - 1);
    const float last_col = static_cast<float>(width - 1);
#pragma omp simd
    for (int64_t col = 0; col < width; ++col) {
      const float at_row = clamp_to(static_cast<float>(row) - std * dy[col], 0.0f, last_row);
      const float at_col = clamp_to(static_cast<float>(col) - std * dx[col], 0.0f, last_col);
      const int row0 = static_cast<int>(at_row);
      const int col0 = static_cast<int>(at_col);
      corner[col] = row0 * static_cast<int>(width) + col0;
      down[col] = row0 + 1 < height ? static_cast<int>(width) : 0;
      right[col] = col0 + 1 < width ? 1 : 0;
      dr[col] = at_row - static_cast<float>(row0);
      dc[col] = at_col - static_cast<float>(col0);
    }
  }

  ARNIQA_CPU_CLONES void sample(const float* plane, float* out, int64_t width) const {
    for (int64_t col = 0; col < width; ++col) {
      const float* p = plane + corner[col];
      const float top = p[0] * (1.0f - dc[col]) + p[right[col]] * dc[col];
      const float bottom = p[down[col]] * (1.0f - dc[col]) + p[down[col] + right[col]] * dc[col];
      out[col] = clamp01(top * (1.0f - dr[col]) + bottom * dr[col]);
    }
  }

  std::vector<int> corner, down, right;
  std::vector<float> dr, dc;
};

// The random words and normals of one image row, reused across rows of a chunk.
struct RowRandom {
  explicit RowRandom(int64_t width) : words(4 * width), normals(4 * width), scratch(width), width(width) {}

  uint32_t* word(int lane) { return words.data() + lane * width; }
  float* normal(int lane) { return normals.data() + lane * width; }

  // The Philox words of pixels [first, first + width) in draw `round`.
  ARNIQA_CPU_CLONES void draw(uint64_t seed, int64_t first, uint32_t round) {
    uint32_t* x = word(0);
    uint32_t* y = word(1);
    uint32_t* z = word(2);
    uint32_t* w = word(3);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) {
      const Philox4 r = pixel_random(seed, first + i, round);
      x[i] = r.x, y[i] = r.y, z[i] = r.z, w[i] = r.w;
    }
  }

  // normal(2 * pair), normal(2 * pair + 1) from words 2 * pair and 2 * pair + 1: normal_pair's
  // Box-Muller, split into one loop per function so that each has a vector version
  // (in one loop the compiler fuses sinf and cosf into a sincosf it cannot vectorize).
  ARNIQA_CPU_CLONES void normals_from_words(int pair) {
    const uint32_t* a = word(2 * pair);
    const uint32_t* b = word(2 * pair + 1);
    float* radius = normal(2 * pair);
    float* angle = normal(2 * pair + 1);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) {
      radius[i] = sqrtf(-2.0f * logf(open_uniform(a[i])));
      angle[i] = 6.28318530717958647692f * open_uniform(b[i]);
    }
    // The angle's slot receives the sine; the cosine goes to scratch first.
    float* cosine = scratch.data();
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) cosine[i] = radius[i] * cosf(angle[i]);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) angle[i] = radius[i] * sinf(angle[i]);
    std::copy_n(cosine, width, radius);
  }

  std::vector<uint32_t> words;
  std::vector<float> normals;
  std::vector<float> scratch;
  int64_t width;
  BilinearTaps taps{width};
};

// Calls fn(sample, row, values, random) for every image row of the batch: `values`
// points at the row's first value in channel 0 (channels are plane() apart) and
// `random` is the chunk's scratch. Rows are the unit of work.
template <typename Fn>
void for_each_row(const Batch& images, int num_threads, Fn fn) {
  cpu::parallel_for(images.samples * images.height, num_threads, [&](int64_t begin, int64_t end) {
    RowRandom random(images.width);
    for (int64_t image_row = begin; image_row < end; ++image_row) {
      const int64_t sample = image_row / images.height;
      const int64_t row = image_row % images.height;
      fn(sample, row, images.data + sample * images.sample_size() + row * images.width, random);
    }
  });
}

}  // namespace

void gaussian_noise_cpu(const Batch& images, const int64_t* seeds, const float* variances, NoiseKind kind,
                        int num_threads) {
  const int64_t plane = images.plane();
  const int64_t width = images.width;
  for_each_row(images, num_threads, [&](int64_t sample, int64_t row, float* values, RowRandom& random) {
    // The draws of pixel_normals: normals 0, 1 from words x, y and normal 2 from z, w.
    random.draw(static_cast<uint64_t>(seeds[sample]), row * width, 0);
    random.normals_from_words(0);
    random.normals_from_words(1);
    const float std = sqrtf(variances[sample]);
    float* r = values;
    float* g = values + plane;
    float* b = values + 2 * plane;
    const float* n0 = random.normal(0);
    const float* n1 = random.normal(1);
    const float* n2 = random.normal(2);
    switch (kind) {
      case NoiseKind::kAdditiveYCbCr:
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) {
          float y, cb, cr;
          rgb_to_ycbcr(r[i], g[i], b[i], &y, &cb, &cr);
          ycbcr_to_rgb(y + std * n0[i], cb + std * n1[i], cr + std * n2[i], &r[i], &g[i], &b[i]);
          r[i] = clamp01(r[i]), g[i] = clamp01(g[i]), b[i] = clamp01(b[i]);
        }
        break;
      case NoiseKind::kMultiplicative:
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) {
          r[i] = clamp01(r[i] * (1.0f + std * n0[i]));
          g[i] = clamp01(g[i] * (1.0f + std * n1[i]));
          b[i] = clamp01(b[i] * (1.0f + std * n2[i]));
        }
        break;
      case NoiseKind::kAdditive:
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) {
          r[i] = clamp01(r[i] + std * n0[i]);
          g[i] = clamp01(g[i] + std * n1[i]);
          b[i] = clamp01(b[i] + std * n2[i]);
        }
        break;
    }
  });
}

void impulse_noise_cpu(const Batch& images, const int64_t* seeds, const float* densities, int num_threads) {
  const int64_t plane = images.plane();
  const int64_t width = images.width;
  for_each_row(images, num_threads, [&](int64_t sample, int64_t row, float* values, RowRandom& random) {
    random.draw(static_cast<uint64_t>(seeds[sample]), row * width, 0);
    const float density = densities[sample];
    for (int c = 0; c < 3; ++c) {
      const uint32_t* draws = random.word(c);
      float* channel = values + c * plane;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        const float u = open_uniform(draws[i]);
        channel[i] = u < density ? (u < 0.5f * density ? 1.0f : 0.0f) : channel[i];
      }
    }
  });
}

void jitter_cpu(const Batch& images, float* out, const int64_t* seeds, const float* stds, int rounds,
                int num_threads) {
  const int64_t plane = images.plane();
  const int64_t width = images.width;
  const int height = static_cast<int>(images.height);
  // Ping-pong between the two buffers, starting so that the last round writes `out`.
  float* source = images.data;
  float* target = out;
  if (rounds % 2 == 0) {
    std::copy(images.data, images.data + images.size(), out);
    std::swap(source, target);
  }
  for (int round = 0; round < rounds; ++round) {
    const Batch from{source, images.samples, images.channels, images.height, images.width};
    for_each_row(from, num_threads, [&](int64_t sample, int64_t row, float*, RowRandom& random) {
      // The draws of the CUDA kernel: (dy, dx) from words x, y of the pixel in this round.
      random.draw(static_cast<uint64_t>(seeds[sample]), row * width, static_cast<uint32_t>(round));
      random.normals_from_words(0);
      random.taps.locate(row, height, width, stds[sample], random.normal(0), random.normal(1));
      const int64_t offset = sample * images.sample_size();
      for (int c = 0; c < images.channels; ++c) {
        random.taps.sample(source + offset + c * plane, target + offset + c * plane + row * width, width);
      }
    });
    std::swap(source, target);
  }
}

}  // namespace arniqa_edge::distort
