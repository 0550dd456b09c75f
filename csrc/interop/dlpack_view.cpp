// __dlpack__ consumer. The capsule is borrowed, never consumed: it stays named
// "dltensor" and alive for as long as the view, and its own destructor then calls
// the exporter's deleter.
#include "interop/buffer_view.h"
#include "interop/dlpack.h"

namespace py = pybind11;

namespace arniqa_edge::interop {
namespace {

std::string dlpack_dtype_name(const dlpack::DLDataType& dtype) {
  if (dtype.lanes != 1) return "vector dtype";
  switch (dtype.code) {
    case dlpack::kDLInt: return "int" + std::to_string(dtype.bits);
    case dlpack::kDLUInt: return "uint" + std::to_string(dtype.bits);
    case dlpack::kDLFloat: return "float" + std::to_string(dtype.bits);
    case dlpack::kDLBfloat: return "bfloat" + std::to_string(dtype.bits);
    case dlpack::kDLComplex: return "complex" + std::to_string(dtype.bits);
    case dlpack::kDLBool: return "bool";
    default: return "dlpack dtype code " + std::to_string(dtype.code);
  }
}

// The DLPack stream argument: 1 names the legacy default stream (0 is not allowed).
py::object dlpack_stream_argument(std::uintptr_t stream) {
  return py::int_(stream == 0 ? std::uintptr_t{1} : stream);
}

}  // namespace

BufferView view_dlpack(py::handle obj, const std::string& name, std::optional<std::uintptr_t> cuda_stream) {
  py::object capsule = cuda_stream ? obj.attr("__dlpack__")(py::arg("stream") = dlpack_stream_argument(*cuda_stream))
                                   : obj.attr("__dlpack__")();
  if (!PyCapsule_IsValid(capsule.ptr(), dlpack::kCapsuleName)) {
    throw py::type_error(name + ".__dlpack__() did not return a \"dltensor\" capsule");
  }
  auto* managed = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), dlpack::kCapsuleName));
  const dlpack::DLTensor& tensor = managed->dl_tensor;

  BufferView view;
  switch (tensor.device.device_type) {
    case dlpack::kDLCPU:
    case dlpack::kDLCUDAHost:
      view.memory = Memory::kHost;
      break;
    case dlpack::kDLCUDA:
    case dlpack::kDLCUDAManaged:
      view.memory = Memory::kCuda;
      break;
    default:
      throw py::value_error(name + " lives on DLPack device type " + std::to_string(tensor.device.device_type) +
                            ", neither host nor CUDA memory");
  }
  view.dtype_name = dlpack_dtype_name(tensor.dtype);
  view.itemsize = (tensor.dtype.bits * tensor.dtype.lanes + 7) / 8;
  view.dtype = scalar_type_named(view.dtype_name);
  view.data = static_cast<char*>(tensor.data) + tensor.byte_offset;
  view.shape.assign(tensor.shape, tensor.shape + tensor.ndim);
  view.strides.resize(tensor.ndim);
  int64_t compact = view.itemsize;
  for (int i = tensor.ndim; i-- > 0;) {
    view.strides[i] = tensor.strides ? tensor.strides[i] * view.itemsize : compact;
    compact *= view.shape[i];
  }
  view.owner = std::make_shared<py::object>(std::move(capsule));
  return view;
}

}  // namespace arniqa_edge::interop
