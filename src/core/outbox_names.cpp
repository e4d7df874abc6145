// Naming rules of the outbox; see outbox_names.h.
#include "core/outbox_names.h"

#include <cstring>
#include <vector>

namespace nova::outbox {

namespace {

bool ends_with(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Irregular {
  const char *plural;
  const char *singular;
};
// Plurals the suffix rules below get wrong. Words not in plural form are kept.
const Irregular kIrregular[] = {
    {"people", "person"},   {"children", "child"},   {"men", "man"},         {"women", "woman"},
    {"mice", "mouse"},      {"geese", "goose"},      {"feet", "foot"},       {"teeth", "tooth"},
    {"movies", "movie"},    {"cookies", "cookie"},   {"series", "series"},   {"species", "species"},
    {"news", "news"},       {"statuses", "status"},  {"aliases", "alias"},   {"buses", "bus"},
    {"indices", "index"},   {"matrices", "matrix"},  {"vertices", "vertex"}, {"analyses", "analysis"},
    {"crises", "crisis"},   {"theses", "thesis"},    {"quizzes", "quiz"},    {"data", "data"},
    {"media", "media"},     {"criteria", "criterion"}, {"leaves", "leaf"},   {"lives", "life"},
    {"wives", "wife"},      {"knives", "knife"},     {"shelves", "shelf"},   {"halves", "half"},
};

}  // namespace

std::string singular(const std::string &word) {
  std::string lower;
  lower.reserve(word.size());
  for (char c : word) lower.push_back(to_lower(c));
  for (const Irregular &ir : kIrregular) {
    if (lower == ir.plural) {
      // Keep the case of the first letter as written.
      std::string out = ir.singular;
      if (!word.empty() && word[0] != lower[0]) out[0] = to_upper(out[0]);
      return out;
    }
  }
  size_t n = word.size();
  if (n <= 2 || lower == "ies") return word;
  // replies → reply, categories → category (but not "ies" alone)
  if (ends_with(lower, "ies") && n > 3) return word.substr(0, n - 3) + (word[n - 1] == 'S' ? "Y" : "y");
  // addresses → address, boxes → box, matches → match, wishes → wish, buzzes → buzz
  if (ends_with(lower, "sses") || ends_with(lower, "xes") || ends_with(lower, "ches") || ends_with(lower, "shes") ||
      ends_with(lower, "zzes"))
    return word.substr(0, n - 2);
  // status, address, analysis, campus: already singular
  if (ends_with(lower, "ss") || ends_with(lower, "us") || ends_with(lower, "is")) return word;
  // posts → post, messages → message, follows → follow
  if (lower[n - 1] == 's') return word.substr(0, n - 1);
  return word;
}

std::string entity_name(const std::string &table) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : table) {
    if (c == '_' || c == '-' || c == ' ' || c == '.') {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) words.push_back(cur);
  if (words.empty()) return std::string();
  words.back() = singular(words.back());
  std::string out;
  for (const std::string &w : words) {
    if (w.empty()) continue;
    out.push_back(to_upper(w[0]));
    out.append(w, 1, std::string::npos);
  }
  return out;
}

const char *topic_problem(const char *topic) {
  if (topic == nullptr || topic[0] == '\0') return "topic is empty";
  size_t n = std::strlen(topic);
  if (n > 249) return "topic is longer than 249 characters";
  if (std::strcmp(topic, ".") == 0 || std::strcmp(topic, "..") == 0) return "topic may not be \".\" or \"..\"";
  for (size_t i = 0; i < n; i++) {
    char c = topic[i];
    if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-'))
      return "topic may contain only ASCII letters, digits, '.', '_' and '-'";
  }
  return nullptr;
}

const char *entity_problem(const char *entity) {
  if (entity == nullptr || entity[0] == '\0') return "entity is empty";
  size_t n = std::strlen(entity);
  if (n > 100) return "entity is longer than 100 characters";
  if (!(is_alpha(entity[0]) || entity[0] == '_')) return "entity must start with an ASCII letter or '_'";
  for (size_t i = 1; i < n; i++) {
    char c = entity[i];
    if (!(is_alpha(c) || is_digit(c) || c == '_')) return "entity may contain only ASCII letters, digits and '_'";
  }
  return nullptr;
}

}  // namespace nova::outbox
