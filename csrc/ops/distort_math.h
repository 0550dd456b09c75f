// Per-value arithmetic of the distortion kernels, shared verbatim by the CPU and
// CUDA versions so that both compute the same thing.
#pragma once

#include <cstdint>

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

ARNIQA_HD inline float eval_curve(float x, const float* knots, const float* coefficients) {
  x = clamp01(x);
  int piece = 0;
  for (int i = 1; i < kCurvePieces; ++i) piece = x >= knots[i] ? i : piece;
  const float t = x - knots[piece];
  const float* c = coefficients + 4 * piece;
  return clamp01(((c[0] * t + c[1]) * t + c[2]) * t + c[3]);
}

// Bin of an 8-bit-scaled value among the edges 0, floor(255 k / levels) for
// k = 1..levels-1, and 256: the number of edges below it (torch.bucketize's rule).
ARNIQA_HD inline int quantization_bin(float value, int levels) {
  const float scaled = value * 255.0f;
  int bin = scaled > 0.0f ? 1 : 0;
  for (int k = 1; k < levels; ++k) bin += scaled > static_cast<float>(255 * k / levels) ? 1 : 0;
  return bin + (scaled > 256.0f ? 1 : 0);
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
