// CPU kernel of the preprocessing op.
//
// Full scale: one pass per output row, uint8 interleaved -> planar float with one
// multiply-add per value. Half scale: separable antialias filter per output row,
// vertical pass first (contiguous uint8 rows -> an interleaved float row, a loop the
// compiler vectorises), then the horizontal pass over that row with precomputed
// taps, normalising as it writes. Only the pixels inside the crops are computed.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "ops/antialias.h"
#include "ops/cpu/float16.h"
#include "ops/cpu/parallel.h"
#include "ops/cpu/vector_clones.h"
#include "ops/preprocess.h"

// The inner loops have AVX2 clones (ops/cpu/vector_clones.h): AVX2's byte shuffles
// make the stride-3 pixel loads several times faster.

namespace arniqa_edge {
namespace {

// Antialias taps of a run of output indices, padded to the same tap count with zero
// weights and shifted so that every tap reads inside the input. A fixed count keeps
// the inner loops branch-free.
struct TapTable {
  int taps = 0;
  std::vector<int> first;
  std::vector<float> weights;  // taps per output index
};

TapTable make_tap_table(int in_size, int out_size, int out_begin, int out_count) {
  std::vector<AntialiasTaps> exact(out_count);
  TapTable table;
  for (int i = 0; i < out_count; ++i) {
    exact[i] = antialias_taps(out_begin + i, in_size, out_size);
    table.taps = std::max(table.taps, exact[i].count);
  }
  table.first.resize(out_count);
  table.weights.assign(static_cast<size_t>(out_count) * table.taps, 0.0f);
  for (int i = 0; i < out_count; ++i) {
    const int first = std::min(exact[i].first, in_size - table.taps);
    const int shift = exact[i].first - first;
    table.first[i] = first;
    std::copy_n(exact[i].weights, exact[i].count, &table.weights[i * table.taps + shift]);
  }
  return table;
}

// The planar rows of one output tensor (crops, 3, crop_h, crop_w).
struct OutputRows {
  void* data;
  OutputDType dtype;
  Size crop;

