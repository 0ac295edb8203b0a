// classify MODEL IMAGE...: the three most probable classes of each image, as fmnist predict
// --top-k 3 gives them.
#include <fmnist/classifier/classifier.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    fmnist::Classifier classifier(argv[1]);
    for (int i = 2; i < argc; ++i) {
      std::printf("%s:", argv[i]);
      for (const fmnist::ClassScore& score : classifier.classify_file(argv[i], /*top_k=*/3)) {
        std::printf(" %s %.4f", classifier.class_names()[score.label].c_str(), score.probability);
      }
      std::printf("\n");
    }
  } catch (const fmnist::Error& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
  return 0;
}
