// pisignerctl: what a baker runs over SSH to see why a Pi is or isn't signing, and to manage watermarks.
#include <CLI/CLI.hpp>
#include <iostream>

#include "ctl.hpp"

int main(int argc, char** argv) {
  CLI::App app{"pisignerctl: inspect and manage a pisigner appliance"};
  app.require_subcommand(1);
  bool version = false;
  app.add_flag("-V,--version", version, "Print the version");
  pisigner::ctl::Common common;
  int rc = 0;
  pisigner::ctl::add_status(app, common, rc);
  pisigner::ctl::add_hwm(app, common, rc);
  pisigner::ctl::add_fleet(app, common, rc);
  pisigner::ctl::add_ledger(app, common, rc);
  pisigner::ctl::add_ups(app, common, rc);
  pisigner::ctl::add_uplink(app, common, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (version) {
      std::cout << "pisignerctl " << PISIGNER_VERSION << "\n";
      return 0;
    }
    return app.exit(e);
  }
  return rc;
}
