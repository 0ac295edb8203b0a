# Every external dependency, found once here.
#
# Installed packages come first (Debian: scripts/install-deps.sh). Where one is missing, e.g. on a
# GPU machine that has only a PyTorch install, CMake and a compiler, the copy that
# scripts/gather-gpu-carry.sh put in FMNIST_CARRY_DIR is used instead:
#   cmake -S . -B build-gpu -DCMAKE_PREFIX_PATH=<torch prefix> -DFMNIST_CARRY_DIR=$PWD/.carry
# FMNIST_USE_CARRY=ON takes every carried copy even where a package exists (to test that path).
set(FMNIST_CARRY_DIR "${PROJECT_SOURCE_DIR}/.carry" CACHE PATH
    "Dependencies gathered by scripts/gather-gpu-carry.sh, used where a package is missing")
option(FMNIST_USE_CARRY "Use the carried dependencies even where packages are installed" OFF)
set(FMNIST_TORCH_ROOT "" CACHE PATH
    "A torch package folder (include/, lib/) to use instead of find_package(Torch); see below")

# A carried dependency's folder, or a fatal error saying how to get one.
function(fmnist_carried out name marker package)
  set(dir "${FMNIST_CARRY_DIR}/${name}")
  if(NOT EXISTS "${dir}/${marker}")
    message(FATAL_ERROR "${name} not found: install ${package} (scripts/install-deps.sh), or run "
                        "scripts/gather-gpu-carry.sh and pass -DFMNIST_CARRY_DIR=<its .carry>")
  endif()
  message(STATUS "${name}: using the carried copy in ${dir}")
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

