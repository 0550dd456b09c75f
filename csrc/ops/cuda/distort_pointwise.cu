// Per-sample pointwise distortions on CUDA: tone curves, HSV saturation and
// quantization. Same arithmetic as ops/cpu/distort_pointwise.cpp.
#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

using namespace cuda_launch;

__global__ void tone_curve_kernel(float* values, int64_t count, int64_t per_sample, const float* knots,
                                  const float* coefficients) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t sample = i / per_sample;
    values[i] = eval_curve(values[i], knots + sample * kCurvePieces, coefficients + sample * kCurvePieces * 4);
  }
}

__global__ void saturate_hsv_kernel(float* images, int64_t pixels, int64_t plane, const float* factors) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < pixels; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t sample = i / plane;
    float* p = images + sample * 3 * plane + i % plane;
    const float value = fmaxf(p[0], fmaxf(p[plane], p[2 * plane]));
    for (int c = 0; c < 3; ++c) p[c * plane] = clamp01(value + factors[sample] * (p[c * plane] - value));
  }
}

// One block per sample: reduce the lowest and highest bin, then stretch.
__global__ void quantize_kernel(float* images, int64_t per_sample, const int32_t* levels) {
  __shared__ int low[kThreads];
  __shared__ int high[kThreads];
  float* values = images + blockIdx.x * per_sample;
  const int level_count = levels[blockIdx.x];
  int my_low = 1 << 30, my_high = -1;
  for (int64_t i = threadIdx.x; i < per_sample; i += blockDim.x) {
    const int bin = quantization_bin(values[i], level_count);
    my_low = min(my_low, bin);
    my_high = max(my_high, bin);
  }
  low[threadIdx.x] = my_low;
  high[threadIdx.x] = my_high;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      low[threadIdx.x] = min(low[threadIdx.x], low[threadIdx.x + stride]);
      high[threadIdx.x] = max(high[threadIdx.x], high[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  const float offset = static_cast<float>(low[0]);
  const float range = static_cast<float>(high[0] - low[0]);
  for (int64_t i = threadIdx.x; i < per_sample; i += blockDim.x) {
    const float bin = static_cast<float>(quantization_bin(values[i], level_count));
    values[i] = range > 0.0f ? (bin - offset) / range : clamp01(bin);
  }
}

}  // namespace

void tone_curve_cuda(const Batch& images, const ToneCurves& curves, std::uintptr_t stream) {
  if (images.size() == 0) return;
  tone_curve_kernel<<<blocks_for(images.size()), kThreads, 0, as_stream(stream)>>>(
      images.data, images.size(), images.sample_size(), curves.knots, curves.coefficients);
  check_launch("tone_curve_kernel");
}

void saturate_hsv_cuda(const Batch& images, const float* factors, std::uintptr_t stream) {
  const int64_t pixels = images.samples * images.plane();
  if (pixels == 0) return;
  saturate_hsv_kernel<<<blocks_for(pixels), kThreads, 0, as_stream(stream)>>>(images.data, pixels, images.plane(),
                                                                               factors);
  check_launch("saturate_hsv_kernel");
}

void quantize_cuda(const Batch& images, const int32_t* levels, std::uintptr_t stream) {
  if (images.size() == 0) return;
  quantize_kernel<<<static_cast<unsigned>(images.samples), kThreads, 0, as_stream(stream)>>>(
      images.data, images.sample_size(), levels);
  check_launch("quantize_kernel");
}

}  // namespace arniqa_edge::distort
