// The fused preprocessing op: one uint8 HxWx3 frame in, the ARNIQA encoder's two
// inputs out (full scale and antialiased half scale), cropped, normalised, NCHW RGB.
//
// This header is plain C++ (no Python, no CUDA) so the CPU and CUDA kernels and the
// Python glue share one description of the geometry.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace arniqa_edge {

enum class CropMode { kWhole, kCenter, kFive };
enum class ChannelOrder { kBGR, kRGB };
enum class OutputDType { kFloat32, kFloat16 };

struct Size {
  int height;
  int width;
};

constexpr int kMaxCrops = 5;

// The crops taken from one scale, in that scale's pixel coordinates.
struct ScaleCrops {
  Size image;  // the whole frame at this scale
  Size crop;   // size of every crop (the whole image for kWhole)
  int count;   // 1 or 5
  std::array<int, kMaxCrops> top;
  std::array<int, kMaxCrops> left;

  // Output tensor shape (count, 3, crop.height, crop.width).
  std::array<int64_t, 4> output_shape() const {
    return {count, 3, crop.height, crop.width};
  }
};

struct PreprocessPlan {
  ScaleCrops full;
  ScaleCrops half;  // crops of the (H/2, W/2) antialiased downscale of the whole frame
};

// out[c] = x * scale[c] + bias[c] for a uint8 value x, c in RGB order; the same as
// (x / 255 - mean[c]) / std[c] with one multiply-add per value.
struct Normalization {
  std::array<float, 3> scale;
  std::array<float, 3> bias;
};

// A packed-pixel uint8 frame: pixel stride 3 bytes, channel stride 1 byte.
struct FrameView {
  const uint8_t* data;
  Size size;
  int64_t row_stride;  // bytes, >= 3 * width (a crop view of a larger frame is fine)
  ChannelOrder order;
};

struct PreprocessArgs {
  FrameView frame;
  PreprocessPlan plan;
  Normalization norm;
  OutputDType dtype;
  void* out_full;  // C-contiguous plan.full.output_shape() of dtype
  void* out_half;  // C-contiguous plan.half.output_shape() of dtype
};

// Parsing and validation; all throw std::invalid_argument (ValueError in Python).
CropMode parse_crop_mode(const std::string& name);
ChannelOrder parse_channel_order(const std::string& name);
OutputDType parse_output_dtype(const std::string& name);
PreprocessPlan make_plan(Size frame, CropMode mode, int crop_size);
Normalization make_normalization(const std::array<double, 3>& mean,
                                 const std::array<double, 3>& std);

// Byte offset of the source channel feeding output channel c (R, G, B).
inline int source_channel(ChannelOrder order, int c) {
  return order == ChannelOrder::kBGR ? 2 - c : c;
}

// num_threads: 0 = all cores. Must be called without the GIL held (it blocks).
void preprocess_cpu(const PreprocessArgs& args, int num_threads);

#if defined(ARNIQA_EDGE_WITH_CUDA)
// Enqueues the op on `stream` (a cudaStream_t as an integer; 0 = default stream).
// A frame in host memory is first copied to a cached device staging buffer.
// `producer_streams` hold pending writes to the buffers: the op waits for them.
void preprocess_cuda(const PreprocessArgs& args, bool frame_in_host_memory, std::uintptr_t stream,
                     const std::vector<std::uintptr_t>& producer_streams);
int cuda_device_count();
// CUDA runtime version the module was compiled against, e.g. 13000.
int cuda_runtime_version();
// Architectures the kernels were compiled for, e.g. {87, 89, 90}.
std::vector<int> cuda_architectures();
#endif

}  // namespace arniqa_edge
