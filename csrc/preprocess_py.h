// Python entry points of the preprocessing op: turn Python arrays into views,
// validate them against the plan, release the GIL and run a kernel.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <string>

namespace arniqa_edge {

struct PreprocessOptions {
  std::string crop;
  int crop_size;
  std::array<double, 3> mean;
  std::array<double, 3> std;
  std::string channels;
  std::string dtype;
};

void preprocess_py(pybind11::handle frame, pybind11::handle out_full, pybind11::handle out_half,
                   const PreprocessOptions& options, int num_threads);

void preprocess_cuda_py(pybind11::handle frame, pybind11::handle out_full, pybind11::handle out_half,
                        const PreprocessOptions& options, std::uintptr_t stream);

}  // namespace arniqa_edge
