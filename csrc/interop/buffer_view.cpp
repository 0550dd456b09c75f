#include "interop/buffer_view.h"

#include <algorithm>
#include <cstdint>
#include <sstream>

namespace py = pybind11;

namespace arniqa_edge::interop {
namespace {

// Whether a __dlpack__ exporter reports host memory (plain or CUDA-pinned).
bool dlpack_device_is_cpu(py::handle obj) {
  if (!py::hasattr(obj, "__dlpack_device__")) return true;
  const py::tuple device = obj.attr("__dlpack_device__")();
  const int type = device[0].cast<int>();
  return type == 1 /* kDLCPU */ || type == 3 /* kDLCUDAHost */;
}

std::string python_type_name(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// struct-module format characters of the common numpy dtypes.
std::string format_dtype_name(const std::string& format) {
  std::string code = format;
  if (!code.empty() && (code[0] == '<' || code[0] == '=' || code[0] == '@' || code[0] == '!' || code[0] == '>')) {
    if (code[0] == '>' || code[0] == '!') return "big-endian '" + format + "'";
    code = code.substr(1);
  }
  static const std::pair<const char*, const char*> names[] = {
      {"?", "bool"},    {"b", "int8"},    {"B", "uint8"},   {"h", "int16"},   {"H", "uint16"},
      {"i", "int32"},   {"I", "uint32"},  {"l", "int64"},   {"L", "uint64"},  {"q", "int64"},
      {"Q", "uint64"},  {"e", "float16"}, {"f", "float32"}, {"d", "float64"}, {"g", "float128"},
  };
  for (const auto& [char_code, name] : names) {
    if (code == char_code) return name;
  }
  return "format '" + format + "'";
}

bool exports_read_only(py::handle obj) {
  try {
    py::reinterpret_borrow<py::buffer>(obj).request(/*writable=*/false);
    return true;
  } catch (py::error_already_set&) {
    return false;
  }
}

// What the kernels take for granted of any array: no negative extents (a malformed
// __cuda_array_interface__) and items at addresses that are multiples of their size
// (a float* one byte off is undefined behaviour on the CPU, a fault on a GPU).
void check_layout(const BufferView& view, const std::string& name) {
  for (int64_t extent : view.shape) {
    if (extent < 0) throw py::value_error(name + " has a negative extent: shape " + shape_text(view.shape));
  }
  const auto address = reinterpret_cast<std::uintptr_t>(view.data);
  if (view.itemsize > 1 && address % static_cast<std::uintptr_t>(view.itemsize) != 0) {
    throw py::value_error(name + " is not aligned to its " + std::to_string(view.itemsize) +
                          "-byte items; pass a copy (numpy.ascontiguousarray makes aligned ones)");
  }
}

}  // namespace

ScalarType scalar_type_named(const std::string& dtype_name) {
  if (dtype_name == "uint8") return ScalarType::kUInt8;
  if (dtype_name == "float16") return ScalarType::kFloat16;
  if (dtype_name == "float32") return ScalarType::kFloat32;
  return ScalarType::kOther;
}

BufferView view_host_buffer(py::handle obj, const std::string& name, bool writable) {
  auto exported = std::make_shared<py::buffer_info>();
  try {
    *exported = py::reinterpret_borrow<py::buffer>(obj).request(writable);
  } catch (py::error_already_set& error) {
    // A read-only object refuses a writable export (numpy with ValueError, bytes with BufferError).
    if (writable && exports_read_only(obj)) {
      throw py::value_error(name + " is read-only (" + error.what() + ")");
    }
    throw;
  }
  BufferView view;
  view.data = exported->ptr;
  view.itemsize = static_cast<int>(exported->itemsize);
  view.dtype_name = format_dtype_name(exported->format);
  view.dtype = scalar_type_named(view.dtype_name);
  view.shape.assign(exported->shape.begin(), exported->shape.end());
  view.strides.assign(exported->strides.begin(), exported->strides.end());
  view.memory = Memory::kHost;
  view.readonly = exported->readonly;
  view.owner = exported;
  return view;
}

BufferView view_buffer(py::handle obj, const std::string& name, bool writable,
                       std::optional<std::uintptr_t> cuda_stream) {
  BufferView view;
  if (py::hasattr(obj, "__cuda_array_interface__")) {
    view = view_cuda_array_interface(obj, name);
  } else if (py::hasattr(obj, "__dlpack__") && !dlpack_device_is_cpu(obj)) {
    view = view_dlpack(obj, name, cuda_stream);
  } else if (PyObject_CheckBuffer(obj.ptr())) {
    view = view_host_buffer(obj, name, writable);
  } else if (py::hasattr(obj, "__dlpack__")) {
    view = view_dlpack(obj, name, std::nullopt);  // host tensors without the buffer protocol (torch)
  } else {
    throw py::type_error(name + " must be an array (numpy, or a tensor with __cuda_array_interface__ or "
                         "__dlpack__), got " + python_type_name(obj));
  }
  if (writable && view.readonly) throw py::value_error(name + " is read-only");
  check_layout(view, name);
  return view;
}

std::string shape_text(const std::vector<int64_t>& values) {
  std::ostringstream text;
  text << "(";
  for (size_t i = 0; i < values.size(); ++i) text << (i ? ", " : "") << values[i];
  text << (values.size() == 1 ? ",)" : ")");
  return text.str();
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  return count;
}

// As numpy decides it: the strides of size-1 dimensions do not matter, nor any stride of
// an empty array (torch gives an empty (2, 3, 0, 5) tensor the strides (15, 5, 5, 1)).
bool is_c_contiguous(const BufferView& view) {
  if (std::find(view.shape.begin(), view.shape.end(), 0) != view.shape.end()) return true;
  int64_t expected = view.itemsize;
  for (size_t i = view.shape.size(); i-- > 0;) {
    if (view.shape[i] != 1 && view.strides[i] != expected) return false;
    expected *= view.shape[i];
  }
  return true;
}

}  // namespace arniqa_edge::interop
