#include "cluster_options.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pisigner/config/secret_text.hpp"

namespace pisigner::daemon {

namespace {

Result<void, Error> readable(const std::filesystem::path& file, const std::string& what) {
  if (::access(file.c_str(), R_OK) != 0) {
    return fail(Error{file.string() + ": " + what + " cannot be read by this process (" + std::strerror(errno) + ")"});
  }
  return {};
}

}  // namespace

Result<hwm::etcd::ClientOptions, Error> cluster_client_options(const config::Config& cfg) {
  const auto& c = cfg.cluster;
  hwm::etcd::ClientOptions o;
  o.endpoints = c.endpoints;
  o.ca_file = c.ca_file;
  o.cert_file = c.cert_file;
  o.key_file = c.key_file;
  o.user = c.user;
  o.call_timeout = c.call_timeout;
  o.connect_timeout = c.connect_timeout;
  if (c.password_file) {
    auto text = config::read_secret_file(*c.password_file);
    if (!text) return fail(Error{c.password_file->string() + ": [cluster] password_file cannot be read"});
    std::string_view pw = text->view();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.remove_suffix(1);
    if (pw.empty()) return fail(Error{c.password_file->string() + ": [cluster] password_file is empty"});
    o.password = std::string(pw);
  }
  return o;
}

Result<void, Error> check_cluster(const config::Config& cfg) {
  if (!cfg.cluster.enabled) return {};
  const auto& c = cfg.cluster;
  for (const auto& [file, what] : std::vector<std::pair<std::filesystem::path, std::string>>{
           {c.ca_file, "[cluster] ca_file"}, {c.cert_file, "[cluster] cert_file"}, {c.key_file, "[cluster] key_file"}}) {
    if (auto r = readable(file, what); !r) return r;
  }
  if (c.password_file) {
    if (auto r = readable(*c.password_file, "[cluster] password_file"); !r) return r;
  }
  auto options = cluster_client_options(cfg);
  if (!options) return fail(options.error());
  auto client = hwm::etcd::Client::create(std::move(*options));
  if (!client) return fail(Error{cfg.source + ": [cluster]: " + client.error()});
  return {};
}

}  // namespace pisigner::daemon
