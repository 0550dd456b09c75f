// The arniqa_edge._C module: argument names and defaults only; the work is in
// preprocess_py.cpp and ops/.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <thread>

#include "ops/cpu/parallel.h"
#include "ops/preprocess.h"
#include "preprocess_py.h"
#if defined(ARNIQA_EDGE_WITH_DISTORTIONS)
#include "distort_py.h"
#endif

namespace py = pybind11;
using namespace pybind11::literals;

#ifndef ARNIQA_EDGE_VERSION
#define ARNIQA_EDGE_VERSION ""
#endif

namespace arniqa_edge {
namespace {

bool cuda_compiled() {
#if defined(ARNIQA_EDGE_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

bool distortions_compiled() {
#if defined(ARNIQA_EDGE_WITH_DISTORTIONS)
  return true;
#else
  return false;
#endif
}

int device_count() {
#if defined(ARNIQA_EDGE_WITH_CUDA)
  return cuda_device_count();
#else
  return 0;
#endif
}

py::dict build_info() {
  py::dict info;
  info["version"] = std::string(ARNIQA_EDGE_VERSION).empty() ? "dev" : ARNIQA_EDGE_VERSION;
  info["cxx_compiler"] = __VERSION__;
  info["cpu_cores"] = cpu::available_cores();
  info["cuda"] = cuda_compiled();
  info["distortions"] = distortions_compiled();
#if defined(ARNIQA_EDGE_WITH_CUDA)
  const int runtime = cuda_runtime_version();
  info["cuda_runtime"] = std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
  info["cuda_architectures"] = cuda_architectures();
#endif
  return info;
}

PreprocessOptions options(const std::string& crop, int crop_size, const std::array<double, 3>& mean,
                          const std::array<double, 3>& std, const std::string& channels, const std::string& dtype) {
  return {crop, crop_size, mean, std, channels, dtype};
}

}  // namespace
}  // namespace arniqa_edge

PYBIND11_MODULE(_C, m) {
  using namespace arniqa_edge;
  m.doc() = "arniqa_edge native kernels (CPU, and CUDA when compiled with it)";

  m.def(
      "preprocess",
      [](py::handle frame, py::handle out_full, py::handle out_half, const std::string& crop, int crop_size,
         const std::array<double, 3>& mean, const std::array<double, 3>& std, const std::string& channels,
         const std::string& dtype, int num_threads) {
        preprocess_py(frame, out_full, out_half, options(crop, crop_size, mean, std, channels, dtype), num_threads);
      },
      "frame"_a, "out_full"_a, "out_half"_a, py::kw_only(), "crop"_a, "crop_size"_a, "mean"_a, "std"_a,
      "channels"_a, "dtype"_a, "num_threads"_a = 0,
      "Fill out_full and out_half (host arrays) from a uint8 HxWx3 host frame.");

  m.def(
      "preprocess_cuda",
      [](py::handle frame, py::handle out_full, py::handle out_half, const std::string& crop, int crop_size,
         const std::array<double, 3>& mean, const std::array<double, 3>& std, const std::string& channels,
         const std::string& dtype, std::uintptr_t stream) {
        preprocess_cuda_py(frame, out_full, out_half, options(crop, crop_size, mean, std, channels, dtype), stream);
      },
      "frame"_a, "out_full"_a, "out_half"_a, py::kw_only(), "crop"_a, "crop_size"_a, "mean"_a, "std"_a,
      "channels"_a, "dtype"_a, "stream"_a = 0,
      "Enqueue the op on a CUDA stream: device (or host) frame in, CUDA out_full and out_half written.");

#if defined(ARNIQA_EDGE_WITH_DISTORTIONS)
  register_distortion_ops(m);  // the submodule _C.distort (CMake option ARNIQA_EDGE_DISTORTIONS)
#endif

  m.def("cuda_compiled", &cuda_compiled, "Whether the CUDA kernels were compiled in.");
  m.def("cuda_device_count", &device_count, "Visible CUDA devices; 0 without a GPU or driver.");
  m.def("build_info", &build_info, "Version, compiler and CUDA build details.");
}
