// The bad-input catalogue run through the real binary: every malformed dataset, image,
// checkpoint and command line must end with exit status 1 or 2 and one `fmnist: error:` line,
// never with a signal, a sanitizer report (exit 86 in scripts/sanitize.sh) or a stack trace.
// Library tests check the messages in detail; cases cli_test.cpp already runs through the binary
// (--epochs 0, --device tpu, unknown flag, random-byte checkpoint, ...) are not repeated.
#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <sstream>
#include <utility>

#include "fmnist/model/checkpoint.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

const std::filesystem::path kBadImages = std::filesystem::path(FMNIST_TEST_DATA_DIR) / "bad-images";
constexpr const char* kReadableBadImage = "jpeg-dht-over-256-codes-oob-write.jpg";

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

struct Case {
  std::string args;
  int status;
  std::string fragment;  // what the error line must say
};

// Log lines ("[12:00:00 info] ...") may come first; the error is the last line and the only one
// that is not a log line.
void expect_clean_failure(const Case& c, const testing::CommandResult& run) {
  SCOPED_TRACE("fmnist " + c.args);
  EXPECT_EQ(run.status, c.status) << run.err;
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.back(), '\n') << run.err;
  std::istringstream lines(run.err);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (!last.empty()) {
      EXPECT_EQ(last.rfind('[', 0), 0u) << "not a log line: " << last;
    }
    last = line;
  }
  EXPECT_EQ(last.rfind("fmnist: error: ", 0), 0u) << run.err;
  EXPECT_NE(last.find(c.fragment), std::string::npos) << run.err;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    save_checkpoint(dir_ / "model.pt", untrained_);
    std::filesystem::create_directory(dir_ / "good");
    testing::write_dataset(dir_ / "good", /*train_count=*/kItems, /*test_count=*/kItems,
                           /*gzipped=*/false);
  }

  void expect_clean_failures(const std::vector<Case>& cases) {
    for (const Case& c : cases) expect_clean_failure(c, testing::run_fmnist(c.args, dir_.path()));
  }

  static std::string good_images() {
    return testing::idx_bytes({kItems, 28, 28}, std::string(kItems * 28 * 28, '\0'));
  }
  static std::string good_labels() {
    return testing::idx_bytes({kItems}, std::string(kItems, '\1'));
  }

  // A data directory `name` holding the test split's two IDX files (raw, or gzip with ".gz").
  void write_test_split(const std::string& name, const std::string& images,
                        const std::string& labels, const std::string& suffix = "") {
    std::filesystem::create_directories(dir_ / name);
    testing::write_bytes(dir_ / name / ("t10k-images-idx3-ubyte" + suffix), images);
    testing::write_bytes(dir_ / name / ("t10k-labels-idx1-ubyte" + suffix), labels);
  }

  static constexpr std::uint32_t kItems = 20;
  TempDir dir_;
  Checkpoint untrained_;  // enough for fmnist to load
};

