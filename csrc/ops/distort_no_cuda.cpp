// Stand-ins for the distortion CUDA kernels in builds without CUDA: the bindings
// link either way and report the missing support when a CUDA array arrives.
#if !defined(ARNIQA_EDGE_WITH_CUDA)

#include <stdexcept>

#include "ops/distort.h"

namespace arniqa_edge::distort {
namespace {

[[noreturn]] void no_cuda() {
  throw std::runtime_error("arniqa_edge._C was built without CUDA; reinstall with nvcc on PATH "
                           "(ARNIQA_EDGE_CUDA=ON) to distort CUDA arrays");
}

}  // namespace

void tone_curve_cuda(const Batch&, const ToneCurves&, std::uintptr_t) { no_cuda(); }
void saturate_hsv_cuda(const Batch&, const float*, std::uintptr_t) { no_cuda(); }
void quantize_cuda(const Batch&, const int32_t*, std::uintptr_t) { no_cuda(); }
void gaussian_noise_cuda(const Batch&, const int64_t*, const float*, NoiseKind, std::uintptr_t) { no_cuda(); }
void impulse_noise_cuda(const Batch&, const int64_t*, const float*, std::uintptr_t) { no_cuda(); }
void jitter_cuda(const Batch&, float*, const int64_t*, const float*, int, std::uintptr_t) { no_cuda(); }
void copy_patches_cuda(const Batch&, const PatchList&, std::uintptr_t) { no_cuda(); }
void fill_blocks_cuda(const Batch&, const PatchList&, const float*, std::uintptr_t) { no_cuda(); }
void separable_filter_cuda(const Batch&, float*, const SeparableTaps&, std::uintptr_t) { no_cuda(); }
void sparse_filter_cuda(const Batch&, float*, const SparseTaps&, std::uintptr_t) { no_cuda(); }
void rgb_to_lab_cuda(const Batch&, std::uintptr_t) { no_cuda(); }
void lab_to_rgb_cuda(const Batch&, std::uintptr_t) { no_cuda(); }
void wait_for_streams_cuda(std::uintptr_t, const std::vector<std::uintptr_t>&) { no_cuda(); }

}  // namespace arniqa_edge::distort

#endif  // !ARNIQA_EDGE_WITH_CUDA
