// Colour-space conversions of RGB batches on the CPU, in place. Loops over a run of
// pixels are OpenMP simd; this file is built with -ffast-math so powf has a vector
// version (libmvec). The results differ from the reference's float32 torch ops by a
// few ulps, far inside the engine's parity bound.

#include "ops/cpu/parallel.h"
#include "ops/cpu/vector_clones.h"
#include "ops/distort.h"
#include "ops/distort_math.h"

namespace arniqa_edge::distort {
namespace {

// Calls convert(first, second, third, count) on runs of `count` pixels of the three
// planes of one sample, the runs split across threads.
template <typename Fn>
void for_each_pixel_run(const Batch& images, int num_threads, Fn convert) {
  const int64_t plane = images.plane();
  cpu::parallel_for_unit_pieces(images.samples, plane, num_threads, [&](int64_t sample, int64_t begin, int64_t end) {
    float* first = images.data + sample * images.sample_size() + (begin - sample * plane);
    convert(first, first + plane, first + 2 * plane, end - begin);
  });
}

// AVX2 clones: twice the lanes, and libmvec's AVX2 powf.

ARNIQA_CPU_CLONES void rgb_to_lab_run(float* r, float* g, float* b, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) rgb_to_lab(r[i], g[i], b[i], &r[i], &g[i], &b[i]);
}

ARNIQA_CPU_CLONES void lab_to_rgb_run(float* lightness, float* a, float* b, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) lab_to_rgb(lightness[i], a[i], b[i], &lightness[i], &a[i], &b[i]);
}

}  // namespace

void rgb_to_lab_cpu(const Batch& images, int num_threads) { for_each_pixel_run(images, num_threads, rgb_to_lab_run); }

void lab_to_rgb_cpu(const Batch& images, int num_threads) { for_each_pixel_run(images, num_threads, lab_to_rgb_run); }

}  // namespace arniqa_edge::distort
