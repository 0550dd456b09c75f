// Filtering on CUDA, the arithmetic of ops/cpu/distort_filter.cpp with one thread per
// output value: separable (a row pass into scratch, a column pass back) and sparse.
#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

using namespace cuda_launch;

__device__ int64_t clamp_index(int64_t index, int extent) {
  return index < 0 ? 0 : (index >= extent ? extent - 1 : index);
}

// kRows: filter along rows (the row pass, stepping over columns) or along columns.
template <bool kRows>
__global__ void filter_pass_kernel(const float* in, float* out, int64_t count, int64_t per_sample, int height,
                                   int width, const float* taps, int size) {
  const int radius = size / 2;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const float* kernel = taps + (i / per_sample) * size;
    const int64_t plane_start = i - i % (int64_t{height} * width);
    const int col = static_cast<int>(i % width);
    const int row = static_cast<int>((i / width) % height);
    float sum = 0.0f;
    for (int k = 0; k < size; ++k) {
      const int at = (kRows ? col : row) + k - radius;
      const int clamped = at < 0 ? 0 : (at >= (kRows ? width : height) ? (kRows ? width : height) - 1 : at);
      sum += kernel[k] * in[plane_start + (kRows ? int64_t{row} * width + clamped : int64_t{clamped} * width + col)];
    }
    out[i] = sum;
  }
}

__global__ void sparse_filter_kernel(const float* in, float* out, int64_t count, int64_t per_sample, int height,
                                     int width, const float* taps, const int32_t* counts, int capacity) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t sample = i / per_sample;
    const int64_t plane_start = i - i % (int64_t{height} * width);
    const int col = static_cast<int>(i % width);
    const int row = static_cast<int>((i / width) % height);
    const float* tap = taps + sample * capacity * 3;
    const int count = min(counts[sample], capacity);  // counts are not checked
    float sum = 0.0f;
    for (int k = 0; k < count; ++k, tap += 3) {
      const int64_t at_row = row + tap_shift(tap[0], height);
      const int64_t at_col = col + tap_shift(tap[1], width);
      sum += tap[2] * in[plane_start + clamp_index(at_row, height) * width + clamp_index(at_col, width)];
    }
    out[i] = sum;
  }
}

}  // namespace

void sparse_filter_cuda(const Batch& images, float* out, const SparseTaps& taps, std::uintptr_t stream) {
  const int64_t count = images.size();
  if (count == 0) return;
  sparse_filter_kernel<<<blocks_for(count), kThreads, 0, as_stream(stream)>>>(
      images.data, out, count, images.sample_size(), static_cast<int>(images.height), static_cast<int>(images.width),
      taps.taps, taps.counts, taps.capacity);
  check_launch("sparse_filter_kernel");
}

void separable_filter_cuda(const Batch& images, float* scratch, const SeparableTaps& taps, std::uintptr_t stream) {
  const int64_t count = images.size();
  if (count == 0) return;
  const int height = static_cast<int>(images.height);
  const int width = static_cast<int>(images.width);
  filter_pass_kernel<true><<<blocks_for(count), kThreads, 0, as_stream(stream)>>>(
      images.data, scratch, count, images.sample_size(), height, width, taps.taps, taps.size);
  check_launch("separable_filter_kernel (rows)");
  filter_pass_kernel<false><<<blocks_for(count), kThreads, 0, as_stream(stream)>>>(
      scratch, images.data, count, images.sample_size(), height, width, taps.taps, taps.size);
  check_launch("separable_filter_kernel (columns)");
}

}  // namespace arniqa_edge::distort