TEST_F(BadInputTest, MalformedDatasets) {
  std::string images = good_images(), labels = good_labels();
  std::string bad_magic = images;
  bad_magic[0] = '\x12';
  std::string bad_label = labels;
  bad_label[8 + 5] = 12;
  write_test_split("empty", "", labels);
  write_test_split("header", images.substr(0, 7), labels);
  write_test_split("trailing", images + "extra!", labels);
  write_test_split("magic", bad_magic, labels);
  write_test_split("dtype", testing::idx_bytes({kItems, 28, 28}, "", /*type=*/0x0d), labels);
  write_test_split("dims", testing::idx_bytes({kItems, 784}, images.substr(16)), labels);
  write_test_split("billions", testing::idx_bytes({4000000000u, 28, 28}, ""), labels);
  write_test_split("size", testing::idx_bytes({kItems, 32, 32}, std::string(kItems * 1024, '\0')),
                   labels);
  write_test_split("label", images, bad_label);
  write_test_split("count", images, testing::idx_bytes({kItems - 1}, labels.substr(9)));
  write_test_split("swapped", labels, images);
  write_test_split("garbage-gz", "\x1f\x8b\x08\x00garbage, not deflate data", testing::gzip(labels),
                   ".gz");
  std::string gzipped = testing::gzip(images);
  write_test_split("cut-gz", gzipped.substr(0, gzipped.size() / 2), testing::gzip(labels), ".gz");
  write_test_split("no-labels", images, "");
  std::filesystem::remove(dir_ / "no-labels" / "t10k-labels-idx1-ubyte");
  std::filesystem::create_directories(dir_ / "dir" / "t10k-images-idx3-ubyte");
  testing::write_bytes(dir_ / "dir" / "t10k-labels-idx1-ubyte", labels);

  auto eval = [](const std::string& data) { return "eval model.pt --device cpu --data " + data; };
  expect_clean_failures({
      {eval("empty"), kRuntimeError, "t10k-images-idx3-ubyte: file is empty"},
      {eval("header"), kRuntimeError,
       "t10k-images-idx3-ubyte: truncated: the IDX header needs 12 bytes, the file holds only 3"},
      {eval("trailing"), kRuntimeError, "6 bytes more than its header declares"},
      {eval("magic"), kRuntimeError, "bad magic number"},
      {eval("dtype"), kRuntimeError, "IDX data type 0x0d is not supported"},
      {eval("dims"), kRuntimeError, "has 2 dimensions"},
      {eval("billions"), kRuntimeError, "refusing it"},
      {eval("size"), kRuntimeError, "images are 32x32"},
      {eval("label"), kRuntimeError, "label 12 at index 5 is outside 0..9"},
      {eval("count"), kRuntimeError, "19 labels but 20 images"},
      {eval("swapped"), kRuntimeError,
       "t10k-images-idx3-ubyte: has 1 dimensions, but an images file has 3"},
      {eval("garbage-gz"), kRuntimeError,
       "garbage-gz/t10k-images-idx3-ubyte.gz: gzip data is truncated"},
      {eval("cut-gz"), kRuntimeError, "gzip data is truncated"},
      {eval("no-labels"), kRuntimeError, "t10k-labels-idx1-ubyte"},
      {eval("dir"), kRuntimeError, "--data dir: holds no Fashion-MNIST IDX files"},
      {eval("nowhere"), kRuntimeError, "--data nowhere: no such directory"},
      {eval("model.pt"), kRuntimeError, "--data model.pt: is not a directory"},
  });
}