if(FMNIST_TORCH_ROOT)
  # Plan B for a PyTorch install whose TorchConfig.cmake cannot be used (its CUDA probing wants
  # a full toolkit): FMNIST_TORCH_ROOT is the `torch` package folder (include/, lib/). Links the
  # libraries directly; libtorch_cuda/libc10_cuda only reach us through static initialisers,
  # hence CMakeLists.txt's --no-as-needed, which TORCH_CUDA_LIBRARIES turns on.
  set(TORCH_INCLUDE_DIRS "${FMNIST_TORCH_ROOT}/include"
                         "${FMNIST_TORCH_ROOT}/include/torch/csrc/api/include")
  if(NOT EXISTS "${FMNIST_TORCH_ROOT}/include/torch/csrc/api/include/torch/version.h")
    message(FATAL_ERROR "FMNIST_TORCH_ROOT=${FMNIST_TORCH_ROOT} holds no LibTorch headers")
  endif()
  file(STRINGS "${FMNIST_TORCH_ROOT}/include/torch/csrc/api/include/torch/version.h" version_lines
       REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3"
         Torch_VERSION "${version_lines}")
  set(TORCH_LIBRARIES "")
  set(TORCH_CUDA_LIBRARIES "")
  foreach(name torch torch_cpu c10 torch_cuda c10_cuda)
    set(file "${FMNIST_TORCH_ROOT}/lib/lib${name}.so")
    if(EXISTS "${file}")
      list(APPEND TORCH_LIBRARIES "${file}")
      if(name MATCHES cuda)
        list(APPEND TORCH_CUDA_LIBRARIES "${file}")
      endif()
    elseif(name MATCHES "^(torch|torch_cpu|c10)$")
      message(FATAL_ERROR "${file} not found")
    endif()
  endforeach()
  add_library(fmnist_torch INTERFACE)
  target_include_directories(fmnist_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(fmnist_torch INTERFACE ${TORCH_LIBRARIES})
  if(DEFINED FMNIST_TORCH_CXX11_ABI)
    target_compile_definitions(fmnist_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${FMNIST_TORCH_CXX11_ABI})
    set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${FMNIST_TORCH_CXX11_ABI}")
  endif()
  # The CUDA runtime libraries of a pip install sit in site-packages/nvidia/*/lib; the linker
  # must find them to check libtorch_cuda's references (at run time its RUNPATH finds them).
  file(GLOB nvidia_lib_dirs LIST_DIRECTORIES true "${FMNIST_TORCH_ROOT}/../nvidia/*/lib")
  foreach(dir ${nvidia_lib_dirs} "${FMNIST_TORCH_ROOT}/lib")
    target_link_options(fmnist_torch INTERFACE "LINKER:-rpath-link,${dir}")
  endforeach()
  set(TORCH_LIBRARIES fmnist_torch)
  message(STATUS "LibTorch ${Torch_VERSION} from ${FMNIST_TORCH_ROOT} (without TorchConfig.cmake); "
                 "CUDA libraries: ${TORCH_CUDA_LIBRARIES}")
else()
  find_package(Torch REQUIRED)
endif()
# LibTorch 2.13 and later need C++20 (their TorchConfig says so); up to 2.12 C++17 does.
if(DEFINED Torch_VERSION AND Torch_VERSION VERSION_GREATER_EQUAL 2.13 AND CMAKE_CXX_STANDARD LESS 20)
  message(STATUS "LibTorch ${Torch_VERSION} needs C++20: building as C++20")
  set(CMAKE_CXX_STANDARD 20)
endif()
find_package(Threads REQUIRED)
# ATen's parallel_for is a header template that runs in parallel only where OpenMP is on in the
# compile that instantiates it: without it, fmnist's own kernels ran on one core of two. Debian's
# and pip's LibTorch use GNU OpenMP, which only GCC's -fopenmp targets (clang's would bring a
# second runtime, LLVM's libomp, into the process): with another compiler, as in the sanitizer
# build, the kernels run on one thread.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  find_package(OpenMP COMPONENTS CXX)
endif()
if(NOT OpenMP_CXX_FOUND)
  message(STATUS "No GNU OpenMP: fmnist's own kernels will run on one thread")
  add_library(OpenMP::OpenMP_CXX INTERFACE IMPORTED)
endif()

# c10d (torch.distributed's engine) is in libtorch_cpu, but its ProcessGroupGloo.hpp includes
# Gloo's headers, which Debian ships apart (libgloo-dev) and a pip install in torch/include.
# NCCL goes in only with a CUDA LibTorch whose NCCL and CUDA runtime headers are found.
# Without Gloo's headers (a pip LibTorch 2.x ships none) fmnist builds without CPU ranks:
# `--nproc` on the CPU then says so.
find_path(GLOO_INCLUDE_DIR gloo/context.h HINTS ${TORCH_INCLUDE_DIRS})
set(FMNIST_C10D_DEFINITIONS)
set(FMNIST_C10D_INCLUDE_DIRS)
if(GLOO_INCLUDE_DIR)
  # USE_C10D_GLOO makes ProcessGroupGloo.hpp compile; a pip LibTorch may define it without
  # shipping Gloo's headers, so fmnist's code asks for FMNIST_WITH_GLOO.
  list(APPEND FMNIST_C10D_DEFINITIONS USE_C10D_GLOO FMNIST_WITH_GLOO)
  list(APPEND FMNIST_C10D_INCLUDE_DIRS "${GLOO_INCLUDE_DIR}")
else()
  message(WARNING "Gloo headers (gloo/context.h) not found: building without data-parallel "
                  "training on the CPU (install libgloo-dev for it; scripts/install-deps.sh)")
endif()
option(FMNIST_NCCL "Use NCCL for ranks on CUDA GPUs where LibTorch has it" ON)
if(FMNIST_NCCL AND TORCH_CUDA_LIBRARIES)
  set(nvidia_hints "${FMNIST_TORCH_ROOT}/../nvidia" "${Torch_DIR}/../../../../nvidia")
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS $ENV{NCCL_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES nccl/include include PATHS ${nvidia_hints})
  find_path(CUDART_INCLUDE_DIR cuda_runtime_api.h HINTS ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES cuda_runtime/include include PATHS ${nvidia_hints} /usr/local/cuda)
  if(NCCL_INCLUDE_DIR AND CUDART_INCLUDE_DIR)
    list(APPEND FMNIST_C10D_DEFINITIONS USE_C10D_NCCL)
    list(APPEND FMNIST_C10D_INCLUDE_DIRS "${NCCL_INCLUDE_DIR}" "${CUDART_INCLUDE_DIR}")
    message(STATUS "c10d: NCCL (${NCCL_INCLUDE_DIR})")
  else()
    message(STATUS "c10d: no NCCL (nccl.h or cuda_runtime_api.h not found): GPU ranks unavailable")
  endif()
endif()

# CLI11 (header-only).
if(NOT FMNIST_USE_CARRY)
  find_package(CLI11 QUIET)
endif()
if(NOT TARGET CLI11::CLI11)
  fmnist_carried(cli11_dir CLI11 include/CLI/CLI.hpp libcli11-dev)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${cli11_dir}/include")
endif()

# spdlog, with fmt; the carried copies are used header-only. Debian's spdlog/tweakme.h defines
# SPDLOG_FMT_EXTERNAL, so spdlog includes <fmt/...>, which the carry holds beside it.
# A LibTorch that ships its own fmt (PyTorch 2.x wheels: <torch>/include/fmt, a newer one)
# shadows the system's, which a system spdlog was built for: there the carried pair is used.
set(torch_ships_fmt OFF)
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/fmt/format.h" AND NOT dir MATCHES "^/usr/(local/)?include/?$")
    set(torch_ships_fmt ON)
  endif()
endforeach()
if(NOT FMNIST_USE_CARRY AND NOT (torch_ships_fmt AND EXISTS "${FMNIST_CARRY_DIR}/spdlog"))
  find_package(spdlog QUIET)
endif()
if(NOT TARGET spdlog::spdlog)
  fmnist_carried(spdlog_dir spdlog include/spdlog/spdlog.h libspdlog-dev)
  if(NOT EXISTS "${spdlog_dir}/include/fmt/format.h")
    message(FATAL_ERROR "${spdlog_dir}/include has spdlog but no fmt: rerun scripts/gather-gpu-carry.sh")
  endif()
  add_library(spdlog::spdlog INTERFACE IMPORTED)
  set_target_properties(spdlog::spdlog PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${spdlog_dir}/include"
    INTERFACE_COMPILE_DEFINITIONS "SPDLOG_HEADER_ONLY;SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY")
  # The carried fmt must win over any other on the include path: PyTorch 2.x wheels ship a
  # newer fmt in <torch>/include/fmt, which spdlog 1.10 cannot use, and torch comes before
  # spdlog on fmnist_lib's link line, so its -isystem folders would come first. A directory's
  # include folders precede those of linked targets on every compile line of the targets
  # defined after this (fmnist_lib, fmnist, the tests).
  include_directories(BEFORE SYSTEM "${spdlog_dir}/include")
endif()

# zlib: a carried static library (position-independent, x86-64) with its headers.
if(NOT FMNIST_USE_CARRY)
  find_package(ZLIB QUIET)
endif()
if(NOT TARGET ZLIB::ZLIB)
  fmnist_carried(zlib_dir zlib include/zlib.h zlib1g-dev)
  add_library(ZLIB::ZLIB STATIC IMPORTED)
  set_target_properties(ZLIB::ZLIB PROPERTIES
    IMPORTED_LOCATION "${zlib_dir}/lib/libz.a"
    INTERFACE_INCLUDE_DIRECTORIES "${zlib_dir}/include")
endif()

# cairo (drawing the plots to PNG) and nettle (SHA-256 for `data verify`): pkg-config, else
# the carried headers and shared libraries (shlib/ also holds what they load), found at run
# time through the RUNPATH.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND AND NOT FMNIST_USE_CARRY)
  pkg_check_modules(cairo QUIET IMPORTED_TARGET cairo)
  pkg_check_modules(nettle QUIET IMPORTED_TARGET nettle)
  pkg_check_modules(cpp-httplib QUIET IMPORTED_TARGET cpp-httplib)  # fmnist serve
endif()
foreach(lib_and_package cairo:libcairo2-dev nettle:nettle-dev cpp-httplib:libcpp-httplib-dev)
  string(REPLACE ":" ";" lib_and_package "${lib_and_package}")
  list(GET lib_and_package 0 lib)
  list(GET lib_and_package 1 package)
  if(NOT TARGET PkgConfig::${lib})
    fmnist_carried(${lib}_dir ${lib} include ${package})
    file(GLOB ${lib}_so "${FMNIST_CARRY_DIR}/shlib/lib${lib}.so.*")
    add_library(PkgConfig::${lib} INTERFACE IMPORTED)
    set_target_properties(PkgConfig::${lib} PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${${lib}_dir}/include"
      INTERFACE_LINK_LIBRARIES "${${lib}_so}"
      INTERFACE_LINK_OPTIONS "LINKER:-rpath,${FMNIST_CARRY_DIR}/shlib;LINKER:-rpath-link,${FMNIST_CARRY_DIR}/shlib")
  endif()
endforeach()
if(NOT cpp-httplib_FOUND)  # the carried library: compiled as Debian's pkg-config says
  set_property(TARGET PkgConfig::cpp-httplib PROPERTY INTERFACE_COMPILE_DEFINITIONS
               CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)
endif()

# nlohmann/json (header-only), for predict --format json and eval --json.
if(NOT FMNIST_USE_CARRY)
  find_package(nlohmann_json 3 QUIET)
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
  fmnist_carried(json_dir nlohmann_json include/nlohmann/json.hpp nlohmann-json3-dev)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${json_dir}/include")
endif()

# libexif, for the EXIF orientation of JPEGs: pkg-config, else a carried static library
# (Debian's libexif.a is position-independent).
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND AND NOT FMNIST_USE_CARRY)
  pkg_check_modules(EXIF QUIET IMPORTED_TARGET libexif)
