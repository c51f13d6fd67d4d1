#include "ctl_cluster.hpp"

#include <iomanip>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "cluster_options.hpp"
#include "ctl_store.hpp"
#include "pisigner/bytes.hpp"
#include "pisigner/config/config.hpp"
#include "pisigner/hwm/etcd/wire.hpp"

namespace pisigner::ctl {

namespace {

constexpr int kExitConfig = 78;

std::string slot(const std::optional<hwm::Record>& r) {
  if (!r) return "-";
  return std::to_string(r->level) + "/" + (r->round ? std::to_string(*r->round) : "-");
}

bool higher(const hwm::Record& a, const hwm::Record& b) {  // a above b
  if (a.level != b.level) return a.level > b.level;
  return a.round.value_or(-1) > b.round.value_or(-1);
}

}  // namespace

std::unique_ptr<hwm::etcd::Client> cluster_client(const Common& c, bool& failed) {
  failed = false;
  auto cfg = config::load_file(c.config);
  if (!cfg) return nullptr;  // --store without a config: the local side alone
  config::wipe_secrets(*cfg);
  if (!cfg->cluster.enabled) return nullptr;
  auto options = daemon::cluster_client_options(*cfg);
  if (!options) {
    std::cerr << "pisignerctl: " << options.error().message << "\n";
    failed = true;
    return nullptr;
  }
  auto client = hwm::etcd::Client::create(std::move(*options));
  if (!client) {
    std::cerr << "pisignerctl: " << cfg->source << ": [cluster]: " << client.error() << "\n";
    failed = true;
    return nullptr;
  }
  return std::move(client).value();
}

Result<std::map<hwm::HwmKey, ClusterRecord>, std::string> read_cluster(hwm::etcd::Client& client) {
  auto kvs = client.list(std::string(hwm::etcd::kKeyPrefix) + "v1/");
  if (!kvs) return fail("etcd cluster: " + kvs.error().message);
  std::map<hwm::HwmKey, ClusterRecord> out;
  for (const auto& kv : *kvs) {
    auto key = hwm::etcd::parse_record_key(kv.key);
    if (!key) continue;
    auto stored = hwm::etcd::decode_record(kv.value);
    if (!stored) return fail(stored.error().message + " at " + kv.key);
    out[*key] = ClusterRecord{stored->record, stored->node};
  }
  return out;
}

void print_side_by_side(const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& local,
                        const std::map<hwm::HwmKey, ClusterRecord>& cluster, bool json) {
  std::map<hwm::HwmKey, std::pair<std::optional<hwm::Record>, std::optional<ClusterRecord>>> rows;
  for (const auto& [k, r] : local) rows[k].first = r;
  for (const auto& [k, r] : cluster) rows[k].second = r;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    auto rec = [](const std::optional<hwm::Record>& r) -> nlohmann::json {
      if (!r) return nullptr;
      return {{"level", r->level}, {"round", r->round ? nlohmann::json(*r->round) : nlohmann::json(nullptr)},
              {"hash", to_hex(r->hash)}};
    };
    for (const auto& [k, row] : rows) {
      nlohmann::json item{{"kind", tezos::kind_name(k.kind)}, {"chain", k.chain.to_b58()}, {"pkh", k.pkh.to_b58()},
                          {"local", rec(row.first)},
                          {"cluster", rec(row.second ? std::optional<hwm::Record>(row.second->record) : std::nullopt)}};
      if (row.second) item["cluster"]["node"] = row.second->node;
      out.push_back(std::move(item));
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::map<std::string, std::vector<hwm::HwmKey>> by_chain;
  for (const auto& [k, row] : rows) by_chain[k.chain.to_b58()].push_back(k);
  for (const auto& [chain, keys] : by_chain) {
    std::cout << "chain " << chain << "\n  " << std::left << std::setw(15) << "KIND" << std::setw(37) << "PKH"
              << std::setw(13) << "LOCAL" << "CLUSTER\n";
    for (const auto& k : keys) {
      const auto& [l, c] = rows[k];
      const std::optional<hwm::Record> cr = c ? std::optional<hwm::Record>(c->record) : std::nullopt;
      std::cout << "  " << std::setw(15) << tezos::kind_name(k.kind) << std::setw(37) << k.pkh.to_b58() << std::setw(13)
                << slot(l) << slot(cr) << (c && !c->node.empty() ? " " + c->node.substr(0, 12) : "") << "\n";
    }
  }
  if (rows.empty()) std::cout << "(no watermarks yet)\n";
}

int push(const Common& c) {
  bool failed = false;
  auto client = cluster_client(c, failed);
  if (!client) {
    if (!failed) std::cerr << "pisignerctl: " << c.config << " has no [cluster] section: nothing to push to\n";
    return kExitConfig;
  }
  auto dir = store_dir(c);
  if (!dir) return kExitConfig;
  auto store = open_store(*dir, StoreAccess::Write);  // exclusive: refused while pisignerd runs
  if (!store) return 1;
  auto local = store->list();
  if (!local) {
    std::cerr << "pisignerctl: " << local.error().message << "\n";
    return 1;
  }
  auto cluster = read_cluster(*client);
  if (!cluster) {
    std::cerr << "pisignerctl: " << cluster.error() << "\n";
    return 1;
  }
  std::vector<std::pair<hwm::HwmKey, hwm::Record>> raise;
  for (const auto& [k, r] : *local) {
    auto it = cluster->find(k);
    if (it == cluster->end() || higher(r, it->second.record)) raise.emplace_back(k, r);
  }
  if (raise.empty()) {
    std::cout << "the cluster is at or above every local watermark; nothing to push\n";
    return 0;
  }
  for (const auto& [k, r] : raise) {
    auto it = cluster->find(k);
    std::cout << "  " << std::left << std::setw(15) << tezos::kind_name(k.kind) << std::setw(37) << k.pkh.to_b58()
              << std::setw(13) << slot(it == cluster->end() ? std::nullopt : std::optional<hwm::Record>(it->second.record))
              << "-> " << slot(r) << "\n";
  }
  if (!c.yes) {
    std::cout << "Raise these " << raise.size() << " cluster watermark(s) to the local ones (never lowers).\n"
              << "Type 'yes' to continue: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      std::cerr << "pisignerctl: not confirmed; nothing changed\n";
      return 1;
    }
  }
  int raised = 0, kept = 0, errors = 0;
  for (const auto& [k, r] : raise) {
    // Compare-and-set against the record just read; a record that moved meanwhile is read again and
    // raised only if it is still lower.
    const std::string name = hwm::etcd::record_key(k);
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto current = client->get(name);
      if (!current) { std::cerr << "pisignerctl: " << name << ": " << current.error().message << "\n"; ++errors; break; }
      std::optional<hwm::Record> now;
      if (*current) {
        auto stored = hwm::etcd::decode_record((*current)->value);
        if (!stored) { std::cerr << "pisignerctl: " << stored.error().message << " at " << name << "\n"; ++errors; break; }
        now = stored->record;
      }
      if (now && !higher(r, *now)) { ++kept; break; }
      auto txn = client->cas(name, *current ? (*current)->mod_revision : 0,
                             hwm::etcd::encode_record(r, "pisignerctl", static_cast<std::int64_t>(std::time(nullptr)) * 1000));
      if (txn && txn->succeeded) { ++raised; break; }
      if (!txn && txn.error().code != hwm::etcd::KvError::Code::Unknown) {
        std::cerr << "pisignerctl: " << name << ": " << txn.error().message << "\n";
        ++errors;
        break;
      }
      // Lost a race or an unknown outcome: read again.
    }
  }
  std::cout << raised << " raised, " << kept << " kept (cluster already at or above), " << errors << " failed\n";
  return errors == 0 ? 0 : 1;
}

}  // namespace pisigner::ctl
