// careguard-audit diff: what a database grants, as a snapshot, and the
// classification of each change between two snapshots as widening,
// narrowing or neutral. Pure C++ (no libpqxx): snapshot_db.cpp reads a
// snapshot from a database, the unit tests build them by hand.
#pragma once

#include "audit_format.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace careguard::audit {

struct TableState {
  std::string name;  // schema.table, quoted as format('%I.%I') quotes
  bool rls = false;
  bool force = false;
  std::string owner;
};

struct PolicyState {
  std::string table;
  std::string name;
  std::string command;  // SELECT, INSERT, UPDATE, DELETE or ALL
  bool permissive = true;
  std::vector<std::string> roles;  // sorted; "public" for PUBLIC
  std::optional<std::string> using_expr;
  std::optional<std::string> check_expr;
};

// One privilege of one grantee on one object; the owner's own privileges
// are left out (they come with ownership, which TableState records).
struct GrantState {
  std::string kind;  // schema, table, view, materialized view, foreign table,
                     // sequence, column, function
  std::string object;
  std::string grantee;  // a role, or PUBLIC
  std::string privilege;
  bool grantable = false;
};

// A SECURITY DEFINER function: it runs with its owner's rights.
struct DefinerFunction {
  std::string signature;
  std::string owner;
  std::string language;
  std::string config;          // proconfig, e.g. "search_path=pg_catalog, pg_temp"
  std::string definition_md5;  // of pg_get_functiondef()
};

struct Snapshot {
  std::string source;  // "db on host:port", or the file it was read from
  std::vector<std::string> schemas;
  std::vector<TableState> tables;
  std::vector<PolicyState> policies;
  std::vector<GrantState> grants;
  std::vector<DefinerFunction> functions;
};

std::string snapshot_to_json(const Snapshot& snapshot);
// Throws std::invalid_argument for text that is not a careguard snapshot.
Snapshot snapshot_from_json(std::string_view text);

enum class ChangeClass { Widening, Narrowing, Neutral };

struct Change {
  ChangeClass change = ChangeClass::Widening;
  // A widening the classifier could not prove, classified so to fail safe.
  bool unproven = false;
  std::string kind;    // policy, grant, rls, table, function
  std::string object;  // "p on s.t", "s.t", "SELECT on s.t to anon", ...
  std::string aspect;  // roles, command, USING, WITH CHECK, ...
  std::string before;
  std::string after;
  std::string reason;
};

std::vector<Change> diff_snapshots(const Snapshot& from, const Snapshot& to);

// "widening", "widening (unproven)", "narrowing", "neutral".
std::string change_label(const Change& change);

// The SARIF rule of a change: diff_widening, diff_widening_unproven,
// diff_narrowing or diff_neutral.
std::string change_rule(const Change& change);
std::vector<RuleInfo> diff_rules();

enum class DiffFailOn { Widening, Any, Never };
std::optional<DiffFailOn> parse_diff_fail_on(std::string_view name);
bool diff_fails(const std::vector<Change>& changes, DiffFailOn threshold);

struct DiffReport {
  std::string tool_version;
  std::string from;
  std::string to;
  std::vector<std::string> notes;  // e.g. the two sides cover different schemas
  std::vector<Change> changes;
};

std::string render_diff_text(const DiffReport& report, std::size_t width = kDefaultTextWidth);
std::string render_diff_json(const DiffReport& report);
std::string render_diff_sarif(const DiffReport& report);
// Text, JSON or SARIF; Markdown and HTML are not offered for diffs.
std::string render_diff(const DiffReport& report, Format format, std::size_t width);

}  // namespace careguard::audit
