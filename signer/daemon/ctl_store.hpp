// How pisignerctl reaches the HWM store: where it is (--store, or the config's store.path), as which
// user (the store directory's owner), and with which access.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "ctl.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::ctl {

enum class StoreAccess {
  ReadOnly,  // no lock, no write: safe while pisignerd runs
  Write,     // exclusive: refused while pisignerd holds the store; never creates one
  Create,    // `hwm init`: a new, empty store; refused when one exists
};

// --store, else the config's store.path. Prints the error and returns nullopt (exit 78) when the
// config cannot be read.
std::optional<std::filesystem::path> store_dir(const Common& c);

// Opens the store, first switching a root caller to the owner of the store directory (for a new
// one, of its nearest existing parent) so that no file in it becomes root's: pisignerd, running as
// that owner, could no longer open it. Errors are printed with what to do; nullptr then.
std::unique_ptr<hwm::Store> open_store(const std::filesystem::path& dir, StoreAccess access);

}  // namespace pisigner::ctl
