// Random per-pixel distortions on the CPU: Gaussian and impulse noise, jitter. The
// random numbers come from distort_random.h, keyed by the sample's seed and counted
// by pixel, so they match the CUDA kernels for the same seeds.
#include <algorithm>
#include <utility>

#include "ops/cpu/parallel.h"
#include "ops/distort.h"
#include "ops/distort_math.h"
#include "ops/distort_random.h"

namespace arniqa_edge::distort {
namespace {

// Calls fn(sample, row, pixel, p) for every pixel of the batch, row by row: `pixel`
// is its index in the image plane and p points at its first channel (channels are
// plane() apart). Rows are the unit of work so the inner loop has no divisions.
template <typename Fn>
void for_each_pixel(const Batch& images, int num_threads, Fn fn) {
  cpu::parallel_for(images.samples * images.height, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t image_row = begin; image_row < end; ++image_row) {
      const int64_t sample = image_row / images.height;
      const int64_t row = image_row % images.height;
      float* first = images.data + sample * images.sample_size() + row * images.width;
      for (int64_t col = 0; col < images.width; ++col) fn(sample, row, row * images.width + col, first + col);
    }
  });
}

}  // namespace

void gaussian_noise_cpu(const Batch& images, const int64_t* seeds, const float* variances, NoiseKind kind,
                        int num_threads) {
  const int64_t plane = images.plane();
  for_each_pixel(images, num_threads, [&](int64_t sample, int64_t, int64_t pixel, float* p) {
    float noise[3];
    pixel_normals(static_cast<uint64_t>(seeds[sample]), pixel, 0, noise);
    const float std = sqrtf(variances[sample]);
    float& r = p[0];
    float& g = p[plane];
    float& b = p[2 * plane];
    if (kind == NoiseKind::kAdditiveYCbCr) {
      float y, cb, cr;
      rgb_to_ycbcr(r, g, b, &y, &cb, &cr);
      ycbcr_to_rgb(y + std * noise[0], cb + std * noise[1], cr + std * noise[2], &r, &g, &b);
      r = clamp01(r), g = clamp01(g), b = clamp01(b);
      return;
    }
    for (int c = 0; c < 3; ++c) {
      float& value = p[c * plane];
      value = clamp01(kind == NoiseKind::kMultiplicative ? value * (1.0f + std * noise[c]) : value + std * noise[c]);
    }
  });
}

void impulse_noise_cpu(const Batch& images, const int64_t* seeds, const float* densities, int num_threads) {
  const int64_t plane = images.plane();
  for_each_pixel(images, num_threads, [&](int64_t sample, int64_t, int64_t pixel, float* p) {
    const Philox4 words = pixel_random(static_cast<uint64_t>(seeds[sample]), pixel, 0);
    const uint32_t draws[3] = {words.x, words.y, words.z};
    const float density = densities[sample];
    for (int c = 0; c < 3; ++c) {
      const float u = open_uniform(draws[c]);
      if (u < density) p[c * plane] = u < 0.5f * density ? 1.0f : 0.0f;
    }
  });
}

void jitter_cpu(const Batch& images, float* out, const int64_t* seeds, const float* stds, int rounds,
                int num_threads) {
  const int64_t plane = images.plane();
  const int height = static_cast<int>(images.height);
  const int width = static_cast<int>(images.width);
  // Ping-pong between the two buffers, starting so that the last round writes `out`.
  float* source = images.data;
  float* target = out;
  if (rounds % 2 == 0) {
    std::copy(images.data, images.data + images.size(), out);
    std::swap(source, target);
  }
  for (int round = 0; round < rounds; ++round) {
    const Batch from{source, images.samples, images.channels, images.height, images.width};
    for_each_pixel(from, num_threads, [&](int64_t sample, int64_t row, int64_t pixel, float*) {
      const Philox4 words = pixel_random(static_cast<uint64_t>(seeds[sample]), pixel, round);
      float dy, dx;
      normal_pair(words.x, words.y, &dy, &dx);
      const float at_row = static_cast<float>(row) - stds[sample] * dy;
      const float at_col = static_cast<float>(pixel - row * width) - stds[sample] * dx;
      const int64_t offset = sample * images.sample_size();
      for (int c = 0; c < images.channels; ++c) {
        const float* plane_in = source + offset + c * plane;
        target[offset + c * plane + pixel] = clamp01(sample_bilinear(plane_in, height, width, at_row, at_col));
      }
    });
    std::swap(source, target);
  }
}

}  // namespace arniqa_edge::distort
