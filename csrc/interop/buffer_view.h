// A borrowed view of an array owned by Python: numpy (buffer protocol), any CUDA
// array with __cuda_array_interface__ (v2/v3), or any __dlpack__ exporter (torch,
// CuPy, JAX, numpy). No copy is made; the view keeps the owner alive.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace arniqa_edge::interop {

enum class Memory { kHost, kCuda };
enum class ScalarType { kUInt8, kFloat16, kFloat32, kOther };

struct BufferView {
  void* data = nullptr;
  ScalarType dtype = ScalarType::kOther;
  int itemsize = 0;
  std::string dtype_name;        // for error messages, e.g. "float64"
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // bytes
  Memory memory = Memory::kHost;
  bool readonly = false;
  // CUDA stream with pending work on the data (__cuda_array_interface__ v3), which a
  // consumer must wait for.
  std::optional<std::uintptr_t> producer_stream;
  std::shared_ptr<void> owner;  // buffer-protocol export or dlpack capsule; needs the GIL to drop
};

// `name` is used in error messages ("frame", "out_full"). Raises TypeError for objects
// that are not arrays and ValueError for read-only ones when `writable`.
// `cuda_stream` is the stream the caller will use the data on; it is handed to CUDA
// exporters of __dlpack__ so that they order their pending work before it.
BufferView view_buffer(pybind11::handle obj, const std::string& name, bool writable,
                       std::optional<std::uintptr_t> cuda_stream);

// Per exporter; view_buffer picks one.
BufferView view_host_buffer(pybind11::handle obj, const std::string& name, bool writable);
BufferView view_cuda_array_interface(pybind11::handle obj, const std::string& name);
BufferView view_dlpack(pybind11::handle obj, const std::string& name,
                       std::optional<std::uintptr_t> cuda_stream);

// kUInt8/kFloat16/kFloat32 for "uint8"/"float16"/"float32", else kOther.
ScalarType scalar_type_named(const std::string& dtype_name);

// "(1, 3, 224, 224)"
std::string shape_text(const std::vector<int64_t>& values);
bool is_c_contiguous(const BufferView& view);
int64_t element_count(const std::vector<int64_t>& shape);

}  // namespace arniqa_edge::interop