TEST_F(BadInputTest, MalformedImages) {
  auto photo = [] {  // a light block on black: an item predict can find
    torch::Tensor image = torch::zeros({40, 40, 1}, torch::kUInt8);
    image.slice(0, 5, 30).slice(1, 10, 25).fill_(255);
    return image;
  };
  std::string png = testing::png_bytes(photo());
  std::string jpeg = testing::jpeg_bytes(photo().expand({40, 40, 3}));
  std::string huge = testing::raw_png_bytes(10000, 1, 8, 0, std::string(10000, '\0'));
  huge.replace(20, 4, std::string("\x00\x00\x27\x10", 4));  // IHDR height := 10000
  std::string rows16(2 * 4 * 2, '\xff');
  std::string deep = testing::raw_png_bytes(2, 4, 16, 0, rows16);
  std::string palette_rows("\x00\x01\x01\x00", 4);
  testing::write_bytes(dir_ / "empty.png", "");
  testing::write_bytes(dir_ / "cut.png", png.substr(0, png.size() / 2));
  testing::write_bytes(dir_ / "cut.jpg", jpeg.substr(0, jpeg.size() / 3));
  testing::write_bytes(dir_ / "cut16.png", deep.substr(0, deep.size() - 20));
  testing::write_bytes(dir_ / "huge.png", huge);
  testing::write_bytes(dir_ / "no-plte.png", testing::raw_png_bytes(2, 2, 8, 3, palette_rows));
  testing::write_bytes(dir_ / "one.png",
                       testing::png_bytes(torch::full({1, 1, 1}, 200, torch::kUInt8)));
  testing::write_bytes(dir_ / "blank.png",
                       testing::png_bytes(torch::full({30, 30, 3}, 90, torch::kUInt8)));
  testing::write_bytes(dir_ / "ascii.pgm", "P2\n2 2\n255\n0 255\n255 0\n");
  testing::write_bytes(dir_ / "image.tga",
                       std::string("\0\0\2\0\0\0\0\0\0\0\0\0\2\0\2\0\x18\0", 18));
  std::filesystem::create_directory(dir_ / "folder.png");

  auto predict = [](const std::string& image) {
    return "predict " + image + " --model model.pt --device cpu";
  };
  std::vector<Case> cases = {
      {predict("empty.png"), kRuntimeError, "empty.png: file is empty"},
      {predict("cut.png"), kRuntimeError,
       "cut.png: corrupt PNG (a chunk runs past the end of the file)"},
      {predict("cut.jpg"), kRuntimeError,
       "cut.jpg: corrupt JPEG (truncated: no end-of-image marker)"},
      {predict("cut16.png"), kRuntimeError, "cut16.png: corrupt PNG"},
      {predict("huge.png"), kRuntimeError, "10000x10000, more than the 67108864 pixels"},
      {predict("no-plte.png"), kRuntimeError,
       "no-plte.png: not a readable image (unknown image type)"},
      {predict("one.png"), kRuntimeError, "one.png: no item found"},
      {predict("blank.png"), kRuntimeError, "blank.png: no item found"},
      {predict("ascii.pgm"), kRuntimeError, "ascii.pgm: not a readable image"},
      {predict("image.tga"), kRuntimeError, "image.tga: not a readable image"},
      {predict("folder.png"), kRuntimeError, "folder.png: holds no images"},
      {predict("missing.png"), kRuntimeError, "missing.png: no such file"},
  };
  // What the fuzzers found, but the one stb_image 2.30 reads: its picture differs between the
  // Release and the ASan build (open).
  const std::map<std::string, std::string> fuzzer_findings = {
      {"bmp-negative-height-bypasses-pixel-cap.bmp",
       "image is 20000x20000, more than the 67108864 pixels accepted"},
      {"hdr-truncated-rle-infinite-loop.hdr", "not a readable image (not PNG, JPEG, GIF, BMP"},
      {"jpeg-undefined-huffman-table-oob-read.jpg", "no item found (the image is blank)"},
      {"pgm-header-int-overflow.pgm", "not a readable image (unknown image type)"},
      {"pgm-truncated-uninitialised-pixels.pgm", "cannot decode image (bad PNM)"},
      {"pgm-zero-size-c10-indexerror.pgm", "not a readable image (unknown image type)"},
      {"png-idat-2gib-alloc.png", "corrupt PNG (a chunk runs past the end of the file)"},
      {"psd-40-bytes-8192x8192.psd", "not a readable image (not PNG, JPEG, GIF, BMP"},
  };
  for (const auto& file : std::filesystem::directory_iterator(kBadImages)) {
    const std::string name = file.path().filename().string();
    if (name == kReadableBadImage) continue;
    ASSERT_EQ(fuzzer_findings.count(name), 1u) << "what does fmnist say to " << name << "?";
    cases.push_back({predict(file.path().string()), kRuntimeError,
                     file.path().string() + ": " + fuzzer_findings.at(name)});
  }
  expect_clean_failures(cases);
}

