// A throwaway dbus-daemon with its own config (never the machine's buses).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace pisigner::hal::testing {

class PrivateBus {
 public:
  PrivateBus();   // starts dbus-daemon; address() is empty if that failed
  ~PrivateBus();  // kills it by pid
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;
  const std::string& address() const { return address_; }

  // Stops the daemon (SIGTERM, reaped): every connection to it breaks.
  void stop();
  // Starts it again on the same socket path, so address() stays valid. False if it did not come up.
  bool restart();

 private:
  bool launch();

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace pisigner::hal::testing
