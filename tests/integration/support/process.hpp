// Child processes for integration tests: spawn with captured stdout/stderr, wait for a line, signal, reap.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pisigner::testing {

// The exit status ./dev gives the sanitizers (exitcode=86 in ASAN/UBSAN/LSAN/TSAN_OPTIONS): a child
// that ends with it has written a sanitizer report, which fails the test that started it, whatever
// status the test expected. No program of the project exits with 86.
inline constexpr int kSanitizerExitStatus = 86;

// How many times longer a bound on latency may be in a sanitizer build (gcc defines these macros):
// for bounds that tell "answered at once" from "waited on a timeout", not for the timeouts.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 5;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

class Process {
 public:
  // Starts `argv[0]` with `argv`; stdout is read through a pipe, stderr goes to `stderr_file` (if set).
  Process(std::vector<std::string> argv, std::string stderr_file = {});
  ~Process();  // SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Next stdout line starting with `prefix`, or nullopt after `timeout` or EOF.
  std::optional<std::string> wait_line(const std::string& prefix, std::chrono::milliseconds timeout);
  void signal(int sig);
  // Exit status (or 128+signal) once the process has exited, waiting at most `timeout`. A status
  // of kSanitizerExitStatus adds a test failure.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return pid_; }

 private:
  std::string program_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;
  std::optional<int> status_;
};

// Runs a command to completion; returns (exit status, stdout+stderr). A status of
// kSanitizerExitStatus adds a test failure.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv, const std::string& stdin_text = {});

}  // namespace pisigner::testing
