// Batched kernels of the degradation model (training/degradation/batched): every
// image of a batch gets its own parameters. Plain C++ (no Python, no CUDA types) so
// the CPU kernels, the CUDA kernels and the bindings share one description.
//
// Images are contiguous float32 (samples, channels, height, width) in [0, 1]; every
// kernel works in place and clamps its output to [0, 1] (the colour conversions
// and the filters excepted). Per-sample parameters are contiguous arrays with `samples` rows, in the
// same memory (host or CUDA) as the
// images. CUDA kernels are enqueued on `stream` and return without waiting.
#pragma once

#include <cstdint>
#include <vector>

namespace arniqa_edge::distort {

struct Batch {
  float* data;
  int64_t samples;
  int64_t channels;
  int64_t height;
  int64_t width;

  // No values; the other extents may be huge (an empty numpy array may declare any).
  bool empty() const { return samples == 0 || channels == 0 || height == 0 || width == 0; }
  int64_t plane() const { return height * width; }
  int64_t sample_size() const { return channels * plane(); }
  int64_t size() const { return samples * sample_size(); }
};

// Piecewise cubic tone curves (see eval_curve in distort_math.h), one per sample:
// knots (samples, 4), coefficients (samples, 4 pieces, 4 powers), applied to every value.
struct ToneCurves {
  const float* knots;
  const float* coefficients;
};

enum class NoiseKind : int {
  kAdditive = 0,        // x + sqrt(v) n, on each RGB value
  kMultiplicative = 1,  // x (1 + sqrt(v) n)
  kAdditiveYCbCr = 2,   // sqrt(v) n added to Y, Cb and Cr
};

// Patches moved or filled one after the other; slots beyond a sample's count, and
// boxes that do not fit inside the image, are skipped.
struct PatchList {
  const int32_t* boxes;   // (samples, capacity, fields) top-left corners
  const int32_t* counts;  // (samples,)
  int capacity;
  int size;  // patch side in pixels
};

// One odd-length 1-D kernel per sample, applied along rows and then columns
// (correlation, borders replicated): taps (samples, size), zero-padded and centred
// when samples' kernels differ in length.
struct SeparableTaps {
  const float* taps;
  int size;
};

// A 2-D kernel per sample as its non-zero taps: taps (samples, capacity, 3) holding
// (row offset, column offset, weight) from the kernel centre, the first counts[s] used
// (at most capacity). Offsets are truncated to whole pixels (see tap_shift).
struct SparseTaps {
  const float* taps;
  const int32_t* counts;
  int capacity;
};

// --- CPU (num_threads 0 = all cores) ---------------------------------------------------
void tone_curve_cpu(const Batch& images, const ToneCurves& curves, int num_threads);
// HSV saturation scaled by factors[s]: out = v + f (x - v), v = the pixel's channel max.
void saturate_hsv_cpu(const Batch& images, const float* factors, int num_threads);
// Values binned into levels[s] + 1 bins, bins min-max stretched to [0, 1] per sample.
void quantize_cpu(const Batch& images, const int32_t* levels, int num_threads);
void gaussian_noise_cpu(const Batch& images, const int64_t* seeds, const float* variances, NoiseKind kind,
                        int num_threads);
// Each value becomes 1 with probability densities[s] / 2, else 0 with the same probability.
void impulse_noise_cpu(const Batch& images, const int64_t* seeds, const float* densities, int num_threads);
// `rounds` bilinear resamplings at (row - dy, col - dx), dy, dx ~ N(0, stds[s]^2) per
// pixel; reads `images`, leaves the result in `out` (same shape); `images` is scratch.
void jitter_cpu(const Batch& images, float* out, const int64_t* seeds, const float* stds, int rounds,
                int num_threads);
// boxes fields: source row, source col, destination row, destination col.
void copy_patches_cpu(const Batch& images, const PatchList& moves, int num_threads);
// boxes fields: row, col; colors (samples, capacity, channels).
void fill_blocks_cpu(const Batch& images, const PatchList& blocks, const float* colors, int num_threads);

// Separable filter of every channel in place; `scratch` (same shape) holds the row pass.
// Not clamped: it also filters Lab planes.
void separable_filter_cpu(const Batch& images, float* scratch, const SeparableTaps& taps, int num_threads);
// out = images correlated with each sample's sparse kernel, borders replicated (not clamped).
void sparse_filter_cpu(const Batch& images, float* out, const SparseTaps& taps, int num_threads);
// Colour conversions in place on 3-channel images (not clamped: Lab is not in [0, 1]).
void rgb_to_lab_cpu(const Batch& images, int num_threads);
void lab_to_rgb_cpu(const Batch& images, int num_threads);  // clamps the RGB to [0, 1]

// --- CUDA -------------------------------------------------------------------------------
void tone_curve_cuda(const Batch& images, const ToneCurves& curves, std::uintptr_t stream);
void saturate_hsv_cuda(const Batch& images, const float* factors, std::uintptr_t stream);
void quantize_cuda(const Batch& images, const int32_t* levels, std::uintptr_t stream);
void gaussian_noise_cuda(const Batch& images, const int64_t* seeds, const float* variances, NoiseKind kind,
                         std::uintptr_t stream);
void impulse_noise_cuda(const Batch& images, const int64_t* seeds, const float* densities, std::uintptr_t stream);
void jitter_cuda(const Batch& images, float* out, const int64_t* seeds, const float* stds, int rounds,
                 std::uintptr_t stream);
void copy_patches_cuda(const Batch& images, const PatchList& moves, std::uintptr_t stream);
void fill_blocks_cuda(const Batch& images, const PatchList& blocks, const float* colors, std::uintptr_t stream);
void separable_filter_cuda(const Batch& images, float* scratch, const SeparableTaps& taps, std::uintptr_t stream);
void sparse_filter_cuda(const Batch& images, float* out, const SparseTaps& taps, std::uintptr_t stream);
void rgb_to_lab_cuda(const Batch& images, std::uintptr_t stream);
void lab_to_rgb_cuda(const Batch& images, std::uintptr_t stream);
// Makes `stream` wait for the work already enqueued on each of `producers`.
void wait_for_streams_cuda(std::uintptr_t stream, const std::vector<std::uintptr_t>& producers);

}  // namespace arniqa_edge::distort
