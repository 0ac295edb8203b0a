#include "fmnist/data/fashion_mnist.hpp"

namespace fmnist {

const std::vector<std::string>& fashion_class_names() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

}  // namespace fmnist
