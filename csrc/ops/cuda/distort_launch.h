// Launch helpers shared by the distortion CUDA kernels.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "ops/cuda/cuda_check.h"

namespace arniqa_edge::distort::cuda_launch {

constexpr int kThreads = 256;

inline cudaStream_t as_stream(std::uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

// Blocks for a grid-stride loop over `count` items; capped, since each thread loops.
inline unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((count + kThreads - 1) / kThreads, 65535)));
}

// Turns a failed launch into a Python RuntimeError.
inline void check_launch(const char* kernel) { ::arniqa_edge::cuda::check(cudaGetLastError(), kernel); }

}  // namespace arniqa_edge::distort::cuda_launch