endif()
add_library(fmnist::exif INTERFACE IMPORTED)
if(EXIF_FOUND)
  target_link_libraries(fmnist::exif INTERFACE PkgConfig::EXIF)
else()
  fmnist_carried(exif_dir libexif lib/libexif.a libexif-dev)
  target_include_directories(fmnist::exif INTERFACE "${exif_dir}/include")
  target_link_libraries(fmnist::exif INTERFACE "${exif_dir}/lib/libexif.a" m)
endif()

# stb_image: vendored (third_party/stb), compiled by cmake/Stb.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/Stb.cmake)

# GoogleTest, for tests/: GTest::gtest_main from the installed package or built from the
# carried sources.
if(FMNIST_BUILD_TESTS)
  if(NOT FMNIST_USE_CARRY)
    find_package(GTest QUIET)
  endif()
  if(NOT TARGET GTest::gtest_main)
    fmnist_carried(googletest_dir googletest googletest/CMakeLists.txt googletest)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    # googletest 1.12 asks for CMake 3.5; CMake 4 deprecates (and may drop) compatibility with
    # versions below 3.10, and this floor keeps its configure going whichever CMake is there.
    set(CMAKE_POLICY_VERSION_MINIMUM 3.5)
    add_subdirectory("${googletest_dir}" "${CMAKE_BINARY_DIR}/_deps/googletest" EXCLUDE_FROM_ALL)
    unset(CMAKE_POLICY_VERSION_MINIMUM)
    # gtest must share LibTorch's std::string ABI, as our code that uses both does.
    if(TORCH_CXX_FLAGS)
      separate_arguments(torch_cxx_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
      target_compile_options(gtest PRIVATE ${torch_cxx_flags})
      target_compile_options(gtest_main PRIVATE ${torch_cxx_flags})
    endif()
  endif()
endif()
