# Writes OUT (a header defining kGitDescribe) with `git describe --always --dirty` of SOURCE_DIR,
# or an empty string outside a git checkout; rewritten only when that changes, so that a build
# recompiles version.cpp only then. Run at every build: cmake -DSOURCE_DIR=... -DOUT=... -P this.
execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty
                OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE status ERROR_QUIET)
if(NOT status EQUAL 0)
  set(describe "")
endif()
file(CONFIGURE OUTPUT "${OUT}" CONTENT
     "#pragma once\ninline constexpr const char* kGitDescribe = \"${describe}\";\n")
