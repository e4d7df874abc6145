// Correlation-id, traceparent, tracestate rules and request.headers parsing
// (src/core/correlation_rules.h, docs/correlation.md).
#include <gtest/gtest.h>

#include <string>

#include "core/correlation_rules.h"

namespace c = nova::correlation;

TEST(CorrelationId, ValidValues) {
  EXPECT_EQ(c::correlation_id_problem(static_cast<const char *>(nullptr)), nullptr);
  EXPECT_EQ(c::correlation_id_problem(""), nullptr);
  EXPECT_EQ(c::correlation_id_problem("req-42"), nullptr);
  EXPECT_EQ(c::correlation_id_problem("with space and ~!@#$%^&*()"), nullptr);
  EXPECT_EQ(c::correlation_id_problem("caf\xc3\xa9"), nullptr);  // UTF-8 is fine
  EXPECT_EQ(c::correlation_id_problem(std::string(128, 'a').c_str()), nullptr);
}

TEST(CorrelationId, TooLong) {
  EXPECT_STREQ(c::correlation_id_problem(std::string(129, 'a').c_str()), "longer than 128 bytes");
  // 64 two-byte characters = 128 bytes is fine, 65 is not: the limit is bytes.
  std::string e2;
  for (int i = 0; i < 64; i++) e2 += "\xc3\xa9";
  EXPECT_EQ(c::correlation_id_problem(e2.c_str()), nullptr);
  EXPECT_NE(c::correlation_id_problem((e2 + "\xc3\xa9").c_str()), nullptr);
}

TEST(CorrelationId, ControlCharacters) {
  for (const char *v : {"a\nb", "a\rb", "\tx", "x\x1f", "x\x7f"})
    EXPECT_STREQ(c::correlation_id_problem(v), "contains a control character") << v;
  // An embedded NUL only reaches the string_view overload (e.g. from JSON "\u0000").
  EXPECT_STREQ(c::correlation_id_problem(std::string_view("a\0b", 3)), "contains a control character");
}

