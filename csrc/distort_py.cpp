// Python entry points of the batched distortion kernels: view the arrays, check
// them, release the GIL and run the CPU or the CUDA kernel, picked by where the
// images live. Every parameter array must live in the same memory as the images.
#include "distort_py.h"

#include <pybind11/stl.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "interop/buffer_view.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace arniqa_edge {
namespace {

using interop::BufferView;
using interop::Memory;
using interop::shape_text;

constexpr int kMaxCopiedPatch = 32;  // the CUDA kernel stages a patch in shared memory

// The arrays of one kernel call. Views stay alive (and borrowed) until it returns.
class KernelCall {
 public:
  // images: float32 (samples, channels, H, W), C-contiguous, written in place.
  KernelCall(py::handle images, std::uintptr_t stream, int num_threads, bool rgb_only)
      : stream_(stream), num_threads_(num_threads) {
    if (num_threads < 0) throw py::value_error("num_threads must be >= 0 (0 = all cores), got " + std::to_string(num_threads));
    const BufferView& view = add(images, "images", /*writable=*/true);
    memory_ = view.memory;
    if (view.dtype != interop::ScalarType::kFloat32) throw py::type_error("images must be float32, got " + view.dtype_name);
    if (view.shape.size() != 4) throw py::value_error("images must have shape (N, C, H, W), got " + shape_text(view.shape));
    if (rgb_only && view.shape[1] != 3) throw py::value_error("images must have 3 channels (RGB), got " + shape_text(view.shape));
    require_contiguous(view, "images");
    batch_ = {static_cast<float*>(view.data), view.shape[0], view.shape[1], view.shape[2], view.shape[3]};
  }

  const distort::Batch& batch() const { return batch_; }
  std::uintptr_t stream() const { return stream_; }
  int num_threads() const { return num_threads_; }

  // A read-only per-sample parameter array of shape (samples, *trailing).
  template <typename T>
  const T* parameter(py::handle obj, const std::string& name, const char* dtype, std::vector<int64_t> trailing = {}) {
    trailing.insert(trailing.begin(), batch_.samples);
    return static_cast<const T*>(checked(obj, name, dtype, trailing, /*writable=*/false).data);
  }

  // A second image buffer of the same shape as `images`.
  float* output(py::handle obj, const std::string& name) {
    const std::vector<int64_t> shape = {batch_.samples, batch_.channels, batch_.height, batch_.width};
    void* data = checked(obj, name, "float32", shape, /*writable=*/true).data;
    // Empty tensors may all have the data pointer 0 (torch), and share nothing.
    if (data == batch_.data && !batch_.empty()) throw py::value_error(name + " must not be the images buffer itself");
    return static_cast<float*>(data);
  }

  // Runs `on_cpu` or `on_cuda` without the GIL; an empty batch has nothing to change (and
  // its extents' products, which the kernels loop over, may overflow or take hours).
  void run(const std::function<void()>& on_cpu, const std::function<void()>& on_cuda) {
    if (batch_.empty()) return;
    std::vector<std::uintptr_t> producers;
    for (const BufferView& view : views_) {
      if (view.producer_stream) producers.push_back(*view.producer_stream);
    }
    py::gil_scoped_release release;
    if (memory_ == Memory::kHost) {
      on_cpu();
      return;
    }
    distort::wait_for_streams_cuda(stream_, producers);
    on_cuda();
  }

 private:
  const BufferView& add(py::handle obj, const std::string& name, bool writable) {
    views_.push_back(interop::view_buffer(obj, name, writable, stream_));
    return views_.back();
  }

  const BufferView& checked(py::handle obj, const std::string& name, const char* dtype,
                            const std::vector<int64_t>& shape, bool writable) {
    const BufferView& view = add(obj, name, writable);
    if (view.memory != memory_) {
      throw py::value_error(name + " must be in the same memory as images (" +
                            (memory_ == Memory::kHost ? "host" : "CUDA") + ")");
    }
    if (view.dtype_name != dtype) throw py::type_error(name + " must be " + dtype + ", got " + view.dtype_name);
    if (view.shape != shape) {
      throw py::value_error(name + " must have shape " + shape_text(shape) + ", got " + shape_text(view.shape));
    }
    require_contiguous(view, name);
    return view;
  }

