// A child process for the benchmarks: stdout through a pipe (to read its "LISTENING <port>" line),
// stderr to a file; SIGTERM then SIGKILL and reap on destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pisigner::bench {

class Child {
 public:
  // Starts argv[0]; throws std::runtime_error if it cannot be spawned.
  Child(std::vector<std::string> argv, const std::string& stderr_file);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits for "LISTENING <port>" on stdout; throws after `timeout` or if the child exits first.
  std::uint16_t wait_port(std::chrono::milliseconds timeout);
  // Waits for a stdout line starting with `prefix` and returns it; throws like wait_port.
  std::string wait_line(const std::string& prefix, std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string name_;
};

}  // namespace pisigner::bench
