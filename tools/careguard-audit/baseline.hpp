// careguard-audit: the baseline, findings a team accepted on purpose, each by
// a stable fingerprint and with a reason, so CI fails only on new ones.
#pragma once

#include "audit_format.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace careguard::audit {

struct BaselineEntry {
  std::string fingerprint;  // fingerprint(rule, object)
  std::string rule;
  std::string object;
  std::string reason;
};

// 16 hex digits of SHA-256 over rule and object: the same finding keeps it
// across runs and machines; detail text may change without breaking it.
std::string fingerprint(std::string_view rule, std::string_view object);

// Parses a baseline file: one entry a line, tab-separated fingerprint, rule,
// object, reason; '#' lines and blank lines are comments. Throws
// std::invalid_argument (naming the line) for a malformed entry, one without a
// reason, or one whose fingerprint does not match its rule and object.
std::vector<BaselineEntry> parse_baseline(std::string_view text);

// The baseline text for a report's findings, each with `reason`.
std::string baseline_for(const Report& report, std::string_view reason);

struct BaselineResult {
  std::size_t accepted = 0;              // findings the baseline removed
  std::vector<BaselineEntry> unmatched;  // entries no finding matches any more
};

// Removes accepted findings from the report.
BaselineResult apply_baseline(Report& report, const std::vector<BaselineEntry>& baseline);

}  // namespace careguard::audit
