# What `cmake --install` (and the Debian package, scripts/package.sh) puts where:
#   bin/fmnist, lib/libfmnist.so (the C++ API) with include/fmnist/... and lib/cmake/fmnist,
#   lib/fmnist/standins (cmake/StandinLibs.cmake), share/man/man1/fmnist.1.gz, bash and zsh
#   completion, share/doc/fmnist (README, LICENSE, sample images).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# libfmnist.so: all of fmnist_lib, exporting only the API of include/fmnist/classifier (a
# version script), so that a program linking it sees none of fmnist's internals.
set_target_properties(fmnist_lib PROPERTIES POSITION_INDEPENDENT_CODE ON)
set(fmnist_api_source "${CMAKE_BINARY_DIR}/generated/fmnist_api.cpp")
file(WRITE "${fmnist_api_source}" "// libfmnist.so is fmnist_lib whole (cmake/Install.cmake)\n")
add_library(fmnist_shared SHARED "${fmnist_api_source}")
add_library(fmnist::fmnist ALIAS fmnist_shared)
set_target_properties(fmnist_shared PROPERTIES
  OUTPUT_NAME fmnist
  EXPORT_NAME fmnist
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  LINK_DEPENDS "${PROJECT_SOURCE_DIR}/cmake/libfmnist.map")
target_link_libraries(fmnist_shared PRIVATE -Wl,--whole-archive fmnist_lib -Wl,--no-whole-archive)
target_link_options(fmnist_shared PRIVATE
  "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/libfmnist.map")
target_include_directories(fmnist_shared INTERFACE
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
target_compile_features(fmnist_shared INTERFACE cxx_std_17)

set(FMNIST_INSTALL_STANDIN_DIR "${CMAKE_INSTALL_LIBDIR}/fmnist/standins")
install(TARGETS fmnist RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS fmnist_shared EXPORT fmnistTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The API's headers: only these three; they need no LibTorch header.
install(FILES include/fmnist/classifier/classifier.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fmnist/classifier)
install(FILES include/fmnist/base/error.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fmnist/base)
install(FILES include/fmnist/predict/class_score.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fmnist/predict)
install(EXPORT fmnistTargets NAMESPACE fmnist:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fmnist)
configure_package_config_file(cmake/fmnistConfig.cmake.in
  "${CMAKE_BINARY_DIR}/generated/fmnistConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fmnist)
write_basic_package_version_file("${CMAKE_BINARY_DIR}/generated/fmnistConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/generated/fmnistConfig.cmake"
              "${CMAKE_BINARY_DIR}/generated/fmnistConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fmnist)

# The stand-ins made at build time (by fmnist's link), and where the installed binary finds
# them: relative to itself, so that any --prefix works. Not for libfmnist.so: its DT_RPATH
# would serve every lookup of the program that links it, which may use zstd or OpenCV itself.
if(FMNIST_STANDIN_LIBS AND Python3_Interpreter_FOUND)
  install(DIRECTORY "${FMNIST_STANDIN_DIR}/" DESTINATION ${FMNIST_INSTALL_STANDIN_DIR}
          FILES_MATCHING PATTERN "lib*.so*")
  file(RELATIVE_PATH bin_to_standins "/${CMAKE_INSTALL_BINDIR}" "/${FMNIST_INSTALL_STANDIN_DIR}")
  set_target_properties(fmnist PROPERTIES INSTALL_RPATH "$ORIGIN/${bin_to_standins}")
endif()

# The manual page and completion scripts, written by the binary from its own flags.
set(generated_docs "${CMAKE_BINARY_DIR}/generated/doc")
add_custom_command(TARGET fmnist POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E make_directory "${generated_docs}"
  COMMAND sh -c "'$<TARGET_FILE:fmnist>' manual > '${generated_docs}/fmnist.1'"
  COMMAND gzip -9nkf "${generated_docs}/fmnist.1"  # Debian installs manual pages compressed
  COMMAND sh -c "'$<TARGET_FILE:fmnist>' completion bash > '${generated_docs}/fmnist.bash'"
  COMMAND sh -c "'$<TARGET_FILE:fmnist>' completion zsh > '${generated_docs}/_fmnist'"
  VERBATIM)
install(FILES "${generated_docs}/fmnist.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${generated_docs}/fmnist.bash" RENAME fmnist
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# zsh's fpath has vendor-completions for /usr (Debian's packages), site-functions elsewhere.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(zsh_completions ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(zsh_completions ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES "${generated_docs}/_fmnist" DESTINATION ${zsh_completions})
# The README's links are relative: what they point at keeps its place beside it.
install(FILES README.md LICENSE BENCHMARKS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY data/samples DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES data/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/data)
install(DIRECTORY data/figures DESTINATION ${CMAKE_INSTALL_DOCDIR}/data)
install(DIRECTORY docs examples DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES third_party/stb/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/third_party/stb)
