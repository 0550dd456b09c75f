// __cuda_array_interface__ (Numba's protocol, versions 2 and 3), read without any
// CUDA call: the dict carries the pointer, shape, strides and typestr.
#include "interop/buffer_view.h"

namespace py = pybind11;

namespace arniqa_edge::interop {
namespace {

// typestr is numpy's array-interface type string: byte order, kind, item size ("<f4").
std::string typestr_dtype_name(const std::string& typestr, int* itemsize) {
  // An item size of one or two digits, or an unknown dtype (left with itemsize 0) that
  // the caller's dtype check rejects.
  const std::string digits = typestr.size() > 2 ? typestr.substr(2) : "";
  if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return "typestr '" + typestr + "'";
  }
  const char order = typestr[0];
  const char kind = typestr[1];
  *itemsize = std::stoi(digits);
  const char* prefix = kind == 'u' ? "uint" : kind == 'i' ? "int" : kind == 'f' ? "float"
                       : kind == 'c' ? "complex" : kind == 'b' ? "bool" : nullptr;
  if (prefix == nullptr || (order == '>' && *itemsize > 1)) return "typestr '" + typestr + "'";
  if (kind == 'b') return "bool";
  return prefix + std::to_string(*itemsize * 8);
}

}  // namespace

BufferView view_cuda_array_interface(py::handle obj, const std::string& name) {
  const py::dict interface = obj.attr("__cuda_array_interface__");
  if (interface.contains("mask") && !interface["mask"].is_none()) {
    throw py::value_error(name + ": masked CUDA arrays are not supported");
  }
  BufferView view;
  view.memory = Memory::kCuda;
  view.dtype_name = typestr_dtype_name(interface["typestr"].cast<std::string>(), &view.itemsize);
  view.dtype = scalar_type_named(view.dtype_name);
  const py::tuple data = interface["data"];
  view.data = reinterpret_cast<void*>(data[0].cast<std::uintptr_t>());
  view.readonly = data[1].cast<bool>();
  for (py::handle extent : py::tuple(interface["shape"])) view.shape.push_back(extent.cast<int64_t>());
  if (interface.contains("strides") && !interface["strides"].is_none()) {
    for (py::handle stride : py::tuple(interface["strides"])) view.strides.push_back(stride.cast<int64_t>());
  } else {
    view.strides.assign(view.shape.size(), 0);
    int64_t stride = view.itemsize;
    for (size_t i = view.shape.size(); i-- > 0;) {
      view.strides[i] = stride;
      stride *= view.shape[i];
    }
  }
  // v3: the exporter's stream with pending work; None means already synchronised.
  if (interface.contains("stream") && !interface["stream"].is_none()) {
    view.producer_stream = interface["stream"].cast<std::uintptr_t>();
  }
  view.owner = std::make_shared<py::object>(py::reinterpret_borrow<py::object>(obj));
  return view;
}

}  // namespace arniqa_edge::interop
