# Stand-in libraries (cmake/standin_libs.py): empty libraries with the sonames of those that
# LibTorch names but never uses (Debian's libtorch_cpu: OpenCV, FFmpeg, ... about 200 of the 290
# libraries a start of fmnist loaded), found first through the executable's DT_RPATH. Made
# after every link from the LibTorch actually found; a LibTorch whose dependencies all supply
# symbols gets none. -DFMNIST_STANDIN_LIBS=OFF, or no Python, builds without them.
option(FMNIST_STANDIN_LIBS "Leave out the libraries LibTorch names but never uses" ON)
find_package(Python3 COMPONENTS Interpreter QUIET)
set(FMNIST_STANDIN_DIR "${CMAKE_BINARY_DIR}/standins")

function(fmnist_use_standin_libs target)
  if(NOT FMNIST_STANDIN_LIBS OR NOT Python3_Interpreter_FOUND OR NOT UNIX OR APPLE)
    return()
  endif()
  # DT_RPATH, not DT_RUNPATH: only an executable's RPATH also governs where the dependencies of
  # its libraries are looked up (libtorch_cpu has no RUNPATH of its own).
  set_property(TARGET ${target} APPEND PROPERTY BUILD_RPATH "${FMNIST_STANDIN_DIR}")
  target_link_options(${target} PRIVATE "LINKER:--disable-new-dtags")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E env "CXX=${CMAKE_CXX_COMPILER}"
            "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/cmake/standin_libs.py" make
            "$<TARGET_FILE:${target}>" "${FMNIST_STANDIN_DIR}"
    VERBATIM)
endfunction()
