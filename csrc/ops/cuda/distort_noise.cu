// Random per-pixel distortions on CUDA: Gaussian and impulse noise, jitter. One
// thread per pixel; the random numbers are those of ops/cpu/distort_noise.cpp.
#include <utility>

#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"
#include "ops/distort_math.h"
#include "ops/distort_random.h"

namespace arniqa_edge::distort {
namespace {

using namespace cuda_launch;

#define ARNIQA_FOR_EACH_PIXEL(index, count) \
  for (int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; index < (count); \
       index += int64_t{gridDim.x} * blockDim.x)

__global__ void gaussian_noise_kernel(float* images, int64_t pixels, int64_t plane, const int64_t* seeds,
                                      const float* variances, NoiseKind kind) {
  ARNIQA_FOR_EACH_PIXEL(index, pixels) {
    const int64_t sample = index / plane;
    const int64_t pixel = index % plane;
    float* p = images + sample * 3 * plane + pixel;
    float noise[3];
    pixel_normals(static_cast<uint64_t>(seeds[sample]), pixel, 0, noise);
    const float std = sqrtf(variances[sample]);
    if (kind == NoiseKind::kAdditiveYCbCr) {
      float y, cb, cr, r, g, b;
      rgb_to_ycbcr(p[0], p[plane], p[2 * plane], &y, &cb, &cr);
      ycbcr_to_rgb(y + std * noise[0], cb + std * noise[1], cr + std * noise[2], &r, &g, &b);
      p[0] = clamp01(r), p[plane] = clamp01(g), p[2 * plane] = clamp01(b);
      continue;
    }
    for (int c = 0; c < 3; ++c) {
      const float value = p[c * plane];
      p[c * plane] =
          clamp01(kind == NoiseKind::kMultiplicative ? value * (1.0f + std * noise[c]) : value + std * noise[c]);
    }
  }
}

__global__ void impulse_noise_kernel(float* images, int64_t pixels, int64_t plane, const int64_t* seeds,
                                     const float* densities) {
  ARNIQA_FOR_EACH_PIXEL(index, pixels) {
    const int64_t sample = index / plane;
    const int64_t pixel = index % plane;
    float* p = images + sample * 3 * plane + pixel;
    const Philox4 words = pixel_random(static_cast<uint64_t>(seeds[sample]), pixel, 0);
    const uint32_t draws[3] = {words.x, words.y, words.z};
    const float density = densities[sample];
    for (int c = 0; c < 3; ++c) {
      const float u = open_uniform(draws[c]);
      if (u < density) p[c * plane] = u < 0.5f * density ? 1.0f : 0.0f;
    }
  }
}

__global__ void jitter_round_kernel(const float* source, float* target, int64_t pixels, int channels, int height,
                                    int width, const int64_t* seeds, const float* stds, uint32_t round) {
  const int64_t plane = int64_t{height} * width;
  ARNIQA_FOR_EACH_PIXEL(index, pixels) {
    const int64_t sample = index / plane;
    const int64_t pixel = index % plane;
    const Philox4 words = pixel_random(static_cast<uint64_t>(seeds[sample]), pixel, round);
    float dy, dx;
    normal_pair(words.x, words.y, &dy, &dx);
    const float row = static_cast<float>(pixel / width) - stds[sample] * dy;
    const float col = static_cast<float>(pixel % width) - stds[sample] * dx;
    const int64_t offset = sample * channels * plane;
    for (int c = 0; c < channels; ++c) {
      target[offset + c * plane + pixel] =
          clamp01(sample_bilinear(source + offset + c * plane, height, width, row, col));
    }
  }
}

#undef ARNIQA_FOR_EACH_PIXEL

}  // namespace

void gaussian_noise_cuda(const Batch& images, const int64_t* seeds, const float* variances, NoiseKind kind,
                         std::uintptr_t stream) {
  const int64_t pixels = images.samples * images.plane();
  if (pixels == 0) return;
  gaussian_noise_kernel<<<blocks_for(pixels), kThreads, 0, as_stream(stream)>>>(images.data, pixels, images.plane(),
                                                                                 seeds, variances, kind);
  check_launch("gaussian_noise_kernel");
}

void impulse_noise_cuda(const Batch& images, const int64_t* seeds, const float* densities, std::uintptr_t stream) {
  const int64_t pixels = images.samples * images.plane();
  if (pixels == 0) return;
  impulse_noise_kernel<<<blocks_for(pixels), kThreads, 0, as_stream(stream)>>>(images.data, pixels, images.plane(),
                                                                                seeds, densities);
  check_launch("impulse_noise_kernel");
}

void jitter_cuda(const Batch& images, float* out, const int64_t* seeds, const float* stds, int rounds,
                 std::uintptr_t stream) {
  const int64_t pixels = images.samples * images.plane();
  // Ping-pong between the two buffers, starting so that the last round writes `out`.
  float* source = images.data;
  float* target = out;
  if (rounds % 2 == 0) {
    ARNIQA_CUDA_CHECK(cudaMemcpyAsync(out, images.data, images.size() * sizeof(float), cudaMemcpyDeviceToDevice,
                                      as_stream(stream)));
    std::swap(source, target);
  }
  if (pixels == 0) return;
  for (int round = 0; round < rounds; ++round) {
    jitter_round_kernel<<<blocks_for(pixels), kThreads, 0, as_stream(stream)>>>(
        source, target, pixels, static_cast<int>(images.channels), static_cast<int>(images.height),
        static_cast<int>(images.width), seeds, stds, static_cast<uint32_t>(round));
    check_launch("jitter_round_kernel");
    std::swap(source, target);
  }
}

}  // namespace arniqa_edge::distort
