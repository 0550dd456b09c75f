#include "preprocess_py.h"

#include <climits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "interop/buffer_view.h"
#include "ops/preprocess.h"

namespace py = pybind11;

namespace arniqa_edge {
namespace {

using interop::BufferView;
using interop::Memory;
using interop::ScalarType;
using interop::shape_text;

std::string strides_text(const BufferView& view) {
  return shape_text(view.strides) + " bytes";
}

FrameView check_frame(const BufferView& view, ChannelOrder order) {
  if (view.dtype != ScalarType::kUInt8) throw py::type_error("frame must be uint8, got " + view.dtype_name);
  if (view.shape.size() != 3 || view.shape[2] != 3) {
    throw py::value_error("frame must have shape (H, W, 3), got " + shape_text(view.shape));
  }
  const int64_t height = view.shape[0];
  const int64_t width = view.shape[1];
  if (height > INT_MAX / 4 || width > INT_MAX / 4) {
    throw py::value_error("frame is too large: " + shape_text(view.shape));
  }
  if (view.strides[2] != 1 || (width > 1 && view.strides[1] != 3)) {
    throw py::value_error("frame pixels must be packed (pixel stride 3 bytes, channel stride 1 byte), got strides " +
                          strides_text(view) + "; pass numpy.ascontiguousarray(frame)");
  }
  if (height > 1 && view.strides[0] < 3 * width) {
    throw py::value_error("frame rows must be at least 3 * width bytes apart, got strides " + strides_text(view) +
                          "; pass numpy.ascontiguousarray(frame)");
  }
  return FrameView{static_cast<const uint8_t*>(view.data), Size{static_cast<int>(height), static_cast<int>(width)},
                   view.strides[0], order};
}

void check_output(const BufferView& view, const std::string& name, const std::array<int64_t, 4>& expected_shape,
                  OutputDType dtype) {
  const std::vector<int64_t> expected(expected_shape.begin(), expected_shape.end());
  const ScalarType expected_type = dtype == OutputDType::kFloat32 ? ScalarType::kFloat32 : ScalarType::kFloat16;
  const char* expected_name = dtype == OutputDType::kFloat32 ? "float32" : "float16";
  if (view.dtype != expected_type) {
    throw py::type_error(name + " must be " + expected_name + ", got " + view.dtype_name);
  }
  if (view.shape != expected) {
    const bool too_small = interop::element_count(view.shape) < interop::element_count(expected);
    throw py::value_error(name + " must have shape " + shape_text(expected) + ", got " + shape_text(view.shape) +
                          (too_small ? " (buffer too small)" : ""));
  }
  if (!interop::is_c_contiguous(view)) {
    throw py::value_error(name + " must be C-contiguous, got strides " + strides_text(view));
  }
}

struct Prepared {
  PreprocessArgs args;
  std::vector<BufferView> views;  // keep the arrays borrowed until the kernel is done
};

Prepared prepare(py::handle frame, py::handle out_full, py::handle out_half, const PreprocessOptions& options,
                 std::optional<std::uintptr_t> cuda_stream) {
  const CropMode mode = parse_crop_mode(options.crop);
  const ChannelOrder order = parse_channel_order(options.channels);
  const OutputDType dtype = parse_output_dtype(options.dtype);
  const Normalization norm = make_normalization(options.mean, options.std);

  Prepared prepared;
  prepared.views.push_back(interop::view_buffer(frame, "frame", /*writable=*/false, cuda_stream));
  prepared.views.push_back(interop::view_buffer(out_full, "out_full", /*writable=*/true, cuda_stream));
  prepared.views.push_back(interop::view_buffer(out_half, "out_half", /*writable=*/true, cuda_stream));
  const BufferView& frame_view = prepared.views[0];

  const FrameView frame_args = check_frame(frame_view, order);
  const PreprocessPlan plan = make_plan(frame_args.size, mode, options.crop_size);
  check_output(prepared.views[1], "out_full", plan.full.output_shape(), dtype);
  check_output(prepared.views[2], "out_half", plan.half.output_shape(), dtype);
  prepared.args = PreprocessArgs{frame_args, plan, norm, dtype, prepared.views[1].data, prepared.views[2].data};
  return prepared;
}

}  // namespace

void preprocess_py(py::handle frame, py::handle out_full, py::handle out_half, const PreprocessOptions& options,
                   int num_threads) {
  if (num_threads < 0) throw py::value_error("num_threads must be >= 0 (0 = all cores), got " + std::to_string(num_threads));
  const char* names[] = {"frame", "out_full", "out_half"};
  const Prepared prepared = prepare(frame, out_full, out_half, options, std::nullopt);
  for (int i = 0; i < 3; ++i) {
    if (prepared.views[i].memory != Memory::kHost) {
      throw py::value_error(std::string(names[i]) + " is in CUDA device memory but preprocess runs on the CPU; "
                            "use preprocess_cuda, or pass host arrays");
    }
  }
  py::gil_scoped_release release;
  preprocess_cpu(prepared.args, num_threads);
}

void preprocess_cuda_py(py::handle frame, py::handle out_full, py::handle out_half, const PreprocessOptions& options,
                        std::uintptr_t stream) {
#if defined(ARNIQA_EDGE_WITH_CUDA)
  const Prepared prepared = prepare(frame, out_full, out_half, options, stream);
  const char* names[] = {"out_full", "out_half"};
  std::vector<std::uintptr_t> producer_streams;
  for (int i = 0; i < 3; ++i) {
    const BufferView& view = prepared.views[i];
    if (i > 0 && view.memory != Memory::kCuda) {
      throw py::value_error(std::string(names[i - 1]) + " is in host memory but preprocess_cuda writes CUDA device "
                            "memory; pass a CUDA tensor (torch, CuPy)");
    }
    if (view.producer_stream) producer_streams.push_back(*view.producer_stream);
  }
  const bool frame_in_host_memory = prepared.views[0].memory == Memory::kHost;
  py::gil_scoped_release release;
  preprocess_cuda(prepared.args, frame_in_host_memory, stream, producer_streams);
#else
  (void)frame, (void)out_full, (void)out_half, (void)options, (void)stream;
  throw std::runtime_error("arniqa_edge._C was built without CUDA; reinstall with nvcc on PATH "
                           "(ARNIQA_EDGE_CUDA=ON) to use preprocess_cuda");
#endif
}

}  // namespace arniqa_edge