  static void require_contiguous(const BufferView& view, const std::string& name) {
    if (!interop::is_c_contiguous(view)) throw py::value_error(name + " must be C-contiguous");
  }

  std::deque<BufferView> views_;  // a deque: references to earlier views stay valid
  Memory memory_ = Memory::kHost;
  distort::Batch batch_{};
  std::uintptr_t stream_;
  int num_threads_;
};

distort::NoiseKind parse_noise_kind(const std::string& kind) {
  if (kind == "additive") return distort::NoiseKind::kAdditive;
  if (kind == "multiplicative") return distort::NoiseKind::kMultiplicative;
  if (kind == "ycbcr") return distort::NoiseKind::kAdditiveYCbCr;
  throw py::value_error("noise kind must be 'additive', 'multiplicative' or 'ycbcr', got '" + kind + "'");
}

// The capacity (second dimension) of an (N, capacity, fields) parameter array.
int64_t capacity_of(py::handle array, const std::string& name) {
  const py::tuple shape = array.attr("shape");
  if (shape.size() != 3) throw py::value_error(name + " must have shape (N, capacity, fields)");
  return shape[1].cast<int64_t>();
}

void tone_curve(py::handle images, py::handle knots, py::handle coefficients, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const distort::ToneCurves curves{
      call.parameter<float>(knots, "knots", "float32", {distort::kCurvePieces}),
      call.parameter<float>(coefficients, "coefficients", "float32", {distort::kCurvePieces, 4})};
  call.run([&] { distort::tone_curve_cpu(call.batch(), curves, threads); },
           [&] { distort::tone_curve_cuda(call.batch(), curves, stream); });
}

void saturate_hsv(py::handle images, py::handle factors, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/true);
  const float* f = call.parameter<float>(factors, "factors", "float32");
  call.run([&] { distort::saturate_hsv_cpu(call.batch(), f, threads); },
           [&] { distort::saturate_hsv_cuda(call.batch(), f, stream); });
}

void separable_filter(py::handle images, py::handle scratch, py::handle taps, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const py::tuple shape = taps.attr("shape");
  if (shape.size() != 2) throw py::value_error("taps must have shape (N, size)");
  const int64_t size = shape[1].cast<int64_t>();
  if (size < 1 || size % 2 == 0) throw py::value_error("taps must have an odd length, got " + std::to_string(size));
  float* s = call.output(scratch, "scratch");
  const distort::SeparableTaps t{call.parameter<float>(taps, "taps", "float32", {size}), static_cast<int>(size)};
  call.run([&] { distort::separable_filter_cpu(call.batch(), s, t, threads); },
           [&] { distort::separable_filter_cuda(call.batch(), s, t, stream); });
}

void sparse_filter(py::handle images, py::handle out, py::handle taps, py::handle counts, std::uintptr_t stream,
                   int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const int64_t capacity = capacity_of(taps, "taps");
  float* o = call.output(out, "out");
  const distort::SparseTaps t{call.parameter<float>(taps, "taps", "float32", {capacity, 3}),
                              call.parameter<int32_t>(counts, "counts", "int32"), static_cast<int>(capacity)};
  call.run([&] { distort::sparse_filter_cpu(call.batch(), o, t, threads); },
           [&] { distort::sparse_filter_cuda(call.batch(), o, t, stream); });
}

void rgb_to_lab(py::handle images, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/true);
  call.run([&] { distort::rgb_to_lab_cpu(call.batch(), threads); },
           [&] { distort::rgb_to_lab_cuda(call.batch(), stream); });
}

