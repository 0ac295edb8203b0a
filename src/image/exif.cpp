#include "fmnist/image/exif.hpp"

#include <libexif/exif-data.h>

#include <memory>

namespace fmnist {
namespace {

struct ExifDataUnref {
  void operator()(ExifData* data) const { exif_data_unref(data); }
};

constexpr int kUpright = 1;

}  // namespace

int exif_orientation(std::string_view jpeg) {
  // libexif finds the APP1 segment itself, walking the JPEG's markers from the start.
  std::unique_ptr<ExifData, ExifDataUnref> exif(exif_data_new_from_data(
      reinterpret_cast<const unsigned char*>(jpeg.data()), static_cast<unsigned int>(jpeg.size())));
  if (!exif) return kUpright;
  // IFD 0 describes the main image; IFD 1's orientation, if any, is the thumbnail's.
  ExifEntry* entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (!entry || entry->format != EXIF_FORMAT_SHORT || entry->components != 1 || !entry->data) {
    return kUpright;
  }
  int orientation = exif_get_short(entry->data, exif_data_get_byte_order(exif.get()));
  return orientation >= 1 && orientation <= 8 ? orientation : kUpright;
}

torch::Tensor apply_orientation(const torch::Tensor& image, int orientation) {
  TORCH_CHECK(image.dim() == 2, "apply_orientation takes a [H, W] image");
  // EXIF names where the stored rows and columns go: e.g. 6, "row 0 is the right-hand side",
  // means the stored image must turn 90 degrees clockwise.
  switch (orientation) {
    case 2:  // mirrored left-right
      return image.flip({1});
    case 3:  // upside down
      return image.flip({0, 1});
    case 4:  // mirrored top-bottom
      return image.flip({0});
    case 5:  // mirrored along the main diagonal
      return image.t().contiguous();
    case 6:  // turn 90 degrees clockwise
      return image.t().flip({1});
    case 7:  // mirrored along the anti-diagonal
      return image.flip({0, 1}).t().contiguous();
    case 8:  // turn 90 degrees counter-clockwise
      return image.t().flip({0});
    default:
      return image;
  }
}

}  // namespace fmnist
