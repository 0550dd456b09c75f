// Patch distortions on CUDA: one thread block per image walks its patches in order
// (a later patch may read what an earlier one wrote), the block's threads covering
// the pixels of one patch.
#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"

namespace arniqa_edge::distort {
namespace {

using namespace cuda_launch;

// In 64 bits: a corner near INT_MAX plus the size must not wrap around to a small sum.
__device__ bool fits(int row, int col, int size, int height, int width) {
  return row >= 0 && col >= 0 && int64_t{row} + size <= height && int64_t{col} + size <= width;
}

__global__ void copy_patches_kernel(float* images, int channels, int height, int width, const int32_t* boxes,
                                    const int32_t* counts, int capacity, int size) {
  extern __shared__ float patch[];  // channels * size * size
  const int64_t plane = int64_t{height} * width;
  float* image = images + blockIdx.x * channels * plane;
  const int patch_values = channels * size * size;
  const int count = min(counts[blockIdx.x], capacity);
  for (int m = 0; m < count; ++m) {
    const int32_t* box = boxes + (int64_t{blockIdx.x} * capacity + m) * 4;
    if (!fits(box[0], box[1], size, height, width) || !fits(box[2], box[3], size, height, width)) continue;
    for (int i = threadIdx.x; i < patch_values; i += blockDim.x) {
      const int c = i / (size * size), r = i / size % size, col = i % size;
      patch[i] = image[c * plane + (box[0] + r) * int64_t{width} + box[1] + col];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < patch_values; i += blockDim.x) {
      const int c = i / (size * size), r = i / size % size, col = i % size;
      image[c * plane + (box[2] + r) * int64_t{width} + box[3] + col] = patch[i];
    }
    __syncthreads();
  }
}

__global__ void fill_blocks_kernel(float* images, int channels, int height, int width, const int32_t* boxes,
                                   const int32_t* counts, int capacity, int size, const float* colors) {
  const int64_t plane = int64_t{height} * width;
  float* image = images + blockIdx.x * channels * plane;
  const int block_values = channels * size * size;
  const int count = min(counts[blockIdx.x], capacity);
  for (int b = 0; b < count; ++b) {
    const int64_t slot = int64_t{blockIdx.x} * capacity + b;
    const int32_t* box = boxes + slot * 2;
    if (!fits(box[0], box[1], size, height, width)) continue;
    for (int i = threadIdx.x; i < block_values; i += blockDim.x) {
      const int c = i / (size * size), r = i / size % size, col = i % size;
      image[c * plane + (box[0] + r) * int64_t{width} + box[1] + col] = colors[slot * channels + c];
    }
    __syncthreads();  // overlapping blocks: the later one wins
  }
}

}  // namespace

void copy_patches_cuda(const Batch& images, const PatchList& moves, std::uintptr_t stream) {
  if (images.samples == 0) return;
  const size_t shared_bytes = sizeof(float) * images.channels * moves.size * moves.size;
  copy_patches_kernel<<<static_cast<unsigned>(images.samples), kThreads, shared_bytes, as_stream(stream)>>>(
      images.data, static_cast<int>(images.channels), static_cast<int>(images.height), static_cast<int>(images.width),
      moves.boxes, moves.counts, moves.capacity, moves.size);
  check_launch("copy_patches_kernel");
}

void fill_blocks_cuda(const Batch& images, const PatchList& blocks, const float* colors, std::uintptr_t stream) {
  if (images.samples == 0) return;
  fill_blocks_kernel<<<static_cast<unsigned>(images.samples), kThreads, 0, as_stream(stream)>>>(
      images.data, static_cast<int>(images.channels), static_cast<int>(images.height), static_cast<int>(images.width),
      blocks.boxes, blocks.counts, blocks.capacity, blocks.size, colors);
  check_launch("fill_blocks_kernel");
}

}  // namespace arniqa_edge::distort