void lab_to_rgb(py::handle images, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/true);
  call.run([&] { distort::lab_to_rgb_cpu(call.batch(), threads); },
           [&] { distort::lab_to_rgb_cuda(call.batch(), stream); });
}

void quantize(py::handle images, py::handle levels, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const int32_t* l = call.parameter<int32_t>(levels, "levels", "int32");
  call.run([&] { distort::quantize_cpu(call.batch(), l, threads); },
           [&] { distort::quantize_cuda(call.batch(), l, stream); });
}

void gaussian_noise(py::handle images, py::handle seeds, py::handle variances, const std::string& kind,
                    std::uintptr_t stream, int threads) {
  const distort::NoiseKind noise_kind = parse_noise_kind(kind);
  KernelCall call(images, stream, threads, /*rgb_only=*/true);
  const int64_t* s = call.parameter<int64_t>(seeds, "seeds", "int64");
  const float* v = call.parameter<float>(variances, "variances", "float32");
  call.run([&] { distort::gaussian_noise_cpu(call.batch(), s, v, noise_kind, threads); },
           [&] { distort::gaussian_noise_cuda(call.batch(), s, v, noise_kind, stream); });
}

void impulse_noise(py::handle images, py::handle seeds, py::handle densities, std::uintptr_t stream, int threads) {
  KernelCall call(images, stream, threads, /*rgb_only=*/true);
  const int64_t* s = call.parameter<int64_t>(seeds, "seeds", "int64");
  const float* d = call.parameter<float>(densities, "densities", "float32");
  call.run([&] { distort::impulse_noise_cpu(call.batch(), s, d, threads); },
           [&] { distort::impulse_noise_cuda(call.batch(), s, d, stream); });
}

void jitter(py::handle images, py::handle out, py::handle seeds, py::handle stds, int rounds, std::uintptr_t stream,
            int threads) {
  if (rounds < 0) throw py::value_error("rounds must be >= 0, got " + std::to_string(rounds));
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  float* o = call.output(out, "out");
  const int64_t* s = call.parameter<int64_t>(seeds, "seeds", "int64");
  const float* d = call.parameter<float>(stds, "stds", "float32");
  call.run([&] { distort::jitter_cpu(call.batch(), o, s, d, rounds, threads); },
           [&] { distort::jitter_cuda(call.batch(), o, s, d, rounds, stream); });
}

void copy_patches(py::handle images, py::handle boxes, py::handle counts, int size, std::uintptr_t stream,
                  int threads) {
  if (size < 1 || size > kMaxCopiedPatch) {
    throw py::value_error("size must be in 1.." + std::to_string(kMaxCopiedPatch) + ", got " + std::to_string(size));
  }
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const int64_t capacity = capacity_of(boxes, "boxes");
  const distort::PatchList moves{call.parameter<int32_t>(boxes, "boxes", "int32", {capacity, 4}),
                                 call.parameter<int32_t>(counts, "counts", "int32"), static_cast<int>(capacity), size};
  call.run([&] { distort::copy_patches_cpu(call.batch(), moves, threads); },
           [&] { distort::copy_patches_cuda(call.batch(), moves, stream); });
}

void fill_blocks(py::handle images, py::handle boxes, py::handle counts, py::handle colors, int size,
                 std::uintptr_t stream, int threads) {
  if (size < 1) throw py::value_error("size must be >= 1, got " + std::to_string(size));
  KernelCall call(images, stream, threads, /*rgb_only=*/false);
  const int64_t capacity = capacity_of(boxes, "boxes");
  const distort::PatchList blocks{call.parameter<int32_t>(boxes, "boxes", "int32", {capacity, 2}),
                                  call.parameter<int32_t>(counts, "counts", "int32"), static_cast<int>(capacity), size};
  const float* c = call.parameter<float>(colors, "colors", "float32", {capacity, call.batch().channels});
  call.run([&] { distort::fill_blocks_cpu(call.batch(), blocks, c, threads); },
           [&] { distort::fill_blocks_cuda(call.batch(), blocks, c, stream); });
}

}  // namespace

