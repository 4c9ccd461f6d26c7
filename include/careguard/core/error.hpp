// careguard core: the one exception type the core throws.
// It carries a five-character SQLSTATE so the adapter can raise a precise
// PostgreSQL error without the core ever including postgres.h.
#pragma once

#include <stdexcept>
#include <string>

namespace careguard {

// Well-known SQLSTATEs used by the core (see PostgreSQL Appendix A).
namespace sqlstate {
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kProgramLimitExceeded = "54000";
inline constexpr const char* kInvalidAuthorization = "28000";
inline constexpr const char* kInvalidPassword = "28P01";
inline constexpr const char* kInsufficientPrivilege = "42501";
inline constexpr const char* kObjectNotInPrerequisiteState = "55000";
inline constexpr const char* kInternalError = "XX000";
}  // namespace sqlstate

class Error : public std::runtime_error {
 public:
  Error(const char* sqlstate, const std::string& message, std::string detail = {})
      : std::runtime_error(message), detail_(std::move(detail)) {
    for (int i = 0; i < 5; ++i) sqlstate_[i] = sqlstate[i];
    sqlstate_[5] = '\0';
  }
  const char* sqlstate() const noexcept { return sqlstate_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  char sqlstate_[6];
  std::string detail_;
};

}  // namespace careguard