  int64_t offset(int crop_index, int channel, int y) const {
    return ((static_cast<int64_t>(crop_index) * 3 + channel) * crop.height + y) * crop.width;
  }
};

// Runs compute(dst) to produce output row y of a crop as three float rows; float32
// output is written in place, float16 goes through `scratch` (3 * crop width floats).
template <typename Compute>
void emit_row(const OutputRows& out, int crop_index, int y, float* scratch, Compute compute) {
  float* dst[3];
  if (out.dtype == OutputDType::kFloat32) {
    for (int c = 0; c < 3; ++c) dst[c] = static_cast<float*>(out.data) + out.offset(crop_index, c, y);
    compute(dst);
    return;
  }
  for (int c = 0; c < 3; ++c) dst[c] = scratch + c * out.crop.width;
  compute(dst);
  for (int c = 0; c < 3; ++c) {
    cpu::floats_to_halves(dst[c], static_cast<uint16_t*>(out.data) + out.offset(crop_index, c, y),
                          out.crop.width);
  }
}

std::vector<float> half_scratch(OutputDType dtype, int width) {
  return std::vector<float>(dtype == OutputDType::kFloat16 ? 3 * width : 0);
}

ARNIQA_CPU_CLONES void normalize_row(const uint8_t* src, int width, ChannelOrder order, const Normalization& norm,
                   float* const dst[3]) {
  for (int c = 0; c < 3; ++c) {
    const uint8_t* channel = src + source_channel(order, c);
    const float scale = norm.scale[c];
    const float bias = norm.bias[c];
    float* out = dst[c];
    for (int x = 0; x < width; ++x) out[x] = static_cast<float>(channel[3 * x]) * scale + bias;
  }
}

void full_scale(const PreprocessArgs& args, int num_threads) {
  const ScaleCrops& crops = args.plan.full;
  const OutputRows out{args.out_full, args.dtype, crops.crop};
  const FrameView& frame = args.frame;
  cpu::parallel_for(int64_t{crops.count} * crops.crop.height, num_threads, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch = half_scratch(args.dtype, crops.crop.width);
    for (int64_t row = begin; row < end; ++row) {
      const int crop_index = static_cast<int>(row / crops.crop.height);
      const int y = static_cast<int>(row % crops.crop.height);
      const uint8_t* src = frame.data + (crops.top[crop_index] + y) * frame.row_stride +
                           crops.left[crop_index] * 3;
      emit_row(out, crop_index, y, scratch.data(), [&](float* const dst[3]) {
        normalize_row(src, crops.crop.width, frame.order, args.norm, dst);
      });
    }
  });
}

// The antialias filter of one half-scale crop.
struct CropFilter {
  TapTable rows;
  TapTable cols;
  int col_begin;  // first frame column the horizontal taps read
  int col_end;
};

CropFilter make_crop_filter(const ScaleCrops& half, Size frame, int crop_index) {
  CropFilter filter;
  filter.rows = make_tap_table(frame.height, half.image.height, half.top[crop_index], half.crop.height);
  filter.cols = make_tap_table(frame.width, half.image.width, half.left[crop_index], half.crop.width);
  filter.col_begin = filter.cols.first.front();
  filter.col_end = filter.cols.first.back() + filter.cols.taps;
  return filter;
}

// Vertical pass: the weighted sum of the frame rows under output row y, over the
// columns [col_begin, col_end), still interleaved.
ARNIQA_CPU_CLONES void filter_rows(const FrameView& frame, const CropFilter& filter, int y, float* acc) {
  const TapTable& rows = filter.rows;
  const int count = (filter.col_end - filter.col_begin) * 3;
  const float* weights = &rows.weights[static_cast<size_t>(y) * rows.taps];
  const uint8_t* src = frame.data + rows.first[y] * frame.row_stride + filter.col_begin * 3;
  for (int i = 0; i < count; ++i) acc[i] = weights[0] * static_cast<float>(src[i]);
  for (int k = 1; k < rows.taps; ++k) {
    src += frame.row_stride;
    const float w = weights[k];
    for (int i = 0; i < count; ++i) acc[i] += w * static_cast<float>(src[i]);
  }
}

// Horizontal pass over the output of filter_rows, normalising into planar RGB.
// kTaps > 0 fixes the tap count at compile time (unrolled); 0 reads it at run time.
template <int kTaps>
ARNIQA_CPU_CLONES void filter_columns(const float* acc, const CropFilter& filter, int width, ChannelOrder order,
                    const Normalization& norm, float* const dst[3]) {
  const TapTable& cols = filter.cols;
  const int taps = kTaps > 0 ? kTaps : cols.taps;
  const int r = source_channel(order, 0);
  const int b = source_channel(order, 2);
  for (int x = 0; x < width; ++x) {
    const float* w = &cols.weights[static_cast<size_t>(x) * taps];
    const float* px = acc + (cols.first[x] - filter.col_begin) * 3;
    float sum[3] = {0.0f, 0.0f, 0.0f};
    for (int k = 0; k < taps; ++k) {
      sum[0] += w[k] * px[3 * k];
      sum[1] += w[k] * px[3 * k + 1];
      sum[2] += w[k] * px[3 * k + 2];
    }
    dst[0][x] = sum[r] * norm.scale[0] + norm.bias[0];
    dst[1][x] = sum[1] * norm.scale[1] + norm.bias[1];
    dst[2][x] = sum[b] * norm.scale[2] + norm.bias[2];
  }
}

using FilterColumns = void (*)(const float*, const CropFilter&, int, ChannelOrder,
                               const Normalization&, float* const[3]);

// Exact 2x reductions use 4 taps (2 and 3 at tiny sizes); odd sizes up to 7.
FilterColumns select_filter_columns(int taps) {
  switch (taps) {
    case 2: return filter_columns<2>;
    case 3: return filter_columns<3>;
    case 4: return filter_columns<4>;
    case 5: return filter_columns<5>;
    case 6: return filter_columns<6>;
    case 7: return filter_columns<7>;
    default: return filter_columns<0>;
  }
}

void half_scale(const PreprocessArgs& args, int num_threads) {
  const ScaleCrops& crops = args.plan.half;
  const OutputRows out{args.out_half, args.dtype, crops.crop};
  const FrameView& frame = args.frame;
  std::vector<CropFilter> filters;
  int widest = 0;
  for (int i = 0; i < crops.count; ++i) {
    filters.push_back(make_crop_filter(crops, frame.size, i));
    widest = std::max(widest, filters.back().col_end - filters.back().col_begin);
  }
  cpu::parallel_for(int64_t{crops.count} * crops.crop.height, num_threads, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(widest) * 3);
    std::vector<float> scratch = half_scratch(args.dtype, crops.crop.width);
    for (int64_t row = begin; row < end; ++row) {
      const int crop_index = static_cast<int>(row / crops.crop.height);
      const int y = static_cast<int>(row % crops.crop.height);
      const CropFilter& filter = filters[crop_index];
      const FilterColumns columns = select_filter_columns(filter.cols.taps);
      filter_rows(frame, filter, y, acc.data());
      emit_row(out, crop_index, y, scratch.data(), [&](float* const dst[3]) {
        columns(acc.data(), filter, crops.crop.width, frame.order, args.norm, dst);
      });
    }
  });
}

}  // namespace

void preprocess_cpu(const PreprocessArgs& args, int num_threads) {
  full_scale(args, num_threads);
  half_scale(args, num_threads);
}

}  // namespace arniqa_edge
