#pragma once
namespace pisigner::daemon {
inline constexpr const char* kVersion = PISIGNER_VERSION;
}
