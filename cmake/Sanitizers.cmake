# Sanitizer and fuzzing builds. Include this before the first target: the flags it adds are
# directory-wide, so the library, the CLI, the tests and the fuzz targets all get them.
#
#   FMNIST_SANITIZE=ON  AddressSanitizer + UndefinedBehaviorSanitizer everywhere (gcc or clang);
#                       any undefined behaviour aborts (-fno-sanitize-recover), so a test that
#                       triggers it fails.
#   FMNIST_FUZZ=ON      libFuzzer targets in tests/fuzz (clang only): every source gets coverage
#                       instrumentation (-fsanitize=fuzzer-no-link) plus ASan+UBSan, and the fuzz
#                       executables link with FMNIST_FUZZ_LINK_FLAGS (-fsanitize=fuzzer,...),
#                       which brings libFuzzer's main. The tests link without it and run as an
#                       ASan+UBSan suite: scripts/build-asan.sh builds build-asan/ this way for
#                       both scripts/sanitize.sh and scripts/fuzz.sh.
#
# LibTorch, zlib and OpenBLAS stay Debian's uninstrumented shared libraries (stb_image is compiled
# here, instrumented): ASan still intercepts their malloc/free and memcpy. The runtime
# options that make LibTorch behave under ASan are in scripts/sanitize.sh and scripts/fuzz.sh.

option(FMNIST_SANITIZE "Build everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(FMNIST_FUZZ "Build the libFuzzer targets of tests/fuzz (clang; implies ASan+UBSan)" OFF)

# -g1: line tables, all that a report's stack needs; full debug information of LibTorch's headers
# made the instrumented build's objects several times larger and its compile and link slower.
# FMNIST_EXIT_NORMALLY: main ends the process through exit(), so that LeakSanitizer's check at
# exit runs (base/exit).
set(FMNIST_SANITIZER_COMPILE_FLAGS
  -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g1
  -DFMNIST_EXIT_NORMALLY)
set(FMNIST_SANITIZER_LINK_FLAGS -fsanitize=address,undefined)

if(FMNIST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FMNIST_FUZZ needs clang's libFuzzer: configure with "
                        "-DCMAKE_CXX_COMPILER=clang++ (Debian packages clang, libclang-rt-14-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link ${FMNIST_SANITIZER_COMPILE_FLAGS})
  add_link_options(${FMNIST_SANITIZER_LINK_FLAGS})
  set(FMNIST_FUZZ_LINK_FLAGS -fsanitize=fuzzer,address,undefined)
elseif(FMNIST_SANITIZE)
  add_compile_options(${FMNIST_SANITIZER_COMPILE_FLAGS})
  add_link_options(${FMNIST_SANITIZER_LINK_FLAGS})
endif()
