// The one translation unit that compiles the vendored stb_image (third_party/stb). Only the
// decoders fmnist accepts are compiled: stb_image's TGA, PSD, HDR and PIC decoders are its least
// robust ones, and no input can reach code that is not there.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO  // fmnist decodes from memory: read_file bounds the size first
#include "stb_image.h"
