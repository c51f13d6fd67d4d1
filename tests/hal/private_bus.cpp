#include "private_bus.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace pisigner::hal::testing {

PrivateBus::PrivateBus() {
  char tmpl[] = "/tmp/pisigner-bus-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  // A fixed socket path (not unix:dir=) so a restarted daemon answers at the same address.
  std::ofstream(dir_ / "bus.conf") << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)" << (dir_ / "bus").string() << R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
)";
  launch();
}

bool PrivateBus::launch() {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(fds[0]);
    const std::string conf_arg = "--config-file=" + (dir_ / "bus.conf").string();
    const std::string addr_arg = "--print-address=" + std::to_string(fds[1]);
    ::execlp("dbus-daemon", "dbus-daemon", conf_arg.c_str(), "--nofork", addr_arg.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  // Wait (bounded) for the address line.
  std::string line;
  pollfd p{fds[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 5000) > 0) {
    char buf[256];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  const auto nl = line.find('\n');
  if (nl == std::string::npos) return false;
  // The printed address carries a fresh guid each time; the path is what clients need.
  address_ = "unix:path=" + (dir_ / "bus").string();
  return true;
}

void PrivateBus::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

bool PrivateBus::restart() {
  stop();
  return launch();
}

PrivateBus::~PrivateBus() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace pisigner::hal::testing
