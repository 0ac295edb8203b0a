#pragma once

#include <cstdint>
#include <string>
#include <vector>

// What every Fashion-MNIST-shaped data set is: 28x28 one-channel uint8 images in 10 classes.
// The data's facts, not the network's: the model, the image preprocessing and the checkpoint
// take them from here.
namespace fmnist {

inline constexpr std::int64_t kImageSize = 28;
inline constexpr std::int64_t kNumClasses = 10;
inline constexpr double kPixelScale = 1.0 / 255.0;  // uint8 pixels to [0, 1]

// Fashion-MNIST's classes, by label.
const std::vector<std::string>& fashion_class_names();

}  // namespace fmnist
