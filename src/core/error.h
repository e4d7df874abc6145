// nova::Error — the one exception type core code throws.
//
// Core code (src/core) is plain C++: it never includes postgres.h. It reports
// failures by throwing nova::Error with a five-character SQLSTATE; the entry
// wrapper in src/pg/boundary.h turns it into ereport(ERROR) once every C++
// frame has unwound.
#pragma once

#ifdef PG_VERSION_NUM
#ifdef NOVA_CORE_TRANSLATION_UNIT
static_assert(false, "src/core must not include postgres.h");
#endif
#endif

#include <stdexcept>
#include <string>

namespace nova {

// SQLSTATEs used across the project (see PostgreSQL's errcodes.txt).
namespace sqlstate {
inline constexpr const char *kInvalidAuthorization = "28000";     // invalid_authorization_specification
inline constexpr const char *kInvalidParameterValue = "22023";    // invalid_parameter_value
inline constexpr const char *kDataException = "22000";            // data_exception
inline constexpr const char *kInvalidTextRepresentation = "22P02"; // invalid_text_representation
inline constexpr const char *kStringDataRightTruncation = "22001";
inline constexpr const char *kProgramLimitExceeded = "54000";
inline constexpr const char *kFeatureNotSupported = "0A000";
inline constexpr const char *kObjectNotInPrerequisiteState = "55000";
inline constexpr const char *kUndefinedObject = "42704";
inline constexpr const char *kInvalidObjectDefinition = "42P17";
inline constexpr const char *kCheckViolation = "23514";
inline constexpr const char *kInternalError = "XX000";
inline constexpr const char *kOutOfMemory = "53200";
}  // namespace sqlstate

class Error : public std::runtime_error {
 public:
  Error(const char *sqlstate, const std::string &message, std::string detail = {}, std::string hint = {})
      : std::runtime_error(message), detail_(std::move(detail)), hint_(std::move(hint)) {
    bool ended = (sqlstate == nullptr);
    for (int i = 0; i < 5; i++) {
      if (!ended && sqlstate[i] == '\0') ended = true;
      sqlstate_[i] = ended ? 'X' : sqlstate[i];
    }
    sqlstate_[5] = '\0';
  }
  const char *sqlstate() const noexcept { return sqlstate_; }
  const std::string &detail() const noexcept { return detail_; }
  const std::string &hint() const noexcept { return hint_; }

 private:
  char sqlstate_[6];
  std::string detail_;
  std::string hint_;
};

}  // namespace nova
