// The etcd JSON gateway's shapes (reference/etcd-hwm.md §2) and hostile replies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../test_util.hpp"
#include "pisigner/hwm/etcd/wire.hpp"

namespace pisigner::hwm::etcd {
namespace {

using ::testing::HasSubstr;

TEST(EtcdWire, Base64IsStandardWithPadding) {
  EXPECT_EQ(base64("/pisigner/hwm0"), "L3Bpc2lnbmVyL2h3bTA=");
  EXPECT_EQ(*unbase64("L3Bpc2lnbmVyL2h3bTA="), "/pisigner/hwm0");
  EXPECT_EQ(base64(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_FALSE(unbase64("-_8=").ok()) << "URL-safe alphabet";
  EXPECT_FALSE(unbase64("L3Bpc2lnbmVyL2h3bTA").ok()) << "missing padding";
  EXPECT_FALSE(unbase64("L3Bp c2ln").ok());
}

TEST(EtcdWire, CasComparesModRevisionOrAbsence) {
  const std::string first = cas_body("/k", 0, "v");
  EXPECT_THAT(first, HasSubstr(R"("target":"CREATE")"));
  EXPECT_THAT(first, HasSubstr(R"("create_revision":"0")"));
  const std::string later = cas_body("/k", 42, "v");
  EXPECT_THAT(later, HasSubstr(R"("target":"MOD")"));
  EXPECT_THAT(later, HasSubstr(R"("mod_revision":"42")"));
  EXPECT_THAT(later, HasSubstr(R"("request_range":{"key":"L2s="})"));
  EXPECT_THAT(prefix_range_body("/pisigner/hwm/"), HasSubstr(base64("/pisigner/hwm0")));
}

TEST(EtcdWire, ParsesASuccessfulTxn) {
  auto r = parse_txn(R"({"header":{"cluster_id":"1","member_id":"18446744073709551615","revision":"4","raft_term":"2"},)"
                     R"("succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->header.revision, 4);
  EXPECT_EQ(r->header.raft_term, 2);
  EXPECT_EQ(r->header.member_id, 18446744073709551615ull);
}

TEST(EtcdWire, AFailedCompareCarriesTheCurrentRecord) {
  auto r = parse_txn(R"({"header":{"revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"},)"
                     R"("kvs":[{"key":"Sw==","create_revision":"2","mod_revision":"4","version":"2","value":"Vg=="}],"count":"1"}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->succeeded);
  ASSERT_TRUE(r->current);
  EXPECT_EQ(r->current->key, "K");
  EXPECT_EQ(r->current->value, "V");
  EXPECT_EQ(r->current->mod_revision, 4);
  // The key is gone: the failure branch's range has no kvs.
  auto gone = parse_txn(R"({"header":{"revision":"5"},"responses":[{"response_range":{"header":{"revision":"5"}}}]})");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->current);
}

// Group commit: one txn, every key compared, put and (on failure) ranged, in the order given.
TEST(EtcdWire, ABatchComparesPutsAndRangesEveryKeyInOrder) {
  const std::vector<CasOp> ops = {{"/a", 0, "va"}, {"/b", 7, "vb"}};
  const auto j = nlohmann::json::parse(cas_batch_body(ops));
  ASSERT_EQ(j.at("compare").size(), 2u);
  EXPECT_EQ(j["compare"][0]["target"], "CREATE");
  EXPECT_EQ(j["compare"][0]["key"], base64("/a"));
  EXPECT_EQ(j["compare"][1]["target"], "MOD");
  EXPECT_EQ(j["compare"][1]["mod_revision"], "7");
  EXPECT_EQ(j["compare"][1]["key"], base64("/b"));
  ASSERT_EQ(j.at("success").size(), 2u);
  EXPECT_EQ(j["success"][1]["request_put"]["value"], base64("vb"));
  ASSERT_EQ(j.at("failure").size(), 2u);
  EXPECT_EQ(j["failure"][0]["request_range"]["key"], base64("/a"));
  EXPECT_EQ(j["failure"][1]["request_range"]["key"], base64("/b"));
  EXPECT_EQ(cas_body("/b", 7, "vb"), cas_batch_body(std::span(ops).subspan(1))) << "one CAS is a batch of one";
}

TEST(EtcdWire, ParsesABatchReply) {
  const std::vector<CasOp> ops = {{"K", 3, "x"}, {"L", 0, "y"}};
  auto ok = parse_batch_txn(R"({"header":{"revision":"9"},"succeeded":true,"responses":[{"response_put":{}},{"response_put":{}}]})",
                            ops);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->header.revision, 9);
  // Failed: K moved on, L absent.
  const std::string failed =
      R"({"header":{"revision":"9"},"responses":[{"response_range":{"kvs":[{"key":"Sw==","mod_revision":"8","value":"Vg=="}]}},)"
      R"({"response_range":{}}]})";
  auto r = parse_batch_txn(failed, ops);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->succeeded);
  ASSERT_EQ(r->current.size(), 2u);
  ASSERT_TRUE(r->current[0]);
  EXPECT_EQ(r->current[0]->mod_revision, 8);
  EXPECT_FALSE(r->current[1]);
  // A range short, or another key in a key's place: refused.
  auto short_reply = parse_batch_txn(R"({"header":{"revision":"9"},"responses":[{"response_range":{}}]})", ops);
  ASSERT_FALSE(short_reply.ok());
  EXPECT_THAT(short_reply.error().message, HasSubstr("2 range(s)"));
  const std::vector<CasOp> swapped = {{"L", 3, "x"}, {"K", 0, "y"}};
  auto wrong = parse_batch_txn(failed, swapped);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message, HasSubstr("another key"));
}

TEST(EtcdWire, HostileRepliesAreRefusedWithAReason) {
  const char* bad[] = {
      "", "not json", "[]", "{}", R"({"header":"x"})",
      R"({"header":{"revision":"abc"},"succeeded":true})",
      R"({"header":{"revision":"-1"},"succeeded":true})",
      R"({"header":{"revision":"99999999999999999999"},"succeeded":true})",
      R"({"header":{"revision":"0"},"succeeded":true})",
      R"({"header":{"revision":"3"},"succeeded":"yes"})",
      R"({"header":{"revision":"3"}})",
      R"({"header":{"revision":"3"},"responses":[{"response_put":{}}]})",
      R"({"header":{"revision":"3"},"responses":[{"response_range":{"kvs":[{"key":"!!","mod_revision":"1"}]}}]})",
      R"({"header":{"revision":"3"},"responses":[{"response_range":{"kvs":[{"key":"Sw==","value":"Vg=="}]}}]})",
      R"({"header":{"revision":"3"},"responses":[{"response_range":{"kvs":"x"}}]})",
      R"({"header":{"revision":"3"},"responses":[{"response_range":{"kvs":[{"key":"Sw==","mod_revision":"1"},{"key":"Sw==","mod_revision":"1"}]}}]})",
  };
  for (const char* body : bad) {
    auto r = parse_txn(body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_THAT(r.error().message, HasSubstr("etcd reply")) << body;
    }
  }
  EXPECT_FALSE(parse_range("{\"header\":{},\"kvs\":[1]}").ok());
  EXPECT_FALSE(parse_token(R"({"header":{},"token":""})").ok());
  EXPECT_FALSE(parse_token(R"({"header":{},"token":"a\nb"})").ok()) << "a token goes into a header";
  EXPECT_FALSE(parse_token(R"({"header":{}})").ok());
  EXPECT_EQ(*parse_token(R"({"header":{},"token":"UqbIgwgjcGkhSBQr.24"})"), "UqbIgwgjcGkhSBQr.24");
}

TEST(EtcdWire, ErrorObjects) {
  auto e = parse_error(R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 14);
  EXPECT_EQ(e->message, "etcdserver: no leader");
  EXPECT_FALSE(parse_error("<html>bad gateway</html>"));
  EXPECT_FALSE(parse_error(R"({"message":"x"})"));
}

TEST(EtcdWire, MissingKeyAndStringNumbers) {
  auto r = parse_range(R"({"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"3"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());
  EXPECT_EQ(r->header.revision, 7);
  auto s = parse_status(R"({"header":{"member_id":"5","revision":"7","raft_term":"3"},"version":"3.4.23",)"
                        R"("db_size":"20480","leader":"5","raft_index":"9","raft_term":"3","errors":["NOSPACE"]})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->leader, 5u);
  EXPECT_EQ(s->header.member_id, 5u);
  EXPECT_EQ(s->errors, std::vector<std::string>{"NOSPACE"});
}

TEST(EtcdWire, RecordRoundTripAndKey) {
  const HwmKey key = hwm::testing::make_key(tezos::Kind::Preattestation);
  const std::string name = record_key(key);
  EXPECT_EQ(name.rfind("/pisigner/hwm/v1/preattestation/NetXdQprcVkpaWU/tz1", 0), 0u) << name;
  auto parsed = parse_record_key(name);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, key);
  EXPECT_FALSE(parse_record_key("/pisigner/hwm/probe/pi-a").ok());
  EXPECT_FALSE(parse_record_key(name + "/x").ok());

  Record r{123, 4, hwm::testing::digest(9), tezos::Signature{crypto::Curve::Ed25519, Bytes(64, 1)}.to_b58()};
  const std::string value = encode_record(r, "pi-a", 1700000000000);
  EXPECT_EQ(value.rfind(R"({"v":1,"level":123,"round":4,"hash":")", 0), 0u) << value;
  auto back = decode_record(value);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->record, r);
  EXPECT_EQ(back->node, "pi-a");
  Record no_round{5, std::nullopt, hwm::testing::digest(1), std::nullopt};
  EXPECT_EQ(decode_record(encode_record(no_round, "n", 0))->record, no_round);
}

TEST(EtcdWire, BadRecordsAreRefused) {
  const std::string hash(64, 'a');
  const std::string bad[] = {
      "", "[]", R"({"v":2,"level":1,"hash":")" + hash + R"("})", R"({"v":1,"hash":")" + hash + R"("})",
      R"({"v":1,"level":-1,"hash":")" + hash + R"("})", R"({"v":1,"level":1,"hash":"abcd"})",
      R"({"v":1,"level":1,"round":"2","hash":")" + hash + R"("})",
      R"({"v":1,"level":4294967296,"hash":")" + hash + R"("})",
      R"({"v":1,"level":1,"hash":")" + hash + R"(","sig":"edsigNOTASIG"})",
      R"({"v":1,"level":1,"hash":")" + hash + R"(","sig":7})",
  };
  for (const auto& value : bad) EXPECT_FALSE(decode_record(value).ok()) << value;
}

}  // namespace
}  // namespace pisigner::hwm::etcd
