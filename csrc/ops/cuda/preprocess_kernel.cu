// CUDA kernel of the preprocessing op: one launch per scale, one thread per output
// pixel (all three channels), crops in blockIdx.z. The half-scale thread computes
// its antialias taps on the fly and reads its <= 8x8 footprint straight from the
// frame, so only the pixels inside the crops are ever computed.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "ops/antialias.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/staging.h"
#include "ops/preprocess.h"

namespace arniqa_edge {
namespace {

// Kernel arguments, passed by value.
struct DeviceFrame {
  const uint8_t* data;
  int height;
  int width;
  int64_t row_stride;
  bool bgr;
};

// Channels in the frame's byte order -> R, G, B. Selects, not indexing, so that the
// arrays stay in registers.
__device__ void to_rgb(const float in[3], bool bgr, float rgb[3]) {
  rgb[0] = bgr ? in[2] : in[0];
  rgb[1] = in[1];
  rgb[2] = bgr ? in[0] : in[2];
}

struct DeviceCrops {
  int count;
  int crop_height;
  int crop_width;
  int image_height;  // the whole image at this scale
  int image_width;
  int top[kMaxCrops];
  int left[kMaxCrops];
};

struct DeviceNorm {
  float scale[3];
  float bias[3];
};

template <typename T>
__device__ T to_output(float value);
template <>
__device__ float to_output<float>(float value) {
  return value;
}
template <>
__device__ __half to_output<__half>(float value) {
  return __float2half_rn(value);
}

// Writes the three channels of output pixel (x, y) of crop n.
template <typename T>
__device__ void store_pixel(T* out, const DeviceCrops& crops, int n, int x, int y, const float rgb[3],
                            const DeviceNorm& norm) {
  const int64_t plane = static_cast<int64_t>(crops.crop_height) * crops.crop_width;
  T* dst = out + n * 3 * plane + static_cast<int64_t>(y) * crops.crop_width + x;
#pragma unroll
  for (int c = 0; c < 3; ++c) dst[c * plane] = to_output<T>(rgb[c] * norm.scale[c] + norm.bias[c]);
}

template <typename T>
__global__ void full_scale_kernel(DeviceFrame frame, DeviceCrops crops, DeviceNorm norm, T* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int n = blockIdx.z;
  if (x >= crops.crop_width || y >= crops.crop_height) return;
  const uint8_t* pixel = frame.data + static_cast<int64_t>(crops.top[n] + y) * frame.row_stride +
                         static_cast<int64_t>(crops.left[n] + x) * 3;
  const float in[3] = {static_cast<float>(pixel[0]), static_cast<float>(pixel[1]), static_cast<float>(pixel[2])};
  float rgb[3];
  to_rgb(in, frame.bgr, rgb);
  store_pixel(out, crops, n, x, y, rgb, norm);
}

template <typename T>
__global__ void half_scale_kernel(DeviceFrame frame, DeviceCrops crops, DeviceNorm norm, T* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int n = blockIdx.z;
  if (x >= crops.crop_width || y >= crops.crop_height) return;
  const AntialiasTaps rows = antialias_taps(crops.top[n] + y, frame.height, crops.image_height);
  const AntialiasTaps cols = antialias_taps(crops.left[n] + x, frame.width, crops.image_width);

  float sum[3] = {0.0f, 0.0f, 0.0f};
#pragma unroll
  for (int i = 0; i < kMaxAntialiasTaps; ++i) {
    if (i >= rows.count) break;
    const uint8_t* row = frame.data + static_cast<int64_t>(rows.first + i) * frame.row_stride +
                         static_cast<int64_t>(cols.first) * 3;
    float row_sum[3] = {0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int j = 0; j < kMaxAntialiasTaps; ++j) {
      if (j >= cols.count) break;
#pragma unroll
      for (int c = 0; c < 3; ++c) row_sum[c] += cols.weights[j] * static_cast<float>(row[3 * j + c]);
    }
#pragma unroll
    for (int c = 0; c < 3; ++c) sum[c] += rows.weights[i] * row_sum[c];
  }
  float rgb[3];
  to_rgb(sum, frame.bgr, rgb);
  store_pixel(out, crops, n, x, y, rgb, norm);
}

DeviceCrops device_crops(const ScaleCrops& crops) {
  DeviceCrops result{};
  result.count = crops.count;
  result.crop_height = crops.crop.height;
  result.crop_width = crops.crop.width;
  result.image_height = crops.image.height;
  result.image_width = crops.image.width;
  for (int i = 0; i < kMaxCrops; ++i) {
    result.top[i] = crops.top[i];
    result.left[i] = crops.left[i];
  }
  return result;
}

template <typename T>
void launch(const DeviceFrame& frame, const PreprocessArgs& args, cudaStream_t stream) {
  DeviceNorm norm{};
  for (int c = 0; c < 3; ++c) {
    norm.scale[c] = args.norm.scale[c];
    norm.bias[c] = args.norm.bias[c];
  }
  const dim3 block(32, 8);
  const auto grid = [&](const ScaleCrops& crops) {
    return dim3((crops.crop.width + block.x - 1) / block.x, (crops.crop.height + block.y - 1) / block.y,
                crops.count);
  };
  full_scale_kernel<T><<<grid(args.plan.full), block, 0, stream>>>(frame, device_crops(args.plan.full), norm,
                                                                     static_cast<T*>(args.out_full));
  ARNIQA_CUDA_CHECK(cudaGetLastError());
  half_scale_kernel<T><<<grid(args.plan.half), block, 0, stream>>>(frame, device_crops(args.plan.half), norm,
                                                                     static_cast<T*>(args.out_half));
  ARNIQA_CUDA_CHECK(cudaGetLastError());
}

// Device owning `pointer`; throws std::invalid_argument for host memory.
int device_of(const void* pointer, const char* name) {
  cudaPointerAttributes attributes{};
  ARNIQA_CUDA_CHECK(cudaPointerGetAttributes(&attributes, pointer));
  if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged) {
    throw std::invalid_argument(std::string(name) + " is not CUDA device memory");
  }
  return attributes.device;
}

// Makes `device` current for the lifetime of the guard.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    ARNIQA_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) ARNIQA_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// Stream handles as integers. The array protocols use 1 and 2 for the legacy and
// per-thread default streams; our callers' 0 is the legacy default stream too.
cudaStream_t stream_from_handle(std::uintptr_t handle) {
  if (handle == 0 || handle == 1) return cudaStreamLegacy;
  if (handle == 2) return cudaStreamPerThread;
  return reinterpret_cast<cudaStream_t>(handle);
}

// Orders `stream` after the work already enqueued on `producer`.
void wait_for(cudaStream_t stream, cudaStream_t producer) {
  if (producer == stream) return;
  cudaEvent_t event;
  ARNIQA_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const cudaError_t recorded = cudaEventRecord(event, producer);
  const cudaError_t waited = recorded == cudaSuccess ? cudaStreamWaitEvent(stream, event, 0) : recorded;
  cudaEventDestroy(event);  // released once the wait is satisfied
  ARNIQA_CUDA_CHECK(waited);
}

}  // namespace

