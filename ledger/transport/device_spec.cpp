#include "pisigner/ledger/device_spec.hpp"

#include "pisigner/ledger/hid_transport.hpp"
#include "pisigner/ledger/tcp_transport.hpp"

namespace pisigner::ledger {

namespace {
constexpr std::string_view kTcpScheme = "tcp://";
constexpr std::string_view kFirstHid = "hid";
constexpr std::chrono::milliseconds kTcpConnectTimeout{1000};
}  // namespace

bool is_tcp_spec(std::string_view spec) { return spec.substr(0, kTcpScheme.size()) == kTcpScheme; }

Result<std::string, TransportError> select_hid_path(const std::vector<HidDeviceInfo>& found, std::string_view spec) {
  if (found.empty()) return fail(TransportError{TransportErrc::Disconnected, "no Ledger found on USB"});
  if (spec == kFirstHid) return found.front().path;
  std::string seen;
  for (const auto& d : found) {
    if (d.serial == spec) return d.path;
    seen += (seen.empty() ? "" : ", ") + (d.serial.empty() ? std::string("(none)") : d.serial);
  }
  return fail(TransportError{TransportErrc::Disconnected,
                             "no Ledger with serial " + std::string(spec) + " (serials on USB: " + seen + ")"});
}

TransportFactory transport_factory(const std::string& spec, Clock& clock) {
  if (is_tcp_spec(spec)) {
    return [spec, &clock]() -> Result<std::unique_ptr<Transport>, TransportError> {
      auto t = TcpTransport::connect(spec, kTcpConnectTimeout, clock);
      if (!t) return fail(t.error());
      return std::unique_ptr<Transport>(std::move(t).value());
    };
  }
  return [spec]() -> Result<std::unique_ptr<Transport>, TransportError> {
    auto path = select_hid_path(enumerate_ledgers(), spec);
    if (!path) return fail(std::move(path).error());
    return open_hid_transport(*path);
  };
}

}  // namespace pisigner::ledger
