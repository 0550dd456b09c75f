// Per-value arithmetic of the distortion kernels, shared verbatim by the CPU and
// CUDA versions so that both compute the same thing.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define ARNIQA_HD __host__ __device__
#else
#define ARNIQA_HD
#endif

namespace arniqa_edge::distort {

ARNIQA_HD inline float clamp01(float value) { return value < 0.0f ? 0.0f : (value > 1.0f ? 1.0f : value); }

ARNIQA_HD inline float clamp_to(float value, float low, float high) {
  return value < low ? low : (value > high ? high : value);
}

// A piecewise cubic curve on [0, 1]: piece i starts at knots[i] and holds
// c[i][0] t^3 + c[i][1] t^2 + c[i][2] t + c[i][3] with t = x - knots[i]. Unused
// trailing knots are +inf, so a value never selects their piece.
constexpr int kCurvePieces = 4;

// Pieces are picked by selects, not by indexing, so a CPU loop over values vectorizes.
ARNIQA_HD inline float eval_curve(float x, const float* knots, const float* coefficients) {
  x = clamp01(x);
  float start = knots[0];
  float c0 = coefficients[0], c1 = coefficients[1], c2 = coefficients[2], c3 = coefficients[3];
  for (int i = 1; i < kCurvePieces; ++i) {
    const bool inside = x >= knots[i];
    const float* c = coefficients + 4 * i;
    start = inside ? knots[i] : start;
    c0 = inside ? c[0] : c0;
    c1 = inside ? c[1] : c1;
    c2 = inside ? c[2] : c2;
    c3 = inside ? c[3] : c3;
  }
  const float t = x - start;
  return clamp01(((c0 * t + c1) * t + c2) * t + c3);
}

// Bin of an 8-bit-scaled value among the edges 0, floor(255 k / levels) for
// k = 1..levels-1, and 256: the number of edges below it (torch.bucketize's rule).
// The inner edges are counted in closed form, so a loop over values vectorizes: with
// c = ceil(scaled), floor(255 k / levels) < scaled <=> 255 k / levels < c
// <=> k <= ceil(c levels / 255) - 1.
ARNIQA_HD inline int quantization_bin(float value, int levels) {
  const float scaled = value * 255.0f;
  const float bounded = clamp_to(scaled, 0.0f, 256.0f);
  const int truncated = static_cast<int>(bounded);
  const int above = truncated + (bounded > static_cast<float>(truncated) ? 1 : 0);  // ceil, without a libm call
  const int inner = (above * levels + 254) / 255 - 1;
  const int edges = inner < 0 ? 0 : (inner > levels - 1 ? levels - 1 : inner);
  return (scaled > 0.0f ? 1 : 0) + edges + (scaled > 256.0f ? 1 : 0);
}

// A sparse kernel tap's row or column offset as a whole shift in [-limit, limit]: taps
// are float, so any value (1e30, NaN) may come in, and a shift past the image's edge
// reads its replicated border all the same. NaN shifts nowhere.
ARNIQA_HD inline int64_t tap_shift(float offset, int64_t limit) {
  if (offset != offset) return 0;
  const float bound = static_cast<float>(limit);
  return offset <= -bound ? -limit : (offset >= bound ? limit : static_cast<int64_t>(offset));
}

// Analogue BT.601 YCbCr with chroma centred on 0.5 (the reference's constants).
ARNIQA_HD inline void rgb_to_ycbcr(float r, float g, float b, float* y, float* cb, float* cr) {
  *y = 0.299f * r + 0.587f * g + 0.114f * b;
  *cb = (b - *y) * 0.564f + 0.5f;
  *cr = (r - *y) * 0.713f + 0.5f;
}

ARNIQA_HD inline void ycbcr_to_rgb(float y, float cb, float cr, float* r, float* g, float* b) {
  cb -= 0.5f;
  cr -= 0.5f;
  *r = y + 1.403f * cr;
  *g = y - 0.714f * cr - 0.344f * cb;
  *b = y + 1.773f * cb;
}

// sRGB <-> CIE Lab (D65) as training/degradation/color.py computes it (kornia's
// constants): L in 0..100, a and b roughly -128..127.
ARNIQA_HD inline float srgb_to_linear(float v) {
  return v > 0.04045f ? powf((v + 0.055f) / 1.055f, 2.4f) : v / 12.92f;
}

ARNIQA_HD inline float linear_to_srgb(float v) {
  constexpr float kThreshold = 0.0031308f;
  return v > kThreshold ? 1.055f * powf(fmaxf(v, kThreshold), 1.0f / 2.4f) - 0.055f : 12.92f * v;
}

// Cube root of t > 0. On the CPU: a first guess from the float's bits (exponent / 3)
// refined by three Newton steps, to float precision; unlike cbrtf, it vectorizes cheaply.
ARNIQA_HD inline float cube_root(float t) {
#if defined(__CUDA_ARCH__)
  return cbrtf(t);
#else
  uint32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = bits / 3u + 709921077u;
  float y;
  std::memcpy(&y, &bits, sizeof y);
  for (int step = 0; step < 3; ++step) y = (2.0f * y + t / (y * y)) * (1.0f / 3.0f);
  return y;
#endif
}

ARNIQA_HD inline float lab_forward(float t) {
  constexpr float kEpsilon = 0.008856f;  // (6/29)^3: below it the curve is linear
  return t > kEpsilon ? cube_root(fmaxf(t, kEpsilon)) : 7.787f * t + 4.0f / 29.0f;
}

ARNIQA_HD inline float lab_inverse(float f) {
  return f > 0.2068966f ? f * f * f : (f - 4.0f / 29.0f) / 7.787f;
}

ARNIQA_HD inline void rgb_to_lab(float r, float g, float b, float* lightness, float* a, float* b_star) {
  r = srgb_to_linear(r), g = srgb_to_linear(g), b = srgb_to_linear(b);
  const float fx = lab_forward((0.412453f * r + 0.357580f * g + 0.180423f * b) / 0.95047f);
  const float fy = lab_forward(0.212671f * r + 0.715160f * g + 0.072169f * b);
  const float fz = lab_forward((0.019334f * r + 0.119193f * g + 0.950227f * b) / 1.08883f);
  *lightness = 116.0f * fy - 16.0f;
  *a = 500.0f * (fx - fy);
  *b_star = 200.0f * (fy - fz);
}

// Lab -> sRGB clipped to [0, 1]; Z is kept >= 0 for out-of-gamut colours.
ARNIQA_HD inline void lab_to_rgb(float lightness, float a, float b_star, float* r, float* g, float* b) {
  const float fy = (lightness + 16.0f) / 116.0f;
  const float x = lab_inverse(fy + a / 500.0f) * 0.95047f;
  const float y = lab_inverse(fy);
  const float z = lab_inverse(fmaxf(fy - b_star / 200.0f, 0.0f)) * 1.08883f;
  *r = clamp01(linear_to_srgb(3.2404813432005266f * x - 1.5371515162713185f * y - 0.4985363261688878f * z));
  *g = clamp01(linear_to_srgb(-0.9692549499965682f * x + 1.8759900014898907f * y + 0.0415559265582928f * z));
  *b = clamp01(linear_to_srgb(0.0556466391351772f * x - 0.2040413383665112f * y + 1.0573110696453443f * z));
}

// Bilinear sample of a plane at (row, col), coordinates clamped to the pixel centres.
ARNIQA_HD inline float sample_bilinear(const float* plane, int height, int width, float row, float col) {
  row = clamp_to(row, 0.0f, static_cast<float>(height - 1));
  col = clamp_to(col, 0.0f, static_cast<float>(width - 1));
  const int row0 = static_cast<int>(row);
  const int col0 = static_cast<int>(col);
  const int row1 = row0 + 1 < height ? row0 + 1 : row0;
  const int col1 = col0 + 1 < width ? col0 + 1 : col0;
  const float dr = row - static_cast<float>(row0);
  const float dc = col - static_cast<float>(col0);
  const float top = plane[row0 * width + col0] * (1.0f - dc) + plane[row0 * width + col1] * dc;
  const float bottom = plane[row1 * width + col0] * (1.0f - dc) + plane[row1 * width + col1] * dc;
  return top * (1.0f - dr) + bottom * dr;
}

}  // namespace arniqa_edge::distort
