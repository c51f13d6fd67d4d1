// The octez decision rule (reference/octez-signer.md §5.4) as a table.
#include <gtest/gtest.h>

#include "pisigner/hwm/rules.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using testing::digest;
using Action = Decision::Action;
using tezos::Kind;

struct Case {
  const char* name;
  std::optional<Record> stored;
  Request request;
  Action action;
  std::string message_template;  // "{k}" is replaced by the kind name
  std::string cached = {};
};

Record rec(std::int32_t level, std::optional<std::int32_t> round, std::uint32_t payload,
           std::optional<std::string> sig = "sigA") {
  return Record{level, round, digest(payload), std::move(sig)};
}
// A request from a deterministic key (every key this signer supports) unless said otherwise.
Request req(std::int32_t level, std::optional<std::int32_t> round, std::uint32_t payload, bool deterministic = true) {
  return Request{level, round, digest(payload), deterministic};
}

std::string fill(std::string text, std::string_view kind) {
  for (auto pos = text.find("{k}"); pos != std::string::npos; pos = text.find("{k}")) text.replace(pos, 3, kind);
  return text;
}

const Case kTenderbake[] = {
    {"no record", std::nullopt, req(5, 0, 1), Action::Sign, ""},
    {"lower level", rec(7, 2, 1), req(5, 9, 2), Action::Refuse, "{k} level 5 below high watermark 7"},
    {"lower level same payload", rec(7, 2, 1), req(6, 2, 1), Action::Refuse, "{k} level 6 below high watermark 7"},
    {"same level lower round", rec(7, 2, 1), req(7, 1, 2), Action::Refuse,
     "{k} level 7 and round 1 not above high watermark (7,2)"},
    {"same level, round absent counts as 0", rec(7, 2, 1), req(7, std::nullopt, 2), Action::Refuse,
     "{k} level 7 and round 0 not above high watermark (7,2)"},
    {"same level and round, same hash, signature stored", rec(7, 2, 1), req(7, 2, 1), Action::ReturnCached, "",
     "sigA"},
    {"same level and round, same hash, no signature", rec(7, 2, 1, std::nullopt), req(7, 2, 1), Action::Sign, ""},
    {"same level and round, same hash, no signature, key not deterministic", rec(7, 2, 1, std::nullopt),
     req(7, 2, 1, false), Action::Refuse,
     "{k} level 7 already signed and its signature was lost; this key's signatures are not deterministic"},
    {"same level and round, same hash, signature stored, key not deterministic", rec(7, 2, 1), req(7, 2, 1, false),
     Action::ReturnCached, "", "sigA"},
    {"same level and round, other hash", rec(7, 2, 1), req(7, 2, 2), Action::Refuse,
     "{k} level 7 and round 2 already signed with different data"},
    {"same level and round, other hash, no signature", rec(7, 2, 1, std::nullopt), req(7, 2, 2), Action::Refuse,
     "{k} level 7 and round 2 already signed with different data"},
    {"higher round", rec(7, 2, 1), req(7, 3, 2), Action::Sign, ""},
    {"higher round, same payload hash", rec(7, 2, 1), req(7, 3, 1), Action::Sign, ""},
    {"higher level lower round", rec(7, 2, 1), req(8, 0, 2), Action::Sign, ""},
    {"operator-set record (zero hash) refuses its own slot", Record{7, 2, {}, std::nullopt}, req(7, 2, 2),
     Action::Refuse, "{k} level 7 and round 2 already signed with different data"},
};

// Records without a round compare levels only (Emmy 0x01/0x02, or imported without round).
const Case kLevelOnly[] = {
    {"lower level", rec(7, std::nullopt, 1), req(5, std::nullopt, 2), Action::Refuse,
     "{k} level 5 not above high watermark 7"},
    {"same level same hash", rec(7, std::nullopt, 1), req(7, std::nullopt, 1), Action::ReturnCached, "", "sigA"},
    {"same level same hash no signature", rec(7, std::nullopt, 1, std::nullopt), req(7, std::nullopt, 1),
     Action::Sign, ""},
    {"same level same hash no signature, key not deterministic", rec(7, std::nullopt, 1, std::nullopt),
     req(7, std::nullopt, 1, false), Action::Refuse,
     "{k} level 7 already signed and its signature was lost; this key's signatures are not deterministic"},
    {"same level other hash", rec(7, std::nullopt, 1), req(7, std::nullopt, 2), Action::Refuse,
     "{k} level 7 already signed with different data"},
    {"same level, any round, other hash", rec(7, std::nullopt, 1), req(7, 5, 2), Action::Refuse,
     "{k} level 7 already signed with different data"},
    {"higher level", rec(7, std::nullopt, 1), req(8, std::nullopt, 2), Action::Sign, ""},
};

