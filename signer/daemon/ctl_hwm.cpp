#include <iomanip>
#include <iostream>
#include <map>
#include <vector>
#include <nlohmann/json.hpp>

#include "ctl.hpp"
#include "ctl_cluster.hpp"
#include "ctl_store.hpp"
#include "pisigner/bytes.hpp"
#include "pisigner/hwm/octez_import.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::ctl {

namespace {

struct SetArgs {
  std::string kind, chain, pkh;
  std::int64_t level = -1;
  std::optional<std::int64_t> round;
};

constexpr int kExitConfig = 78;

bool confirm(const Common& c, const std::string& what) {
  if (c.yes) return true;
  std::cout << what << "\nType 'yes' to continue: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

int init(const Common& c) {
  auto dir = store_dir(c);
  if (!dir) return kExitConfig;
  auto store = open_store(*dir, StoreAccess::Create);
  if (!store) return 1;
  std::cout << "created an empty high-watermark store in " << dir->string() << "\n";
  return 0;
}

int show(const Common& c) {
  bool cluster_failed = false;
  auto cluster = cluster_client(c, cluster_failed);  // before open_store drops root
  if (cluster_failed) return kExitConfig;
  auto dir = store_dir(c);
  if (!dir) return kExitConfig;
  auto store = open_store(*dir, StoreAccess::ReadOnly);  // no lock, no write: safe while the daemon runs
  if (!store) return 1;
  auto records = store->list();
  if (!records) {
    std::cerr << "pisignerctl: " << records.error().message << "\n";
    return 1;
  }
  if (cluster) {
    auto remote = read_cluster(*cluster);
    if (!remote) {
      std::cerr << "pisignerctl: " << remote.error() << " (the local store alone follows)\n";
    } else {
      print_side_by_side(*records, *remote, c.json);
      return 0;
    }
  }
  if (c.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [k, r] : *records) {
      out.push_back({{"kind", tezos::kind_name(k.kind)}, {"chain", k.chain.to_b58()}, {"pkh", k.pkh.to_b58()},
                     {"level", r.level}, {"round", r.round ? nlohmann::json(*r.round) : nlohmann::json(nullptr)},
                     {"hash", to_hex(r.hash)}, {"signature", r.signature ? nlohmann::json(*r.signature) : nlohmann::json(nullptr)}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  // Grouped by chain, so each line fits an 80-column terminal.
  std::map<std::string, std::vector<std::pair<hwm::HwmKey, hwm::Record>>> by_chain;
  for (const auto& [k, r] : *records) by_chain[k.chain.to_b58()].emplace_back(k, r);
  for (const auto& [chain, list] : by_chain) {
    std::cout << "chain " << chain << "\n  " << std::left << std::setw(16) << "KIND" << std::setw(38) << "PKH"
              << std::setw(11) << "LEVEL" << std::setw(7) << "ROUND" << "SIGNED\n";
    for (const auto& [k, r] : list) {
      std::cout << "  " << std::setw(16) << tezos::kind_name(k.kind) << std::setw(38) << k.pkh.to_b58() << std::setw(11)
                << r.level << std::setw(7) << (r.round ? std::to_string(*r.round) : "-") << (r.signature ? "yes" : "no")
                << "\n";
    }
  }
  if (records->empty()) std::cout << "(no watermarks yet)\n";
  return 0;
}

int set(const Common& c, const SetArgs& a) {
  auto kind = tezos::parse_kind(a.kind);
  auto chain = tezos::ChainId::parse(a.chain);
  auto pkh = tezos::PublicKeyHash::parse(a.pkh);
  if (!kind) { std::cerr << "pisignerctl: --kind must be block, preattestation, attestation or endorsement\n"; return 2; }
  if (!chain) { std::cerr << "pisignerctl: --chain: " << chain.error().message << "\n"; return 2; }
  if (!pkh) { std::cerr << "pisignerctl: --pkh: " << pkh.error().message << "\n"; return 2; }
  if (a.level < 0 || a.level > INT32_MAX || (a.round && (*a.round < 0 || *a.round > INT32_MAX))) {
    std::cerr << "pisignerctl: --level and --round must be between 0 and 2147483647\n";
    return 2;
  }
  auto dir = store_dir(c);
  if (!dir) return kExitConfig;
  auto store = open_store(*dir, StoreAccess::Write);  // exclusive: refuses while pisignerd runs
  if (!store) return 1;
  hwm::HwmKey key{*kind, *chain, *pkh};
  auto current = store->get(key);
  std::string before = current && *current ? std::to_string((*current)->level) + "/" +
                                                 ((*current)->round ? std::to_string(*(*current)->round) : "-")
                                           : "none";
  std::string after = std::to_string(a.level) + "/" + (a.round ? std::to_string(*a.round) : "-");
  if (!confirm(c, "Set the " + a.kind + " watermark of " + a.pkh + " on " + a.chain + " from " + before + " to " + after +
                      ".\nLowering a watermark allows signing again at levels already signed: only do this when moving"
                      " chains or after a testnet reset.")) {
    std::cerr << "pisignerctl: not confirmed; nothing changed\n";
    return 1;
  }
  auto r = hwm::set_watermark(*store, key, static_cast<std::int32_t>(a.level),
                              a.round ? std::optional<std::int32_t>(static_cast<std::int32_t>(*a.round)) : std::nullopt);
  if (!r) { std::cerr << "pisignerctl: " << r.error().message << "\n"; return 1; }
  std::cout << "watermark set: " << a.kind << " " << a.chain << " " << a.pkh << " " << after << "\n";
  return 0;
}

int import_octez(const Common& c, const std::string& dir) {
  auto store_path = store_dir(c);
  if (!store_path) return kExitConfig;
  auto store = open_store(*store_path, StoreAccess::Write);
  if (!store) return 1;
  if (!confirm(c, "Import octez watermarks from " + dir + " (records are only ever raised, never lowered).")) {
    std::cerr << "pisignerctl: not confirmed; nothing changed\n";
    return 1;
  }
  auto r = hwm::import_octez_dir(*store, dir);
  if (!r) { std::cerr << "pisignerctl: " << r.error().message << "\n"; return 1; }
  int imported = 0, kept = 0;
  for (const auto& f : *r) {
    for (const auto& e : f.entries) {
      const bool took = e.outcome == hwm::ImportedEntry::Outcome::Imported;
      (took ? imported : kept)++;
      std::cout << (took ? "imported " : "kept     ") << tezos::kind_name(e.key.kind) << " " << e.key.chain.to_b58()
                << " " << e.key.pkh.to_b58() << " level " << e.record.level << " round "
                << (e.record.round ? std::to_string(*e.record.round) : "-") << "  (" << f.file.filename().string() << ")\n";
    }
  }
  std::cout << imported << " imported, " << kept << " kept (store already higher)\n";
  return 0;
}

}  // namespace

void add_hwm(CLI::App& app, Common& common, int& rc) {
  auto* hwm = app.add_subcommand("hwm", "High-watermark store");
  hwm->require_subcommand(1);
  hwm->add_option("--config", common.config, "pisignerd config (for store.path)")->capture_default_str();
  hwm->add_option("--store", common.store, "Store directory (overrides the config)");
  // `hwm show --store DIR` as well as `hwm --store DIR show`: the subcommands hand them up.
  hwm->fallthrough();

  auto* init_cmd = hwm->add_subcommand("init", "Create an empty store (once, before pisignerd's first start)");
  init_cmd->callback([&] { rc = init(common); });

  auto* show_cmd = hwm->add_subcommand("show", "List every watermark");
  show_cmd->add_flag("--json", common.json, "Print JSON");
  show_cmd->callback([&] { rc = show(common); });

  static SetArgs args;
  auto* set_cmd = hwm->add_subcommand("set", "Set one watermark (chain moves, testnet resets); needs pisignerd stopped");
  set_cmd->add_option("--kind", args.kind, "block | preattestation | attestation | endorsement")->required();
  set_cmd->add_option("--chain", args.chain, "Chain id (Net...)")->required();
  set_cmd->add_option("--pkh", args.pkh, "Key address (tz...)")->required();
  set_cmd->add_option("--level", args.level, "Level")->required();
  set_cmd->add_option("--round", args.round, "Round (omit for legacy kinds)");
  set_cmd->add_flag("-y,--yes", common.yes, "Do not ask for confirmation");
  set_cmd->callback([&] { rc = set(common, args); });

  auto* push_cmd = hwm->add_subcommand(
      "push", "Raise the etcd cluster's watermarks to this Pi's (never lowers); needs pisignerd stopped");
  push_cmd->add_flag("-y,--yes", common.yes, "Do not ask for confirmation");
  push_cmd->callback([&] { rc = push(common); });

  static std::string dir;
  auto* imp = hwm->add_subcommand("import-octez", "Import octez-signer *_high_watermarks files; needs pisignerd stopped");
  imp->add_option("dir", dir, "octez-signer base directory")->required();
  imp->add_flag("-y,--yes", common.yes, "Do not ask for confirmation");
  imp->callback([&] { rc = import_octez(common, dir); });
}

}  // namespace pisigner::ctl
