// Colour-space conversions of RGB batches on CUDA, in place; the per-pixel
// arithmetic of ops/cpu/distort_color.cpp (ops/distort_math.h).
#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

using namespace cuda_launch;

template <bool kToLab>
__global__ void convert_kernel(float* images, int64_t pixels, int64_t plane) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < pixels; i += int64_t{gridDim.x} * blockDim.x) {
    float* p = images + (i / plane) * 3 * plane + i % plane;
    if (kToLab) {
      rgb_to_lab(p[0], p[plane], p[2 * plane], &p[0], &p[plane], &p[2 * plane]);
    } else {
      lab_to_rgb(p[0], p[plane], p[2 * plane], &p[0], &p[plane], &p[2 * plane]);
    }
  }
}

template <bool kToLab>
void convert(const Batch& images, std::uintptr_t stream) {
  const int64_t pixels = images.samples * images.plane();
  if (pixels == 0) return;
  convert_kernel<kToLab><<<blocks_for(pixels), kThreads, 0, as_stream(stream)>>>(images.data, pixels, images.plane());
  check_launch(kToLab ? "rgb_to_lab_kernel" : "lab_to_rgb_kernel");
}

}  // namespace

void rgb_to_lab_cuda(const Batch& images, std::uintptr_t stream) { convert<true>(images, stream); }
void lab_to_rgb_cuda(const Batch& images, std::uintptr_t stream) { convert<false>(images, stream); }

}  // namespace arniqa_edge::distort
