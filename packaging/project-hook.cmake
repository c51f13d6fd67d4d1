# Adds packaging/ and tests/packaging/ to a build of a tree whose top-level CMakeLists.txt does not
# (yet) add them: cmake -DCMAKE_PROJECT_INCLUDE=<this file> ... The scripts pass it only then.
# Deferred to the end of the top-level file (after every target exists); add_subdirectory() is not
# allowed there, so the two files are include()d and spell their paths from CMAKE_CURRENT_LIST_DIR.
function(_pisigner_packaging_hook)
  include(${PROJECT_SOURCE_DIR}/packaging/CMakeLists.txt)
  if(PISIGNER_BUILD_TESTS)
    include(${PROJECT_SOURCE_DIR}/tests/packaging/CMakeLists.txt)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _pisigner_packaging_hook)
