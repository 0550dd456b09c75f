// Python bindings of the batched distortion kernels (ops/distort.h), in the
// submodule arniqa_edge._C.distort.
#pragma once

#include <pybind11/pybind11.h>

namespace arniqa_edge {

void register_distortion_ops(pybind11::module_& m);

}  // namespace arniqa_edge