void check(Kind kind, const Case& c) {
  SCOPED_TRACE(std::string(tezos::kind_name(kind)) + ": " + c.name);
  const Decision d = decide(kind, c.stored, c.request);
  EXPECT_EQ(d.action, c.action);
  if (c.action == Action::Refuse) {
    EXPECT_EQ(d.message, fill(c.message_template, tezos::kind_name(kind)));
  }
  if (c.action == Action::ReturnCached) {
    EXPECT_EQ(d.signature, c.cached);
  }
}

TEST(DecideTest, TenderbakeRuleForEveryKind) {
  for (Kind kind : {Kind::Block, Kind::Preattestation, Kind::Attestation, Kind::Endorsement}) {
    for (const Case& c : kTenderbake) check(kind, c);
  }
}

TEST(DecideTest, LevelOnlyRecordsIgnoreRounds) {
  for (Kind kind : {Kind::Block, Kind::Preattestation, Kind::Attestation, Kind::Endorsement}) {
    for (const Case& c : kLevelOnly) check(kind, c);
  }
}

TEST(DecideTest, OctezMessageTextsUseKindNames) {
  EXPECT_EQ(decide(Kind::Preattestation, rec(100, 0, 1), req(99, 0, 1)).message,
            "preattestation level 99 below high watermark 100");
  EXPECT_EQ(decide(Kind::Block, rec(100, 4, 1), req(100, 3, 1)).message,
            "block level 100 and round 3 not above high watermark (100,4)");
  EXPECT_EQ(decide(Kind::Attestation, rec(100, 4, 1), req(100, 4, 2)).message,
            "attestation level 100 and round 4 already signed with different data");
  EXPECT_EQ(decide(Kind::Endorsement, rec(100, std::nullopt, 1), req(42, std::nullopt, 1)).message,
            "endorsement level 42 not above high watermark 100");
}

// policy.max_level_jump: a node (compromised or confused) asking for a level far ahead would burn the
// watermark and leave the baker unable to sign until the chain caught up.
TEST(DecideTest, MaxLevelJumpRefusesFarAdvancesOnly) {
  const RuleOptions five{5};
  for (Kind kind : {Kind::Block, Kind::Preattestation, Kind::Attestation}) {
    SCOPED_TRACE(tezos::kind_name(kind));
    EXPECT_EQ(decide(kind, rec(100, 3, 1), req(105, 0, 2), five).action, Action::Sign);
    const Decision far = decide(kind, rec(100, 3, 1), req(106, 0, 2), five);
    EXPECT_EQ(far.action, Action::Refuse);
    EXPECT_EQ(far.message, std::string(tezos::kind_name(kind)) +
                               " level 106 is more than 5 levels above high watermark 100 (policy.max_level_jump)");
    EXPECT_EQ(decide(kind, rec(100, std::nullopt, 1), req(106, std::nullopt, 2), five).action, Action::Refuse);
    // Off by default; nothing stored yet (first signature on a chain) is not a jump.
    EXPECT_EQ(decide(kind, rec(100, 3, 1), req(1000000, 0, 2)).action, Action::Sign);
    EXPECT_EQ(decide(kind, std::nullopt, req(1000000, 0, 2), five).action, Action::Sign);
    // Moves within the level, and the older rules, are untouched.
    EXPECT_EQ(decide(kind, rec(100, 3, 1), req(100, 9, 2), five).action, Action::Sign);
    EXPECT_EQ(decide(kind, rec(100, 3, 1), req(99, 0, 2), five).message,
              std::string(tezos::kind_name(kind)) + " level 99 below high watermark 100");
  }
  // The difference is taken without overflow.
  EXPECT_EQ(decide(Kind::Block, rec(-5, 0, 1), req(INT32_MAX, 0, 2), RuleOptions{INT32_MAX}).action, Action::Refuse);
  EXPECT_EQ(decide(Kind::Block, rec(0, 0, 1), req(INT32_MAX, 0, 2), RuleOptions{INT32_MAX}).action, Action::Sign);
}

TEST(DecideTest, NegativeAndExtremeValuesCompareNumerically) {
  const Record top = rec(INT32_MAX, INT32_MAX, 1);
  EXPECT_EQ(decide(Kind::Block, top, req(INT32_MAX, INT32_MAX - 1, 2)).action, Action::Refuse);
  EXPECT_EQ(decide(Kind::Block, top, req(0, 0, 2)).action, Action::Refuse);
  EXPECT_EQ(decide(Kind::Block, rec(0, 0, 1), req(1, 0, 2)).action, Action::Sign);
}

}  // namespace
}  // namespace pisigner::hwm
