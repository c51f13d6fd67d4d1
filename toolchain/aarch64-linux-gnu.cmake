# Cross toolchain: Debian 12 amd64 host -> arm64 (Raspberry Pi 3/4/CM4, Debian 12 / Raspberry Pi OS).
# Needs crossbuild-essential-arm64 and the :arm64 -dev packages (scripts/cross-build.sh installs them).
# Tests run under qemu-user: ctest and gtest_discover_tests use CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# "/" (not /usr/lib/aarch64-linux-gnu): the library architecture picks the multiarch directories,
# and re-rooting under the multiarch path breaks find_package(sdbus-c++).
set(CMAKE_FIND_ROOT_PATH "/usr/aarch64-linux-gnu;/")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Debian 12 has no aarch64-linux-gnu-pkg-config wrapper.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

# The multiarch libc6:arm64 provides /lib/ld-linux-aarch64.so.1, so no -L sysroot is needed.
find_program(PISIGNER_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(PISIGNER_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${PISIGNER_QEMU_AARCH64}")
endif()

