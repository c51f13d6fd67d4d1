// pisignerctl subcommands. Each registers itself on the CLI11 app and returns its exit code via `rc`.
#pragma once

#include <CLI/CLI.hpp>

namespace pisigner::ctl {

struct Common {
  std::string url = "http://127.0.0.1:6732";
  std::string config = "/etc/pisigner/pisigner.toml";
  std::string store;  // overrides the config's store.path
  bool json = false;
  bool yes = false;
};

void add_status(CLI::App& app, Common& common, int& rc);
void add_hwm(CLI::App& app, Common& common, int& rc);
void add_fleet(CLI::App& app, Common& common, int& rc);
void add_ledger(CLI::App& app, Common& common, int& rc);
void add_ups(CLI::App& app, Common& common, int& rc);
void add_uplink(CLI::App& app, Common& common, int& rc);

}  // namespace pisigner::ctl
