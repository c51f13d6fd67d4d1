// Runs the calling thread in another network namespace for a scope: children it spawns and sockets
// it opens meanwhile live there (posix_spawn children inherit the spawning thread's namespaces).
#pragma once

#include <string>

namespace pisigner::testing {

class ScopedNetns {
 public:
  // `path`: a namespace file such as /run/netns/<name>; empty = stay where we are (no-op).
  // Throws std::runtime_error when the namespace cannot be entered.
  explicit ScopedNetns(const std::string& path);
  ~ScopedNetns();  // back to the namespace the thread was in; aborts if that fails (nothing is safe then)
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

 private:
  int home_ = -1;
};

}  // namespace pisigner::testing
