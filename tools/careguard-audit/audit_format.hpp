// careguard-audit: the audit report model and its renderings (text, JSON,
// SARIF 2.1.0, Markdown, HTML). No libpqxx and no postgres headers, so the
// unit tests run it without a server; never part of careguard.so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace careguard::audit {

// One row of careguard.audit().
struct Finding {
  std::string rule;
  std::string severity;  // "error" | "warning" | "info"
  std::string object;
  std::string detail;
  std::string fix;
};

// One row of careguard.audit_rules(): the catalogue SARIF's rules[] lists.
struct RuleInfo {
  std::string rule;
  std::string severity;
  std::string category;
  std::string summary;
};

// One row of careguard.access_matrix(); empty sqlstate = no error.
struct MatrixCell {
  std::string context;
  std::string role;
  std::string relation;
  std::optional<long long> selectable_rows;
  std::string select_sqlstate;
  std::optional<bool> can_insert;
  std::string insert_sqlstate;
  std::optional<bool> can_update;
  std::string update_sqlstate;
  std::optional<bool> can_delete;
  std::string delete_sqlstate;
  // Why no write could be probed ("read-only standby"); empty when probed.
  // The can_* are then unknown, never a denial.
  std::string writes_not_probed;
};

struct Report {
  std::string tool_version;
  std::string database;  // a label for the audited database, e.g. "db on host:port"
  std::vector<std::string> schemas;
  std::vector<RuleInfo> rules;
  std::vector<Finding> findings;
  bool has_matrix = false;
  std::vector<MatrixCell> matrix;
};

enum class Format { Text, Json, Sarif, Markdown, Html };
enum class FailOn { Error, Warning, Info, Never };

std::optional<Format> parse_format(std::string_view name);
std::optional<FailOn> parse_fail_on(std::string_view name);

// 2 for error, 1 for warning, 0 for info, -1 for anything else.
int severity_rank(std::string_view severity);

// True when some finding is at or above the --fail-on threshold.
bool fails(const Report& report, FailOn threshold);

// Number of findings with the given severity.
std::size_t count_severity(const Report& report, std::string_view severity);

// SARIF result level for a careguard severity (info -> note).
std::string sarif_level(std::string_view severity);

std::string html_escape(std::string_view text);
std::string markdown_escape(std::string_view text);

std::string render_text(const Report& report, bool color);
std::string render_json(const Report& report);
std::string render_sarif(const Report& report);
std::string render_markdown(const Report& report);
std::string render_html(const Report& report);

// Dispatches on the format; colour applies to text only.
std::string render(const Report& report, Format format, bool color);

}  // namespace careguard::audit
