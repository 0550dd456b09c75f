// Stream ordering for arrays whose exporter reports pending work on another stream
// (__cuda_array_interface__ v3).
#include "ops/cuda/distort_launch.h"
#include "ops/distort.h"

namespace arniqa_edge::distort {

void wait_for_streams_cuda(std::uintptr_t stream, const std::vector<std::uintptr_t>& producers) {
  // 0 and 1 both name the legacy default stream.
  const auto canonical = [](std::uintptr_t s) { return s == 0 ? std::uintptr_t{1} : s; };
  for (const std::uintptr_t producer : producers) {
    if (canonical(producer) == canonical(stream)) continue;
    cudaEvent_t ready;
    ARNIQA_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    ARNIQA_CUDA_CHECK(cudaEventRecord(ready, cuda_launch::as_stream(producer)));
    ARNIQA_CUDA_CHECK(cudaStreamWaitEvent(cuda_launch::as_stream(stream), ready, 0));
    ARNIQA_CUDA_CHECK(cudaEventDestroy(ready));  // released once the wait is satisfied
  }
}

}  // namespace arniqa_edge::distort
