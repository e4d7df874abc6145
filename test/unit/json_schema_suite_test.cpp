// Conformance: the official JSON Schema test suite (draft 7, Debian package
// json-schema-test-suite) for the keywords nova supports.
//
// Every test group whose schema stays inside nova's subset must compile and give
// the suite's answer for every instance. Every other group must be rejected by
// compile() — it would be refused at registration — and is counted as skipped.
// Files: draft7/*.json and draft7/optional/format/*.json (formats other than
// date-time, uuid and email are outside the subset, so those groups are skipped).
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/json_schema.h"

using nova::schema::json;
using nova::schema::Schema;

namespace {

const char *kSuiteDir = "/usr/share/json-schema-test-suite/tests/draft7";

// Independent of the compiler: does this schema use only nova's keywords?
bool in_subset(const json &s) {
  static const std::set<std::string> kPlain = {"type",    "required",  "enum",      "const",   "default", "minimum",
                                               "maximum", "minLength", "maxLength", "$schema", "$id",     "title",
                                               "description"};
  if (s.is_boolean()) return true;
  if (!s.is_object()) return false;
  for (const auto &[kw, v] : s.items()) {
    if (kPlain.count(kw)) continue;
    if (kw == "properties") {
      if (!v.is_object()) return false;
      for (const auto &[name, sub] : v.items())
        if (!in_subset(sub)) return false;
    } else if (kw == "additionalProperties") {
      if (!v.is_boolean()) return false;
    } else if (kw == "items") {
      if (v.is_array() || !in_subset(v)) return false;
    } else if (kw == "format") {
      if (!(v == "date-time" || v == "uuid" || v == "email")) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::vector<std::string> list_json(const std::string &dir) {
  std::vector<std::string> files;
  if (DIR *d = opendir(dir.c_str())) {
    while (struct dirent *e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json") files.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(JsonSchemaSuite, Draft7SupportedKeywords) {
  std::vector<std::string> files = list_json(kSuiteDir);
  if (files.empty()) GTEST_SKIP() << "json-schema-test-suite is not installed (" << kSuiteDir << ")";
  for (const auto &f : list_json(std::string(kSuiteDir) + "/optional/format")) files.push_back(f);

  int groups_run = 0, groups_skipped = 0, tests_run = 0, tests_passed = 0, tests_skipped = 0;
  for (const auto &file : files) {
    std::ifstream in(file);
    std::stringstream buf;
    buf << in.rdbuf();
    json groups = json::parse(buf.str());
    std::string base = file.substr(std::string(kSuiteDir).size() + 1);
    for (const auto &g : groups) {
      std::string where = base + ": " + g["description"].get<std::string>();
      if (!in_subset(g["schema"])) {
        // Outside the subset: registration must refuse it.
        EXPECT_THROW(Schema::compile(g["schema"]), nova::Error) << where << " should be rejected";
        groups_skipped++;
        tests_skipped += static_cast<int>(g["tests"].size());
        continue;
      }
      groups_run++;
      Schema s;
      try {
        s = Schema::compile(g["schema"]);
      } catch (const nova::Error &e) {
        ADD_FAILURE() << where << ": in the subset but rejected: " << e.what();
        continue;
      }
      for (const auto &t : g["tests"]) {
        tests_run++;
        bool expected = t["valid"].get<bool>();
        auto v = s.validate(t["data"]);
        bool got = !v.has_value();
        if (got == expected)
          tests_passed++;
        else
          ADD_FAILURE() << where << " / " << t["description"].get<std::string>() << ": expected "
                        << (expected ? "valid" : "invalid") << ", got " << (got ? "valid" : v->to_string());
      }
    }
  }
  std::printf("[ suite    ] JSON Schema test suite draft7: %d groups run, %d groups skipped (unsupported keywords); "
              "%d tests run, %d passed, %d skipped-unsupported\n",
              groups_run, groups_skipped, tests_run, tests_passed, tests_skipped);
  EXPECT_GT(groups_run, 30);
  EXPECT_EQ(tests_run, tests_passed);
}
