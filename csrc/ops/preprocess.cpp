// Geometry and argument validation of the preprocessing op, shared by both devices.
#include "ops/preprocess.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace arniqa_edge {
namespace {

std::string size_text(Size s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width);
}

// ARNIQA's crop order: center, top-left, bottom-left, top-right, bottom-right.
ScaleCrops place_crops(Size image, CropMode mode, int crop_size, const char* scale_name,
                       Size frame) {
  ScaleCrops crops{};
  crops.image = image;
  if (mode == CropMode::kWhole) {
    crops.crop = image;
    crops.count = 1;
    return crops;
  }
  if (crop_size > image.height || crop_size > image.width) {
    std::ostringstream msg;
    msg << "crop_size " << crop_size << " does not fit the " << scale_name << " scale ("
        << size_text(image) << ") of a " << size_text(frame)
        << " frame; use crop=\"whole\" or a smaller crop_size";
    throw std::invalid_argument(msg.str());
  }
  const int bottom = image.height - crop_size;
  const int right = image.width - crop_size;
  crops.crop = {crop_size, crop_size};
  crops.count = mode == CropMode::kCenter ? 1 : 5;
  crops.top = {image.height / 2 - crop_size / 2, 0, bottom, 0, bottom};
  crops.left = {image.width / 2 - crop_size / 2, 0, 0, right, right};
  return crops;
}

}  // namespace

CropMode parse_crop_mode(const std::string& name) {
  if (name == "whole") return CropMode::kWhole;
  if (name == "center") return CropMode::kCenter;
  if (name == "five") return CropMode::kFive;
  throw std::invalid_argument("crop must be \"whole\", \"center\" or \"five\", got \"" + name + "\"");
}

ChannelOrder parse_channel_order(const std::string& name) {
  if (name == "bgr") return ChannelOrder::kBGR;
  if (name == "rgb") return ChannelOrder::kRGB;
  throw std::invalid_argument("channels must be \"bgr\" or \"rgb\", got \"" + name + "\"");
}

OutputDType parse_output_dtype(const std::string& name) {
  if (name == "float32") return OutputDType::kFloat32;
  if (name == "float16") return OutputDType::kFloat16;
  throw std::invalid_argument("dtype must be \"float32\" or \"float16\", got \"" + name + "\"");
}

PreprocessPlan make_plan(Size frame, CropMode mode, int crop_size) {
  if (frame.height < 2 || frame.width < 2) {
    throw std::invalid_argument("frame must be at least 2x2 pixels (the half scale halves each side), got " +
                                size_text(frame));
  }
  if (mode != CropMode::kWhole && crop_size < 1) {
    throw std::invalid_argument("crop_size must be positive, got " + std::to_string(crop_size));
  }
  const Size half{frame.height / 2, frame.width / 2};
  return {place_crops(frame, mode, crop_size, "full", frame),
          place_crops(half, mode, crop_size, "half", frame)};
}

Normalization make_normalization(const std::array<double, 3>& mean,
                                 const std::array<double, 3>& std) {
  Normalization norm{};
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(mean[c]) || !std::isfinite(std[c]) || std[c] == 0.0) {
      throw std::invalid_argument("mean must be finite and std finite and non-zero, got mean[" +
                                  std::to_string(c) + "]=" + std::to_string(mean[c]) + ", std[" +
                                  std::to_string(c) + "]=" + std::to_string(std[c]));
    }
    // Folded in double, rounded once to float.
    norm.scale[c] = static_cast<float>(1.0 / (255.0 * std[c]));
    norm.bias[c] = static_cast<float>(-mean[c] / std[c]);
  }
  return norm;
}

}  // namespace arniqa_edge
