# The Debian package (scripts/package.sh): CPack's DEB generator over the install rules of
# cmake/Install.cmake, run-time dependencies found by dpkg-shlibdeps, configured with
# CMAKE_INSTALL_PREFIX=/usr so that every file lands in its FHS place.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fmnist)
set(CPACK_PACKAGE_VENDOR "The fmnist authors")
set(CPACK_PACKAGE_CONTACT "The fmnist authors <fmnist@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Fashion-MNIST image classifier: train, evaluate, predict")
# The extended description: CPack puts the summary above it and indents it as Debian wants
# (an empty line becomes " .").
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "fmnist trains, evaluates and runs a convolutional image classifier on
Fashion-MNIST (or any IDX data set of 28x28 grayscale images in 10 classes)
with LibTorch: the Keras tutorial's network, or a small residual network
that reaches about 94 % test accuracy in minutes on a CPU.

It includes a shared library with a C++ API and its CMake package.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # fmnist_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# libfmnist.so is in the loader's directory: dpkg must run ldconfig through its trigger.
set(ldconfig_trigger "${CMAKE_BINARY_DIR}/generated/debian-control/triggers")
file(WRITE "${ldconfig_trigger}" "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${ldconfig_trigger}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
include(CPack)

# Debian wants a copyright file and a changelog in the package's doc folder.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(debian_doc "${CMAKE_BINARY_DIR}/generated/debian")
  file(READ "${PROJECT_SOURCE_DIR}/LICENSE" license)
  file(WRITE "${debian_doc}/copyright"
       "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
       "Upstream-Name: fmnist\n\nFiles: *\nCopyright: 2026 The fmnist authors\nLicense: MIT\n\n"
       "Files: third_party/stb/*\nCopyright: 2017 Sean Barrett\nLicense: MIT\n\n"
       "License: MIT\n")
  string(REGEX REPLACE "\n\n" "\n.\n" license "${license}")
  string(REGEX REPLACE "\n([^\n])" "\n \\1" license "${license}")
  file(APPEND "${debian_doc}/copyright" " ${license}")
  string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(WRITE "${debian_doc}/changelog"
       "fmnist (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
       "  * Release ${PROJECT_VERSION}.\n\n"
       " -- ${CPACK_PACKAGE_CONTACT}  ${changelog_date}\n")
  execute_process(COMMAND gzip -9nf "${debian_doc}/changelog")
  install(FILES "${debian_doc}/copyright" "${debian_doc}/changelog.gz"
          DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
