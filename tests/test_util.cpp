#include "test_util.hpp"

#include "fmnist/model/checkpoint.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fmnist::testing {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fmnist-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string gzip(const std::string& bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::string& payload,
                      unsigned char type) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((d >> shift) & 0xff);
  }
  return bytes + payload;
}

namespace {
void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

std::string big_endian(std::uint32_t value) {
  std::string bytes;
  for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((value >> shift) & 0xff);
  return bytes;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  std::string body = type + data;
  auto crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return big_endian(static_cast<std::uint32_t>(data.size())) + body +
         big_endian(static_cast<std::uint32_t>(crc));
}
}  // namespace

std::string png_bytes(const torch::Tensor& hwc) {
  torch::Tensor pixels = hwc.contiguous();
  std::string out;
  int width = static_cast<int>(pixels.size(1));
  stbi_write_png_to_func(append_to_string, &out, width, static_cast<int>(pixels.size(0)),
                         static_cast<int>(pixels.size(2)), pixels.data_ptr(),
                         width * static_cast<int>(pixels.size(2)));
  return out;
}

std::string jpeg_bytes(const torch::Tensor& hwc) {
  torch::Tensor pixels = hwc.contiguous();
  std::string out;
  stbi_write_jpg_to_func(append_to_string, &out, static_cast<int>(pixels.size(1)),
                         static_cast<int>(pixels.size(0)), static_cast<int>(pixels.size(2)),
                         pixels.data_ptr(), /*quality=*/95);
  return out;
}

std::string with_exif_orientation(const std::string& jpeg, int orientation, bool big_endian) {
  auto u16 = [&](unsigned v) {
    std::string b = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
    return big_endian ? b : std::string{b[1], b[0]};
  };
  auto u32 = [&](std::uint32_t v) {
    return big_endian ? u16(v >> 16) + u16(v & 0xffff) : u16(v & 0xffff) + u16(v >> 16);
  };
  // TIFF header, then IFD 0 at offset 8: one entry, Orientation (274), SHORT (3), count 1, its
  // value left-justified in the 4-byte field; no next IFD.
  std::string tiff = (big_endian ? "MM" : "II") + u16(42) + u32(8) + u16(1) + u16(274) + u16(3) +
                     u32(1) + u16(orientation) + u16(0) + u32(0);
  std::string payload = std::string("Exif\0\0", 6) + tiff;
  std::size_t length = payload.size() + 2;
  std::string segment = std::string("\xFF\xE1", 2) + static_cast<char>(length >> 8) +
                        static_cast<char>(length & 0xff) + payload;
  return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

torch::Tensor decode_png_rgb(const std::string& png) {
  int width = 0, height = 0, channels = 0;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(png.data()),
                                                static_cast<int>(png.size()), &width, &height,
                                                &channels, /*desired_channels=*/3);
  EXPECT_NE(pixels, nullptr) << "not a PNG (" << png.size() << " bytes)";
  if (!pixels) return torch::zeros({0, 0, 3}, torch::kUInt8);
  torch::Tensor rgb = torch::from_blob(pixels, {height, width, 3}, torch::kUInt8).clone();
  stbi_image_free(pixels);
  return rgb;
}

std::int64_t count_pixels(const torch::Tensor& rgb, int r, int g, int b, int tolerance) {
  torch::Tensor target = torch::tensor({r, g, b}, torch::kInt32);
  torch::Tensor close = (rgb.to(torch::kInt32) - target).abs().le(tolerance).all(/*dim=*/-1);
  return close.sum().item<std::int64_t>();
}

std::string raw_png_bytes(int width, int height, int bit_depth, int color_type,
                          const std::string& rows, const std::string& palette) {
  std::string filtered;
  std::size_t row_bytes = rows.size() / height;
  for (int y = 0; y < height; ++y) filtered += '\0' + rows.substr(y * row_bytes, row_bytes);
  uLongf size = compressBound(filtered.size());
  std::string compressed(size, '\0');
  compress(reinterpret_cast<Bytef*>(compressed.data()), &size,
           reinterpret_cast<const Bytef*>(filtered.data()), filtered.size());
  compressed.resize(size);
  std::string header = big_endian(width) + big_endian(height) + static_cast<char>(bit_depth) +
                       static_cast<char>(color_type) + std::string(3, '\0');
  std::string png = "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", header);
  if (!palette.empty()) png += png_chunk("PLTE", palette);
  return png + png_chunk("IDAT", compressed) + png_chunk("IEND", "");
}

