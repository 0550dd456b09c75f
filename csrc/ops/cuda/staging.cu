#include "ops/cuda/staging.h"

#include <map>

#include "ops/cuda/cuda_check.h"

namespace arniqa_edge::cuda {

std::mutex& staging_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Buffers live for the process: freeing device memory during interpreter shutdown,
// possibly after the driver has unloaded, would be worse than leaking it.
StagingBuffer& StagingBuffer::current() {
  static auto* buffers = new std::map<int, StagingBuffer>();
  int device = 0;
  ARNIQA_CUDA_CHECK(cudaGetDevice(&device));
  return (*buffers)[device];
}

void StagingBuffer::reserve(size_t bytes) {
  if (last_reader_ == nullptr) {
    ARNIQA_CUDA_CHECK(cudaEventCreateWithFlags(&last_reader_, cudaEventDisableTiming));
  }
  if (bytes <= bytes_) return;
  ARNIQA_CUDA_CHECK(cudaEventSynchronize(last_reader_));
  if (data_ != nullptr) ARNIQA_CUDA_CHECK(cudaFree(data_));
  data_ = nullptr;
  bytes_ = 0;
  ARNIQA_CUDA_CHECK(cudaMalloc(&data_, bytes));
  bytes_ = bytes;
}

FrameView StagingBuffer::upload(const FrameView& frame, cudaStream_t stream) {
  const size_t row_bytes = static_cast<size_t>(frame.size.width) * 3;
  reserve(row_bytes * frame.size.height);
  ARNIQA_CUDA_CHECK(cudaStreamWaitEvent(stream, last_reader_, 0));
  ARNIQA_CUDA_CHECK(cudaMemcpy2DAsync(data_, row_bytes, frame.data, static_cast<size_t>(frame.row_stride),
                                      row_bytes, frame.size.height, cudaMemcpyHostToDevice, stream));
  FrameView device_frame = frame;
  device_frame.data = static_cast<const uint8_t*>(data_);
  device_frame.row_stride = static_cast<int64_t>(row_bytes);
  return device_frame;
}

void StagingBuffer::release_after(cudaStream_t stream) {
  ARNIQA_CUDA_CHECK(cudaEventRecord(last_reader_, stream));
}

}  // namespace arniqa_edge::cuda
