# Release hardening for every binary we build (Debian's hardening=+all set, checked on the built
# binaries by tests/packaging/hardening_check.sh and by lintian's hardening-no-* tags):
#   PIE                       ASLR for the executable itself;
#   -fstack-protector-strong  a canary in every function with a local array or address-taken local;
#   -D_FORTIFY_SOURCE=2       glibc's checked memcpy/read/snprintf... where the size is known;
#   -z relro -z now           GOT read-only after start-up, every symbol bound at load.
# A packager's own flags win: a _FORTIFY_SOURCE already in CFLAGS/CXXFLAGS (say =3) is left alone,
# since defining it twice with two values is a warning, and an error under -Werror.
set(PISIGNER_FORTIFIED OFF)
if(NOT PISIGNER_HARDEN)
  return()
endif()

include(CheckPIESupported)
check_pie_supported(LANGUAGES C CXX)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

add_compile_options(-fstack-protector-strong)
# _FORTIFY_SOURCE needs the optimizer (glibc warns without it) and gets in the sanitizers' way.
if(NOT PISIGNER_SANITIZE AND NOT "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "_FORTIFY_SOURCE")
  add_compile_definitions($<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
add_link_options(LINKER:-z,relro LINKER:-z,now)

# What tests/packaging/hardening_check.sh may expect of the binaries: fortified calls too, unless
# this build leaves _FORTIFY_SOURCE out (Debug, sanitizers) and no packager flag adds it.
if("${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "_FORTIFY_SOURCE=[1-9]"
   OR (NOT PISIGNER_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "_FORTIFY_SOURCE"))
  set(PISIGNER_FORTIFIED ON)
else()
  set(PISIGNER_FORTIFIED OFF)
endif()