// What README promises to read, however unusual its encoding, is predicted (exit 0): a 16-bit
// and a palette PNG reach the model as the same picture in 8 bits does; an animated GIF by its
// first frame.
TEST_F(BadInputTest, SixteenBitPalettePngsAndAnimatedGifsArePredicted) {
  constexpr int kSide = 40;
  torch::Tensor grey = torch::zeros({kSide, kSide}, torch::kUInt8);
  grey.slice(0, 5, 30).slice(1, 10, 25).fill_(200);
  grey.slice(0, 12, 20).slice(1, 14, 20).fill_(90);
  std::string rows16, indices;
  const std::uint8_t* pixels = grey.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < grey.numel(); ++i) {
    const char value = static_cast<char>(pixels[i]);
    rows16 += {value, value};  // value * 257, big-endian
    indices += static_cast<char>(pixels[i] == 0 ? 0 : pixels[i] == 90 ? 1 : 2);
  }
  testing::write_bytes(dir_ / "eight.png", testing::png_bytes(grey.unsqueeze(2)));
  testing::write_bytes(dir_ / "sixteen.png", testing::raw_png_bytes(kSide, kSide, 16, 0, rows16));
  testing::write_bytes(dir_ / "palette.png",
                       testing::raw_png_bytes(kSide, kSide, 8, 3, indices,
                                              std::string("\0\0\0\x5a\x5a\x5a\xc8\xc8\xc8", 9)));
  std::filesystem::path gif =
      std::filesystem::path(FMNIST_TEST_DATA_DIR) / "../fuzz/corpus/image/anim.gif";
  testing::CommandResult run =
      testing::run_fmnist("predict eight.png sixteen.png palette.png " + gif.string() +
                              " --model model.pt --device cpu --format csv --save-input inputs",
                          dir_.path());
  ASSERT_EQ(run.status, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<std::pair<std::string, double>> top;  // each row's class and probability
  std::string header;
  std::getline(lines, header);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string file, name, probability;
    std::getline(fields, file, ',');
    std::getline(fields, name, ',');
    std::getline(fields, probability, ',');
    top.emplace_back(name, std::stod(probability));
  }
  ASSERT_EQ(top.size(), 4u) << run.out;
  // The same picture, up to the float rounding of its decoding (16 bits: v * 257 / 65535).
  for (int i : {1, 2}) {
    EXPECT_EQ(top[i].first, top[0].first) << run.out;
    EXPECT_NEAR(top[i].second, top[0].second, 1e-5) << run.out;
  }
  std::string eight = testing::read_bytes(dir_ / "inputs" / "000001-eight.png");
  ASSERT_FALSE(eight.empty());
  EXPECT_EQ(testing::read_bytes(dir_ / "inputs" / "000002-sixteen.png"), eight);
  EXPECT_EQ(testing::read_bytes(dir_ / "inputs" / "000003-palette.png"), eight);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "inputs" / "000004-anim.png"));
}

