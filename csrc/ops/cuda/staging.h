// Device copies of host frames, for callers that decode on the CPU and run the
// model on the GPU.
#pragma once

#include <cuda_runtime.h>

#include <mutex>

#include "ops/preprocess.h"

namespace arniqa_edge::cuda {

// One reusable device buffer per GPU. Callers hold staging_mutex() from upload()
// to release_after(), so that an upload (maybe on another stream) first waits for
// the kernels still reading the previous frame.
class StagingBuffer {
 public:
  // The buffer of the current device.
  static StagingBuffer& current();

  // Enqueues on `stream` the copy of a host frame and returns the device copy,
  // packed (row stride 3 * width). From pageable memory the copy is done when this
  // returns; from pinned memory the frame must stay unchanged until `stream` ran it.
  FrameView upload(const FrameView& frame, cudaStream_t stream);

  // Marks the work enqueued on `stream` so far as the last reader of the buffer.
  void release_after(cudaStream_t stream);

 private:
  void reserve(size_t bytes);

  void* data_ = nullptr;
  size_t bytes_ = 0;
  cudaEvent_t last_reader_ = nullptr;
};

std::mutex& staging_mutex();

}  // namespace arniqa_edge::cuda
