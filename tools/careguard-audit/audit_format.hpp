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

// One row of careguard.audit_rules(), with its careguard.audit_rule_docs()
// texts (empty when the database has none): the catalogue SARIF's rules[]
// lists.
struct RuleInfo {
  std::string rule;
  std::string severity;
  std::string category;
  std::string summary;
  std::string why;
  std::string fix;
  std::string splinter;
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

// Where every helpUri points: docs/audit-rules.md of the repository, with the
// rule id as the heading's anchor.
extern const char* const kRulesDocUri;
std::string rule_help_uri(std::string_view rule);

// SARIF's reportingDescriptor.name: the id in UpperCamelCase
// (rls_not_forced -> RlsNotForced); SARIF wants it to differ from the id.
std::string rule_display_name(std::string_view rule);

// The width text output fits when none is given (not a terminal).
constexpr std::size_t kDefaultTextWidth = 100;

// Splits text into lines of at most `width` characters, breaking after a
// space, '.', '_', ',' or ')' where it can and inside a word where it must.
// Nothing is dropped: joining the lines gives the text back, spaces at the
// breaks aside.
std::vector<std::string> wrap_text(std::string_view text, std::size_t width);

// Text output fits `width` columns: long names wrap onto more lines, never
// cut, so two different names never print alike.
std::string render_text(const Report& report, bool color, std::size_t width = kDefaultTextWidth);
std::string render_json(const Report& report);
std::string render_sarif(const Report& report);
std::string render_markdown(const Report& report);
std::string render_html(const Report& report);

// Dispatches on the format; colour and width apply to text only.
std::string render(const Report& report, Format format, bool color,
                   std::size_t width = kDefaultTextWidth);

}  // namespace careguard::audit