// Runs fmnist as the user nobody when the tests run as root (as CI does): root reads and writes
// every file whatever its permissions.
testing::CommandResult run_unprivileged(const std::string& args, const TempDir& dir) {
  return testing::run_fmnist(
      args, dir.path(),
      geteuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups" : "");
}

TEST_F(BadInputTest, UnreadableFilesAndFoldersAndUnwritableOutputs) {
  namespace fs = std::filesystem;
  const fs::perms readable = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir_.path(), readable);  // nobody may enter; the parts below are locked
  fs::create_directories(dir_ / "locked");
  fs::copy_file(dir_ / "model.pt", dir_ / "unreadable.pt");
  testing::write_bytes(dir_ / "locked" / "bag.png",
                       testing::png_bytes(torch::zeros({28, 28, 1}, torch::kUInt8)));
  fs::copy_file(dir_ / "locked" / "bag.png", dir_ / "unreadable.png");
  fs::copy_file(dir_ / "model.pt", dir_ / "locked" / "model.pt");
  fs::create_directories(dir_ / "tree" / "locked");
  torch::Tensor item = torch::zeros({28, 28, 1}, torch::kUInt8);
  item.slice(0, 4, 24).slice(1, 8, 20).fill_(220);
  testing::write_bytes(dir_ / "tree" / "bag.png", testing::png_bytes(item));
  fs::copy_file(dir_ / "unreadable.png", dir_ / "tree" / "locked" / "coat.png");
  fs::create_directories(dir_ / "ro");
  fs::create_directories(dir_ / "rw");
  fs::permissions(dir_ / "rw", fs::perms::all);
  fs::copy_file(dir_ / "model.pt", dir_ / "ro" / "model.pt");
  fs::copy(dir_ / "good", dir_ / "locked-data");
  const std::vector<fs::path> locked = {dir_ / "locked", dir_ / "unreadable.pt",
                                        dir_ / "unreadable.png", dir_ / "tree" / "locked",
                                        dir_ / "locked-data" / "t10k-images-idx3-ubyte"};
  for (const fs::path& path : locked) fs::permissions(path, fs::perms::none);
  fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec |
                                   fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
  const std::vector<Case> cases = {
      {"predict unreadable.png --model model.pt --device cpu", kRuntimeError,
       "unreadable.png: cannot open: Permission denied"},
      {"predict locked --model model.pt --device cpu", kRuntimeError,
       "locked: cannot list the directory: Permission denied"},
      // Behind a folder that may not be searched, a file is not missing: it cannot be opened.
      {"predict locked/bag.png --model model.pt --device cpu", kRuntimeError,
       "locked/bag.png: cannot open: Permission denied"},
      {"eval locked/model.pt --device cpu --data good --no-plots", kRuntimeError,
       "locked/model.pt: cannot open: Permission denied"},
      {"train --device cpu --data good --resume locked/model.pt --out rw/model.pt", kRuntimeError,
       "locked/model.pt: cannot open: Permission denied"},
      {"train --device cpu --data good --epochs 1 --out locked/new.pt", kUsageError,
       "--out locked/new.pt: directory locked is not writable"},
      {"eval model.pt --device cpu --data locked --no-plots", kRuntimeError,
       "--data locked: cannot list the directory: Permission denied"},
      {"eval unreadable.pt --device cpu --data good --no-plots", kRuntimeError,
       "unreadable.pt: cannot open: Permission denied"},
      {"eval model.pt --device cpu --data locked-data --no-plots", kRuntimeError,
       "locked-data/t10k-images-idx3-ubyte: cannot open: Permission denied"},
      {"eval ro/model.pt --device cpu --data good", kUsageError,
       "the plots beside ro/model.pt (--plots DIR chooses another place, --no-plots none): "
       "directory ro is not writable"},
      {"train --device cpu --data good --epochs 1 --out ro/new.pt", kUsageError,
       "--out ro/new.pt: directory ro is not writable"},
  };
  for (const Case& c : cases) expect_clean_failure(c, run_unprivileged(c.args, dir_));
  // A folder below a predicted one that may not be listed: its images are inputs that could not
  // be read (one line, exit 1), the others are predicted.
  testing::CommandResult tree =
      run_unprivileged("predict tree --model model.pt --device cpu", dir_);
  EXPECT_EQ(tree.status, kRuntimeError) << tree.err;
  EXPECT_EQ(tree.err, "fmnist: error: tree/locked: cannot list the directory: Permission denied\n");
  EXPECT_EQ(std::count(tree.out.begin(), tree.out.end(), '\n'), 1) << tree.out;
  testing::CommandResult verify = run_unprivileged("data verify --data locked-data", dir_);
  EXPECT_EQ(verify.status, kRuntimeError) << verify.err;
  EXPECT_NE(verify.out.find("UNREADABLE  locked-data/t10k-images-idx3-ubyte: cannot open: "
                            "Permission denied"),
            std::string::npos)
      << verify.out;
  for (const fs::path& path : locked) fs::permissions(path, fs::perms::owner_all);
  fs::permissions(dir_ / "ro", fs::perms::owner_all);  // so that TempDir can remove them
}

