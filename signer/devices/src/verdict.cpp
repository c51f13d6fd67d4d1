#include "pisigner/devices/verdict.hpp"

#include "pisigner/crypto/hd.hpp"

namespace pisigner::devices {

namespace {

std::string where(ledger::DerivationType curve, const ledger::Path& path) {
  return crypto::format_path(path) + " (" + ledger::derivation_name(curve) + ")";
}

}  // namespace

health::ProbeResult judge(const ledger::DeviceState& st, const KeyIdentity& key) {
  using health::State;
  const std::string pkh = key.pkh.to_b58();
  if (!st.present) return {State::Failing, "no Ledger: " + (st.last_error.empty() ? "not connected" : st.last_error)};
  if (!st.responsive) return {State::Failing, "Ledger not answering: " + st.last_error};
  if (!st.unlocked) return {State::Failing, "Ledger is locked: unlock it with the PIN"};
  if (!st.app_open) return {State::Failing, "Tezos Baking app is not open on the Ledger"};
  if (!st.identity_ok) return {State::Failing, st.last_error.empty() ? "wrong Ledger" : st.last_error};
  // The device bakes for one key. Checked before authorized_ok, which speaks of the worker's key:
  // for a second key on the same device "run authorize" would only take the first key's place.
  if (st.authorized && (st.authorized->curve != key.curve || st.authorized->path != key.path)) {
    return {State::Failing, "the Ledger is authorized to bake for " + where(st.authorized->curve, st.authorized->path) +
                                ", not for key " + pkh + " at " + where(key.curve, key.path) +
                                ": a Ledger bakes for one key (pisignerctl ledger authorize --pkh " + pkh +
                                " moves it to this one)"};
  }
  if (!st.authorized_ok) {
    return {State::Failing,
            "the baking key is not authorized on the device (run: pisignerctl ledger authorize --pkh " + pkh + ")"};
  }
  return {State::Ok, "Tezos Baking " + (st.app_version ? st.app_version->to_string() : std::string("?")) + " on " +
                         st.transport + ", key " + pkh + " authorized"};
}

}  // namespace pisigner::devices
