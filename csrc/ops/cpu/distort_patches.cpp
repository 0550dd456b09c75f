// Patch distortions on the CPU: non-eccentricity patches (copies) and colour blocks
// (fills). Patches of one image are applied in order, since later ones may read what
// earlier ones wrote; images run in parallel.
#include <algorithm>
#include <vector>

#include "ops/cpu/parallel.h"
#include "ops/distort.h"

namespace arniqa_edge::distort {
namespace {

// In 64 bits: a corner near INT_MAX plus the size must not wrap around to a small sum.
bool fits(const Batch& images, int row, int col, int size) {
  return row >= 0 && col >= 0 && int64_t{row} + size <= images.height && int64_t{col} + size <= images.width;
}

}  // namespace

void copy_patches_cpu(const Batch& images, const PatchList& moves, int num_threads) {
  const int size = moves.size;
  cpu::parallel_for(images.samples, num_threads, [&](int64_t begin, int64_t end) {
    std::vector<float> patch(size * size);  // source and destination may overlap
    float* row = patch.data();
    for (int64_t s = begin; s < end; ++s) {
      float* image = images.data + s * images.sample_size();
      for (int m = 0; m < std::min(moves.counts[s], moves.capacity); ++m) {
        const int32_t* box = moves.boxes + (s * moves.capacity + m) * 4;
        if (!fits(images, box[0], box[1], size) || !fits(images, box[2], box[3], size)) continue;
        for (int64_t c = 0; c < images.channels; ++c) {
          float* plane = image + c * images.plane();
          for (int r = 0; r < size; ++r) {
            const float* from = plane + (box[0] + r) * images.width + box[1];
            std::copy(from, from + size, row + r * size);
          }
          for (int r = 0; r < size; ++r) {
            std::copy(row + r * size, row + (r + 1) * size, plane + (box[2] + r) * images.width + box[3]);
          }
        }
      }
    }
  });
}

void fill_blocks_cpu(const Batch& images, const PatchList& blocks, const float* colors, int num_threads) {
  const int size = blocks.size;
  cpu::parallel_for(images.samples, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      float* image = images.data + s * images.sample_size();
      for (int b = 0; b < std::min(blocks.counts[s], blocks.capacity); ++b) {
        const int64_t slot = s * blocks.capacity + b;
        const int32_t* box = blocks.boxes + slot * 2;
        if (!fits(images, box[0], box[1], size)) continue;
        for (int64_t c = 0; c < images.channels; ++c) {
          const float color = colors[slot * images.channels + c];
          for (int r = 0; r < size; ++r) {
            float* row = image + c * images.plane() + (box[0] + r) * images.width + box[1];
            std::fill(row, row + size, color);
          }
        }
      }
    }
  });
}

}  // namespace arniqa_edge::distort