// Without --data, FMNIST_DATA, ./data or the installed set, fmnist says where it looked and how
// to install the data. Where the set is installed, a private mount namespace hides it.
TEST_F(BadInputTest, NoDataFoundSaysWhereItLookedAndHowToInstall) {
  const std::string installed = "/usr/share/datasets/fashion-mnist";
  std::string hide;
  if (std::filesystem::exists(installed)) {
    if (geteuid() != 0) FMNIST_SKIP_OUTSIDE_CI(installed + " exists; only root can hide it");
    hide = "unshare --mount sh -c 'mount -t tmpfs none " + installed + " && exec \"$0\" \"$@\"'";
  }
  expect_clean_failure(
      {"eval model.pt --device cpu", kRuntimeError,
       "no Fashion-MNIST data found in ./data or " + installed +
           "; install the data with `apt-get install dataset-fashion-mnist`, or name its "
           "directory with --data DIR or FMNIST_DATA=DIR"},
      testing::run_fmnist("eval model.pt --device cpu", dir_.path(), hide));
}

TEST_F(BadInputTest, MalformedCheckpoints) {
  std::string saved = testing::read_bytes(dir_ / "model.pt");
  testing::write_bytes(dir_ / "empty.pt", "");
  testing::write_bytes(dir_ / "cut.pt", saved.substr(0, saved.size() / 2));
  testing::write_bytes(dir_ / "cut-end.pt", saved.substr(0, saved.size() - 10));
  torch::save(torch::ones({3}), (dir_ / "foreign.pt").string());
  testing::save_checkpoint_with(dir_ / "future.pt", untrained_, [](auto& document, auto&) {
    document.insert_or_assign("version", std::int64_t{99});
  });
  testing::save_checkpoint_with(dir_ / "resnet.pt", untrained_,
                                [](auto&, auto& metadata) { metadata["arch"] = "resnet50"; });
  testing::save_checkpoint_with(dir_ / "odd.pt", untrained_,
                                [](auto&, auto& metadata) { metadata["epoch"] = "three"; });
  std::filesystem::create_directory(dir_ / "folder.pt");

  auto eval = [](const std::string& model) {
    return "eval " + model + " --device cpu --data good";
  };
  expect_clean_failures({
      {eval("empty.pt"), kRuntimeError, "empty.pt: file is empty"},
      {eval("cut.pt"), kRuntimeError, "cut.pt: not an fmnist checkpoint (not a zip archive"},
      {eval("cut-end.pt"), kRuntimeError,
       "cut-end.pt: not an fmnist checkpoint (not a zip archive of the expected layout; truncated "
       "or damaged?)"},
      {eval("foreign.pt"), kRuntimeError,
       "foreign.pt: not an fmnist checkpoint (no 'format' field)"},
      {eval("future.pt"), kRuntimeError, "checkpoint format version 99 is not supported"},
      {eval("resnet.pt"), kRuntimeError, "architecture 'resnet50' is not supported"},
      {eval("odd.pt"), kRuntimeError, "odd.pt: corrupt checkpoint ('epoch' has the wrong type)"},
      {eval("folder.pt"), kRuntimeError, "folder.pt: is a directory"},
      {"predict x.png --device cpu --model future.pt", kRuntimeError,
       "future.pt: checkpoint format version 99 is not supported"},
      {"train --device cpu --data good --resume resnet.pt", kRuntimeError,
       "resnet.pt: architecture 'resnet50' is not supported"},
      {"train --device cpu --data good --resume missing.pt", kUsageError,
       "--resume missing.pt: no such file"},
  });
}

