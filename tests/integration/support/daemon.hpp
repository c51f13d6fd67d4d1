// Runs the real pisignerd binary on an ephemeral loopback port with a config written by the test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "http.hpp"
#include "process.hpp"

namespace pisigner::testing {

// Paths of the binaries under test (set by CMake).
std::string pisignerd_path();
std::string pisignerctl_path();

// A fresh directory under the build tree's temp area, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The bootstrap1 key (octez test account) used by most tests, and bootstrap2 as the authorized client.
inline constexpr const char* kBootstrap1Sk = "unencrypted:edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh";
inline constexpr const char* kBootstrap1Pkh = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx";
inline constexpr const char* kBootstrap2Pk = "edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9";

// Config with one soft key (bootstrap1), listen on port 0, store in `dir`/store; `extra` is appended.
std::string basic_config(const std::filesystem::path& dir, const std::string& extra = {});

// Writes a config file readable by its owner only (pisignerd refuses a world-readable secret_key).
void write_config(const std::filesystem::path& file, const std::string& text);

// `pisignerctl hwm init` for the store `config` names, unless one is there already (pisignerd never
// creates a store). Fails the test if init fails.
void init_store(const std::string& config);

class Daemon {
 public:
  // Writes `config` to dir/pisigner.toml, creates its store if missing (init_store) and starts
  // pisignerd; fails the test if it doesn't become ready.
  Daemon(const std::filesystem::path& dir, const std::string& config);
  ~Daemon();
  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  std::uint16_t health_port() const { return health_port_; }  // 0 without server.health_listen
  HttpClient client() const { return HttpClient(port_); }
  // SIGTERM and wait; returns the exit status.
  int stop();
  void kill9();
  Process& process() { return *proc_; }
  std::string log() const;  // what the daemon wrote to stderr

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Process> proc_;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
  std::uint16_t health_port_ = 0;
};

// Attestation (magic 0x13) for chain NetXxkAx4woPLyu at `level`/`round`; `variant` changes the payload hash bytes.
std::string attestation_hex(std::int32_t level, std::int32_t round, std::uint8_t variant = 0);
std::string preattestation_hex(std::int32_t level, std::int32_t round, std::uint8_t variant = 0);
// Tenderbake block (magic 0x11) with fitness length 33.
std::string block_hex(std::int32_t level, std::int32_t round, std::uint8_t variant = 0);

}  // namespace pisigner::testing
