#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace pisigner::testing {

ScopedNetns::ScopedNetns(const std::string& path) {
  if (path.empty()) return;
  home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ < 0) throw std::runtime_error(std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno));
  const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    const std::string why = std::strerror(errno);
    if (target >= 0) ::close(target);
    ::close(home_);
    throw std::runtime_error("entering network namespace " + path + ": " + why);
  }
  ::close(target);
}

ScopedNetns::~ScopedNetns() {
  if (home_ < 0) return;
  if (::setns(home_, CLONE_NEWNET) != 0) std::abort();
  ::close(home_);
}

}  // namespace pisigner::testing