TEST_F(BadInputTest, BadCommandLines) {
  write_test_split("trousers", good_images(), good_labels());  // every label is 1, Trouser
  // On the small data set: a bad value that slipped through would train briefly, not for hours.
  auto train = [](const std::string& flags) { return "train --data good --device cpu " + flags; };
  expect_clean_failures({
      {train("--epochs -3"), kUsageError, "--epochs"},
      {train("--out good"), kUsageError,
       "--out good: is a directory; give a file name, e.g. --out good/model.pt"},
      {train("--out good/"), kUsageError, "--out good/: is a directory"},
      {train("--epochs abc"), kUsageError, "--epochs"},
      {train("--epochs 99999999999999999999"), kUsageError, "--epochs"},
      {train("--batch-size 99999999999999999999"), kUsageError, "--batch-size"},
      {train("--batch-size 0"), kUsageError, "--batch-size"},
      {train("--lr 0"), kUsageError, "--lr"},
      {train("--lr -1"), kUsageError, "--lr"},
      {train("--threads -1"), kUsageError, "--threads"},
      {train("--epochs"), kUsageError, "--epochs"},
      {train("--out /dev/null/m.pt"), kUsageError, "--out /dev/null/m.pt: cannot create"},
      {"eval --device gpu", kUsageError, "--device"},
      {"eval --frobnicate", kUsageError, "frobnicate"},
      {"predict x.png --top-k 0", kUsageError, "--top-k"},
      {"predict x.png --device", kUsageError, "--device"},
      {"frobnicate", kUsageError,
       "'frobnicate' is not a subcommand (train, eval, predict, serve, info, summary, show, data, "
       "checkpoint, completion, manual)"},
      {"data verfy", kUsageError, "'verfy' is not a subcommand of data (verify)"},
      {"serve --port 70000", kUsageError, "--port"},
      {"serve a.pt --model b.pt", kUsageError,
       "--model: takes one value, given 2; a bare argument in its place is --model too (see "
       "fmnist serve --help)"},
      {"serve --max-batch 0", kUsageError, "--max-batch"},
      {"serve --batch-wait-ms -1", kUsageError, "--batch-wait-ms"},
      {"serve --max-queue 8 --max-batch 64", kUsageError,
       "--max-queue: must be at least --max-batch"},
      {"show --out .", kUsageError,
       "--out .: is a directory; give a file name, e.g. --out show.png"},
      {"eval model.pt --plots figures --no-plots", kUsageError, "--plots excludes --no-plots"},
      {"--log-level loud train", kUsageError, "--log-level"},
      {train("--nproc 2 --rank 0 --out ranks.pt"), kUsageError,
       "--nproc: starts its own ranks; drop --rank, --world-size and --local-rank"},
      {"show --index 3 --class Bag --data good", kUsageError,
       "--index and --class: give one of them, not both"},
      {"show --count 0 --data good", kUsageError,
       "--count: must be a whole number from 1 to 400, not '0'"},
      {"show --class Bag --data trousers", kRuntimeError,
       "the test split holds no images of class Bag"},
  });
}

// A history.csv that is not fmnist's, found on --resume: a warning, and training goes on.
TEST_F(BadInputTest, ForeignHistoryOnResumeIsAWarning) {
  const std::string train = "train --data good --device cpu --threads 1 --val test --out run.pt ";
  testing::CommandResult first = testing::run_fmnist(train + "--epochs 1", dir_.path());
  ASSERT_EQ(first.status, 0) << first.err;
  testing::write_bytes(dir_ / "run.history.csv", "date,price\n2026-12-01,3\n");
  testing::CommandResult resumed =
      testing::run_fmnist(train + "--epochs 2 --resume run.pt", dir_.path());
  EXPECT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("run.history.csv: not an fmnist history (unexpected header); "
                             "starting the history afresh"),
            std::string::npos)
      << resumed.err;
  EXPECT_EQ(testing::read_bytes(dir_ / "run.history.csv").rfind("epoch,", 0), 0u);
}

}  // namespace
}  // namespace fmnist