constexpr const char *kTp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, Valid) {
  EXPECT_EQ(c::traceparent_problem(kTp), nullptr);
  EXPECT_EQ(c::traceparent_problem(""), nullptr);
  EXPECT_EQ(c::traceparent_problem(static_cast<const char *>(nullptr)), nullptr);
  EXPECT_EQ(c::traceparent_problem("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), nullptr);
}

TEST(Traceparent, Invalid) {
  std::string tp = kTp;
  EXPECT_STREQ(c::traceparent_problem((tp + "0").c_str()), "not of the form 00-<trace-id>-<parent-id>-<flags>");
  EXPECT_STREQ(c::traceparent_problem(tp.substr(0, 54).c_str()), "not of the form 00-<trace-id>-<parent-id>-<flags>");
  std::string dash = tp;
  dash[2] = '_';
  EXPECT_STREQ(c::traceparent_problem(dash.c_str()), "not of the form 00-<trace-id>-<parent-id>-<flags>");
  std::string upper = tp;
  upper[3] = 'B';
  EXPECT_STREQ(c::traceparent_problem(upper.c_str()), "fields must be lower-case hexadecimal");
  std::string nonhex = tp;
  nonhex[54] = 'g';
  EXPECT_STREQ(c::traceparent_problem(nonhex.c_str()), "fields must be lower-case hexadecimal");
  EXPECT_STREQ(c::traceparent_problem("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
               "version ff is invalid");
  EXPECT_STREQ(c::traceparent_problem("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
               "trace-id is all zeros");
  EXPECT_STREQ(c::traceparent_problem("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
               "parent-id is all zeros");
  EXPECT_NE(c::traceparent_problem(std::string_view(kTp, 54)), nullptr);
}

TEST(Tracestate, Valid) {
  EXPECT_EQ(c::tracestate_problem(""), nullptr);
  EXPECT_EQ(c::tracestate_problem("rojo=00f067aa0ba902b7"), nullptr);
  EXPECT_EQ(c::tracestate_problem("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), nullptr);
  EXPECT_EQ(c::tracestate_problem(" a=1 ,\tb=2 , ,"), nullptr);  // white space and empty members
  EXPECT_EQ(c::tracestate_problem("tenant@vendor=x"), nullptr);
  EXPECT_EQ(c::tracestate_problem("k_-*/=v!~"), nullptr);
  std::string m32;
  for (int i = 0; i < 32; i++) m32 += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(c::tracestate_problem(m32.c_str()), nullptr);
  EXPECT_EQ(c::tracestate_problem(("k=" + std::string(256, 'v')).c_str()), nullptr);
  EXPECT_EQ(c::tracestate_problem((std::string(256, 'k') + "=v").c_str()), nullptr);
}

TEST(Tracestate, Invalid) {
  std::string m33;
  for (int i = 0; i < 33; i++) m33 += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_STREQ(c::tracestate_problem(m33.c_str()), "more than 32 list members");
  EXPECT_STREQ(c::tracestate_problem(("k=" + std::string(511, 'v')).c_str()), "longer than 512 bytes");
  EXPECT_STREQ(c::tracestate_problem("novalue"), "a list member is not key=value");
  EXPECT_STREQ(c::tracestate_problem("=v"), "a key must be 1-256 characters");
  EXPECT_STREQ(c::tracestate_problem((std::string(257, 'k') + "=v").c_str()), "a key must be 1-256 characters");
  EXPECT_STREQ(c::tracestate_problem("Upper=v"), "a key must start with a-z or 0-9");
  EXPECT_STREQ(c::tracestate_problem("_k=v"), "a key must start with a-z or 0-9");
  EXPECT_STREQ(c::tracestate_problem("k.x=v"), "a key may contain only a-z, 0-9, '_', '-', '*', '/' and '@'");
  EXPECT_STREQ(c::tracestate_problem("k="), "a value must be 1-256 characters");
  EXPECT_STREQ(c::tracestate_problem(("k=" + std::string(257, 'v')).c_str()), "a value must be 1-256 characters");
  EXPECT_STREQ(c::tracestate_problem("k=a=b"), "a value may contain only printable ASCII other than ',' and '='");
  EXPECT_STREQ(c::tracestate_problem("k=\x01"), "a value may contain only printable ASCII other than ',' and '='");
  EXPECT_STREQ(c::tracestate_problem("k=caf\xc3\xa9"), "a value may contain only printable ASCII other than ',' and '='");
}

TEST(RequestHeaders, Lookups) {
  auto h = c::parse_request_headers(
      R"({"x-correlation-id":"cid-1","x-request-id":"rid-1","traceparent":")" + std::string(kTp) +
      R"(","tracestate":"a=1","accept":"*/*"})");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_TRUE(h.has_correlation);
  EXPECT_STREQ(h.correlation, "cid-1");
  EXPECT_TRUE(h.has_traceparent);
  EXPECT_STREQ(h.traceparent, kTp);
  EXPECT_TRUE(h.has_tracestate);
  EXPECT_STREQ(h.tracestate, "a=1");
}

TEST(RequestHeaders, RequestIdIsTheFallback) {
  auto h = c::parse_request_headers(R"({"x-request-id":"rid-1"})");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_STREQ(h.correlation, "rid-1");
  // An empty x-correlation-id counts as absent.
  h = c::parse_request_headers(R"({"x-correlation-id":"","x-request-id":"rid-2"})");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_STREQ(h.correlation, "rid-2");
  h = c::parse_request_headers(R"({"accept":"x"})");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_FALSE(h.has_correlation);
  EXPECT_FALSE(h.has_traceparent);
  EXPECT_FALSE(h.has_tracestate);
}

TEST(RequestHeaders, NamesAreCaseInsensitive) {
  auto h = c::parse_request_headers(R"({"X-Correlation-ID":"cid","TraceState":"a=1"})");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_STREQ(h.correlation, "cid");
  EXPECT_STREQ(h.tracestate, "a=1");
}

TEST(RequestHeaders, MalformedJson) {
  EXPECT_EQ(c::parse_request_headers("").status, c::HeaderStatus::kNotJson);
  EXPECT_EQ(c::parse_request_headers("{").status, c::HeaderStatus::kNotJson);
  EXPECT_EQ(c::parse_request_headers(R"({"a":1} trailing)").status, c::HeaderStatus::kNotJson);
  EXPECT_EQ(c::parse_request_headers("[]").status, c::HeaderStatus::kNotObject);
  EXPECT_EQ(c::parse_request_headers("\"x\"").status, c::HeaderStatus::kNotObject);
  EXPECT_EQ(c::parse_request_headers("null").status, c::HeaderStatus::kNotObject);
}

TEST(RequestHeaders, NonStringValue) {
  auto h = c::parse_request_headers(R"({"x-request-id":42})");
  EXPECT_EQ(h.status, c::HeaderStatus::kNotString);
  EXPECT_STREQ(h.header, "x-request-id");
  h = c::parse_request_headers(R"({"traceparent":null})");
  EXPECT_EQ(h.status, c::HeaderStatus::kNotString);
  EXPECT_STREQ(h.header, "traceparent");
  // Other headers may be anything.
  EXPECT_EQ(c::parse_request_headers(R"({"accept":[1,{"a":null}]})").status, c::HeaderStatus::kOk);
}

TEST(RequestHeaders, InvalidValues) {
  auto h = c::parse_request_headers(R"({"x-correlation-id":")" + std::string(129, 'a') + "\"}");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  EXPECT_STREQ(h.header, "x-correlation-id");
  EXPECT_STREQ(h.problem, "longer than 128 bytes");
  EXPECT_FALSE(h.has_correlation);
  h = c::parse_request_headers(R"({"x-request-id":"a\u0000b"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  EXPECT_STREQ(h.problem, "contains a control character");
  h = c::parse_request_headers(R"({"x-correlation-id":"a\nb"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  h = c::parse_request_headers(R"({"traceparent":"00-xyz"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  EXPECT_STREQ(h.header, "traceparent");
  // A bad traceparent after a good correlation id: nothing is reported but the error.
  h = c::parse_request_headers(R"({"x-correlation-id":"ok","traceparent":"00-41"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  EXPECT_FALSE(h.has_correlation);
  h = c::parse_request_headers(R"({"tracestate":"Bad=1"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kBadValue);
  EXPECT_STREQ(h.header, "tracestate");
  // A valid x-correlation-id wins; an invalid x-request-id behind it is not looked at.
  h = c::parse_request_headers(R"({"x-correlation-id":"ok","x-request-id":"a\nb"})");
  EXPECT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_STREQ(h.correlation, "ok");
}

TEST(RequestHeaders, LongestValuesFit) {
  std::string ts = "k=" + std::string(254, 'v') + ",j=" + std::string(253, 'w');
  ASSERT_EQ(ts.size(), 512u);
  auto h = c::parse_request_headers(R"({"x-correlation-id":")" + std::string(128, 'c') + R"(","tracestate":")" + ts + "\"}");
  ASSERT_EQ(h.status, c::HeaderStatus::kOk);
  EXPECT_EQ(std::string(h.correlation), std::string(128, 'c'));
  EXPECT_EQ(std::string(h.tracestate), ts);
}