void register_distortion_ops(py::module_& m) {
  py::module_ d = m.def_submodule(
      "distort",
      "Batched distortion kernels: float32 (N, C, H, W) images in [0, 1], changed in place, one parameter row per "
      "image. Host arrays run on the CPU (num_threads, 0 = all cores), CUDA arrays on `stream`.");

  d.def("tone_curve", &tone_curve, "images"_a, "knots"_a, "coefficients"_a, py::kw_only(), "stream"_a = 0,
        "num_threads"_a = 0, "Piecewise cubic curve per image: knots (N, 4), coefficients (N, 4, 4).");
  d.def("saturate_hsv", &saturate_hsv, "images"_a, "factors"_a, py::kw_only(), "stream"_a = 0, "num_threads"_a = 0,
        "HSV saturation times factors (N,): v + f (x - v), v the pixel's channel max.");
  d.def("separable_filter", &separable_filter, "images"_a, "scratch"_a, "taps"_a, py::kw_only(), "stream"_a = 0,
        "num_threads"_a = 0,
        "Correlate each image's channels with outer(taps[n], taps[n]) in place, borders replicated; taps (N, size) "
        "float32, size odd; scratch: same shape as images.");
  d.def("sparse_filter", &sparse_filter, "images"_a, "out"_a, "taps"_a, "counts"_a, py::kw_only(), "stream"_a = 0,
        "num_threads"_a = 0,
        "out = each image correlated with its kernel's non-zero taps, borders replicated; taps (N, capacity, 3) "
        "float32 (row offset, column offset, weight), counts (N,) int32.");
  d.def("rgb_to_lab", &rgb_to_lab, "images"_a, py::kw_only(), "stream"_a = 0, "num_threads"_a = 0,
        "sRGB -> CIE Lab (D65) in place; L in 0..100.");
  d.def("lab_to_rgb", &lab_to_rgb, "images"_a, py::kw_only(), "stream"_a = 0, "num_threads"_a = 0,
        "CIE Lab (D65) -> sRGB in place, clipped to [0, 1].");
  d.def("quantize", &quantize, "images"_a, "levels"_a, py::kw_only(), "stream"_a = 0, "num_threads"_a = 0,
        "Values binned into levels (N,) int32 + 1 bins, min-max stretched per image.");
  d.def("gaussian_noise", &gaussian_noise, "images"_a, "seeds"_a, "variances"_a, py::kw_only(), "kind"_a,
        "stream"_a = 0, "num_threads"_a = 0,
        "Gaussian noise, kind 'additive' | 'multiplicative' | 'ycbcr'; seeds (N,) int64 key a Philox generator.");
  d.def("impulse_noise", &impulse_noise, "images"_a, "seeds"_a, "densities"_a, py::kw_only(), "stream"_a = 0,
        "num_threads"_a = 0, "Salt and pepper: each value is 1 or 0 with probability density / 2 each.");
  d.def("jitter", &jitter, "images"_a, "out"_a, "seeds"_a, "stds"_a, py::kw_only(), "rounds"_a, "stream"_a = 0,
        "num_threads"_a = 0,
        "`rounds` bilinear resamplings at Gaussian sub-pixel offsets (std stds (N,)); result in out, images is "
        "scratch.");
  d.def("copy_patches", &copy_patches, "images"_a, "boxes"_a, "counts"_a, py::kw_only(), "size"_a, "stream"_a = 0,
        "num_threads"_a = 0,
        "size x size patches copied in order; boxes (N, capacity, 4) int32: source row, col, target row, col.");
  d.def("fill_blocks", &fill_blocks, "images"_a, "boxes"_a, "counts"_a, "colors"_a, py::kw_only(), "size"_a,
        "stream"_a = 0, "num_threads"_a = 0,
        "size x size flat blocks in order; boxes (N, capacity, 2) int32 (row, col), colors (N, capacity, C).");
}

}  // namespace arniqa_edge
