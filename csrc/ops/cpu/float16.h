// float -> IEEE 754 binary16 with round-to-nearest-even, in portable C++.
#pragma once

#include <cstdint>
#include <cstring>

namespace arniqa_edge::cpu {

inline uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t magnitude = bits & 0x7fffffffu;

  if (magnitude > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN stays NaN
  // 65520 is halfway between the largest half (65504) and 2^16: it and all above round to inf.
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (magnitude < 0x38800000u) {
    // Below 2^-14 the result is subnormal: adding 0.5f puts the half's 2^-24 unit in
    // the float's last mantissa bit, so the FPU does the round-to-nearest-even.
    float shifted;
    std::memcpy(&shifted, &magnitude, sizeof(shifted));
    shifted += 0.5f;
    uint32_t shifted_bits;
    std::memcpy(&shifted_bits, &shifted, sizeof(shifted_bits));
    return static_cast<uint16_t>(sign | (shifted_bits - 0x3f000000u));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to
  // nearest, ties to even; a carry out of the mantissa correctly bumps the exponent.
  const uint32_t odd = (magnitude >> 13) & 1u;
  const uint32_t rounded = magnitude - (112u << 23) + 0xfffu + odd;
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline void floats_to_halves(const float* src, uint16_t* dst, int count) {
  for (int i = 0; i < count; ++i) dst[i] = float_to_half(src[i]);
}

}  // namespace arniqa_edge::cpu
