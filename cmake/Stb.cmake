# stb_image 2.30 and stb_image_write 1.16, vendored in third_party/stb (see its README.md): Debian
# 12's libstb has stb_image 2.27, whose JPEG decoder reads out of bounds on hostile files. Both
# are compiled here (cmake/stb_impl.cpp, cmake/stb_write_impl.cpp) with the flags of the build
# they are in (sanitizer and fuzzing instrumentation included), and linked statically.
add_library(fmnist_stb STATIC ${CMAKE_CURRENT_LIST_DIR}/stb_impl.cpp
                              ${CMAKE_CURRENT_LIST_DIR}/stb_write_impl.cpp)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/stb_write_impl.cpp PROPERTIES
                            COMPILE_OPTIONS -fno-sanitize=shift)
set_target_properties(fmnist_stb PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(fmnist_stb SYSTEM PUBLIC ${PROJECT_SOURCE_DIR}/third_party/stb)
add_library(fmnist::stb ALIAS fmnist_stb)
