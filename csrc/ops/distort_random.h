// Counter-based random numbers for the noise distortions: Philox4x32-10
// (Salmon et al., SC'11). A value depends only on (seed, counter), never on the
// order of evaluation, so the CPU and CUDA kernels draw the same noise for the
// same seed, whatever their threading.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/distort_math.h"

namespace arniqa_edge::distort {

struct Philox4 {
  uint32_t x, y, z, w;
};

ARNIQA_HD inline uint32_t multiply_high_low(uint32_t a, uint32_t b, uint32_t* high) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *high = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

// Four 32-bit random words for `counter` under the 64-bit key `seed`.
ARNIQA_HD inline Philox4 philox(Philox4 counter, uint64_t seed) {
  uint32_t key0 = static_cast<uint32_t>(seed);
  uint32_t key1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t high0, high1;
    const uint32_t low0 = multiply_high_low(0xD2511F53u, counter.x, &high0);
    const uint32_t low1 = multiply_high_low(0xCD9E8D57u, counter.z, &high1);
    counter = {high1 ^ counter.y ^ key0, low1, high0 ^ counter.w ^ key1, low0};
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
  }
  return counter;
}

// The words of pixel `pixel` (index within one image plane) in draw `round`.
ARNIQA_HD inline Philox4 pixel_random(uint64_t seed, int64_t pixel, uint32_t round) {
  const uint64_t index = static_cast<uint64_t>(pixel);
  return philox({static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), round, 0u}, seed);
}

// Uniform in (0, 1): 24 random bits, centred in their interval so log() is finite.
ARNIQA_HD inline float open_uniform(uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// Two independent standard normals from two random words (Box-Muller).
ARNIQA_HD inline void normal_pair(uint32_t a, uint32_t b, float* first, float* second) {
  const float radius = sqrtf(-2.0f * logf(open_uniform(a)));
  const float angle = 6.28318530717958647692f * open_uniform(b);
  *first = radius * cosf(angle);
  *second = radius * sinf(angle);
}

// Standard normals for the three channels of one pixel (one Philox call).
ARNIQA_HD inline void pixel_normals(uint64_t seed, int64_t pixel, uint32_t round, float normals[3]) {
  const Philox4 words = pixel_random(seed, pixel, round);
  float unused;
  normal_pair(words.x, words.y, &normals[0], &normals[1]);
  normal_pair(words.z, words.w, &normals[2], &unused);
}

}  // namespace arniqa_edge::distort