void save_fresh_checkpoint(const std::filesystem::path& path, std::uint64_t seed) {
  torch::manual_seed(seed);
  Checkpoint checkpoint;
  checkpoint.model = Net();
  save_checkpoint(path, checkpoint);
}

CommandResult run_fmnist(const std::string& args, const std::filesystem::path& dir,
                         const std::string& environment) {
  std::string command = "cd '" + dir.string() + "' && FMNIST_DATA= " + environment + " '" +
                        FMNIST_BINARY "' " + args + " >stdout.txt 2>stderr.txt";
  int raw = std::system(command.c_str());
  CommandResult run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  run.out = read_bytes(dir / "stdout.txt");
  run.err = read_bytes(dir / "stderr.txt");
  return run;
}

void save_checkpoint_with(const std::filesystem::path& path, const Checkpoint& checkpoint,
                          const CheckpointEdit& edit) {
  save_checkpoint(path, checkpoint);
  std::string bytes = read_bytes(path);
  c10::impl::GenericDict document =
      torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
  auto metadata = nlohmann::ordered_json::parse(document.at("metadata").toStringRef());
  edit(document, metadata);
  document.insert_or_assign("metadata", metadata.dump());
  std::vector<char> edited = torch::pickle_save(document);
  write_bytes(path, std::string(edited.begin(), edited.end()));
}

SyntheticSplit make_split(std::int64_t count, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  torch::Tensor images = torch::zeros({count, 28, 28}, torch::kUInt8);
  torch::Tensor labels = torch::empty({count}, torch::kUInt8);
  for (std::int64_t i = 0; i < count; ++i) {
    int label = static_cast<int>(i % 10);
    labels[i] = label;
    // Classes differ in shape, not place, so they survive predict's crop-and-centre: a
    // bar as long as the image (like Fashion-MNIST's items), vertical for classes 0-4 and
    // horizontal for 5-9, 3 + 4 * (c % 5) thick.
    std::int64_t thick = 3 + 4 * (label % 5);
    std::int64_t shift = static_cast<std::int64_t>(rng() % 3) - 1;
    std::int64_t from = (28 - thick) / 2 + shift;
    auto bar =
        label < 5 ? images[i].slice(1, from, from + thick) : images[i].slice(0, from, from + thick);
    bar.fill_(200 + static_cast<int>(rng() % 56));
  }
  return {images, labels};
}

namespace {
std::string tensor_bytes(const torch::Tensor& t) {
  return std::string(static_cast<const char*>(t.data_ptr()), t.numel());
}
}  // namespace

void write_split(const std::filesystem::path& dir, const std::string& prefix,
                 const SyntheticSplit& split, bool gzipped) {
  auto dims = [](const torch::Tensor& t) {
    std::vector<std::uint32_t> d;
    for (auto s : t.sizes()) d.push_back(static_cast<std::uint32_t>(s));
    return d;
  };
  std::string images = idx_bytes(dims(split.images), tensor_bytes(split.images));
  std::string labels = idx_bytes(dims(split.labels), tensor_bytes(split.labels));
  std::string suffix = gzipped ? ".gz" : "";
  write_bytes(dir / (prefix + "-images-idx3-ubyte" + suffix), gzipped ? gzip(images) : images);
  write_bytes(dir / (prefix + "-labels-idx1-ubyte" + suffix), gzipped ? gzip(labels) : labels);
}

void write_dataset(const std::filesystem::path& dir, std::int64_t train_count,
                   std::int64_t test_count, bool gzipped) {
  write_split(dir, "train", make_split(train_count, /*seed=*/1), gzipped);
  write_split(dir, "t10k", make_split(test_count, /*seed=*/2), gzipped);
}

}  // namespace fmnist::testing
