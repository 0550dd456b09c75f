// What the CUDA build can report without touching a GPU.
#include <cuda_runtime.h>

#include "ops/preprocess.h"

namespace arniqa_edge {

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: report none
    return 0;
  }
  return count;
}

int cuda_runtime_version() { return CUDART_VERSION; }

std::vector<int> cuda_architectures() {
#if defined(__CUDA_ARCH_LIST__)
  std::vector<int> architectures = {__CUDA_ARCH_LIST__};  // nvcc's list, e.g. 870,890,900
  for (int& architecture : architectures) architecture /= 10;
  return architectures;
#else
  return {};
#endif
}

}  // namespace arniqa_edge
