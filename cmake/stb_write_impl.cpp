// stb_image_write (third_party/stb), used only by the tests to encode their images. Its JPEG
// writer left-shifts negative values (undefined behaviour UBSan reports, harmless on our
// compilers); cmake/Stb.cmake compiles this file without that check, and only this file.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "stb_image_write.h"