void preprocess_cuda(const PreprocessArgs& args, bool frame_in_host_memory, std::uintptr_t stream_handle,
                     const std::vector<std::uintptr_t>& producer_streams) {
  const int device = device_of(args.out_full, "out_full");
  if (device_of(args.out_half, "out_half") != device) {
    throw std::invalid_argument("out_full and out_half must be on the same CUDA device");
  }
  if (!frame_in_host_memory && device_of(args.frame.data, "frame") != device) {
    throw std::invalid_argument("frame and the outputs must be on the same CUDA device");
  }
  DeviceGuard guard(device);
  const cudaStream_t stream = stream_from_handle(stream_handle);
  for (std::uintptr_t producer : producer_streams) wait_for(stream, stream_from_handle(producer));

  std::optional<std::lock_guard<std::mutex>> staging_lock;
  FrameView frame = args.frame;
  if (frame_in_host_memory) {
    staging_lock.emplace(cuda::staging_mutex());
    frame = cuda::StagingBuffer::current().upload(args.frame, stream);
  }
  const DeviceFrame device_frame{frame.data, frame.size.height, frame.size.width, frame.row_stride,
                                 frame.order == ChannelOrder::kBGR};
  try {
    if (args.dtype == OutputDType::kFloat32) {
      launch<float>(device_frame, args, stream);
    } else {
      launch<__half>(device_frame, args, stream);
    }
  } catch (...) {
    if (frame_in_host_memory) cuda::StagingBuffer::current().release_after(stream);
    throw;
  }
  if (frame_in_host_memory) cuda::StagingBuffer::current().release_after(stream);
}

}  // namespace arniqa_edge
