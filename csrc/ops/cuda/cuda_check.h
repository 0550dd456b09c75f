// CUDA runtime errors become std::runtime_error (RuntimeError in Python).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace arniqa_edge::cuda {

inline void check(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // reset the runtime's last-error state for the next call
  throw std::runtime_error(std::string("CUDA error in ") + call + ": " + cudaGetErrorString(status));
}

}  // namespace arniqa_edge::cuda

#define ARNIQA_CUDA_CHECK(call) ::arniqa_edge::cuda::check((call), #call)
