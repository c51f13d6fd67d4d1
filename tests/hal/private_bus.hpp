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

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace pisigner::hal::testing
