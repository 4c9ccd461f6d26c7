// careguard-audit diff: snapshots as JSON files, and the diff's renderings
// (text, JSON, SARIF for review on a pull request).
#include "baseline.hpp"
#include "format_detail.hpp"
#include "policy_diff.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace careguard::audit {

using namespace detail;

namespace {

constexpr int kSnapshotFormat = 1;

Json optional_json(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

std::optional<std::string> optional_from(const Json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<std::string>();
}

std::size_t count_label(const DiffReport& report, const std::string& label) {
  return static_cast<std::size_t>(
      std::count_if(report.changes.begin(), report.changes.end(),
                    [&](const Change& c) { return change_label(c) == label; }));
}

std::string diff_summary(const DiffReport& report) {
  std::ostringstream out;
  const std::size_t proven = count_label(report, "widening");
  const std::size_t unproven = count_label(report, "widening (unproven)");
  out << report.changes.size() << " changes: " << proven + unproven << " widening (" << unproven
      << " unproven), " << count_label(report, "narrowing") << " narrowing, "
      << count_label(report, "neutral") << " neutral";
  return out.str();
}

std::string lines(const std::string& text, std::size_t indent, std::size_t width) {
  std::string out;
  for (const auto& line : wrap_text(text, width - indent))
    out += std::string(indent, ' ') + line + "\n";
  return out;
}

}  // namespace

std::string snapshot_to_json(const Snapshot& s) {
  Json tables = Json::array(), policies = Json::array(), grants = Json::array(),
       functions = Json::array();
  for (const auto& t : s.tables)
    tables.push_back({{"name", t.name}, {"rls", t.rls}, {"force", t.force}, {"owner", t.owner}});
  for (const auto& p : s.policies)
    policies.push_back({{"table", p.table},
                        {"name", p.name},
                        {"command", p.command},
                        {"permissive", p.permissive},
                        {"roles", p.roles},
                        {"using", optional_json(p.using_expr)},
                        {"check", optional_json(p.check_expr)}});
  for (const auto& g : s.grants)
    grants.push_back({{"kind", g.kind},
                      {"object", g.object},
                      {"grantee", g.grantee},
                      {"privilege", g.privilege},
                      {"grantable", g.grantable}});
  for (const auto& f : s.functions)
    functions.push_back({{"signature", f.signature},
                         {"owner", f.owner},
                         {"language", f.language},
                         {"config", f.config},
                         {"definition_md5", f.definition_md5}});
  Json out = {{"careguard_snapshot", kSnapshotFormat},
              {"source", s.source},
              {"schemas", s.schemas},
              {"tables", tables},
              {"policies", policies},
              {"grants", grants},
              {"security_definer_functions", functions}};
  return out.dump(2) + "\n";
}

Snapshot snapshot_from_json(std::string_view text) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::exception& e) {
    throw std::invalid_argument(std::string("not a careguard snapshot (invalid JSON: ") + e.what() +
                                ")");
  }
  if (!doc.is_object() || !doc.contains("careguard_snapshot"))
    throw std::invalid_argument("not a careguard snapshot (no careguard_snapshot member)");
  if (doc["careguard_snapshot"] != kSnapshotFormat)
    throw std::invalid_argument("careguard snapshot format " + doc["careguard_snapshot"].dump() +
                                " is not supported (expected " + std::to_string(kSnapshotFormat) +
                                ")");
  try {
    Snapshot s;
    s.source = doc.at("source").get<std::string>();
    s.schemas = doc.at("schemas").get<std::vector<std::string>>();
    for (const auto& t : doc.at("tables"))
      s.tables.push_back({t.at("name").get<std::string>(), t.at("rls").get<bool>(),
                          t.at("force").get<bool>(), t.at("owner").get<std::string>()});
    for (const auto& p : doc.at("policies"))
      s.policies.push_back({p.at("table").get<std::string>(), p.at("name").get<std::string>(),
                            p.at("command").get<std::string>(), p.at("permissive").get<bool>(),
                            p.at("roles").get<std::vector<std::string>>(),
                            optional_from(p.at("using")), optional_from(p.at("check"))});
    for (const auto& g : doc.at("grants"))
      s.grants.push_back({g.at("kind").get<std::string>(), g.at("object").get<std::string>(),
                          g.at("grantee").get<std::string>(), g.at("privilege").get<std::string>(),
                          g.at("grantable").get<bool>()});
    for (const auto& f : doc.at("security_definer_functions"))
      s.functions.push_back({f.at("signature").get<std::string>(), f.at("owner").get<std::string>(),
                             f.at("language").get<std::string>(), f.at("config").get<std::string>(),
                             f.at("definition_md5").get<std::string>()});
    return s;
  } catch (const Json::exception& e) {
    throw std::invalid_argument(std::string("malformed careguard snapshot: ") + e.what());
  }
}

std::vector<RuleInfo> diff_rules() {
  return {
      {"diff_widening", "error", "diff",
       "A change between two versions that grants more: more rows, roles, commands or privileges",
       "A role added to a policy, an OR branch added, a condition dropped, a permissive policy "
       "added or a restrictive one removed, a grant added, row-level security or FORCE removed, "
       "or a SECURITY DEFINER function added: someone may now read or change what they could "
       "not.",
       "Review the change; if it is intended, say why in the pull request.", ""},
      {"diff_widening_unproven", "error", "diff",
       "A change the diff could not prove narrowing or neutral, so it counts as widening",
       "The diff proves a policy condition weaker or stronger only from its AND / OR shape; a "
       "rewritten condition, a changed owner or the body of a SECURITY DEFINER function is "
       "treated as widening to fail safe.",
       "Read the before and after; if the change does not widen access, say why in the pull "
       "request.",
       ""},
      {"diff_narrowing", "note", "diff",
       "A change that grants less: fewer rows, roles, commands or privileges",
       "A role or command removed from a policy, a condition added with AND, a grant revoked, or "
       "row-level security enabled or forced. Narrowing can break a client that needed the "
       "access.",
       "Check that no client needs what was removed.", ""},
      {"diff_neutral", "note", "diff", "A change that grants neither more nor less",
       "The same condition written differently, or a new table whose grants and policies are "
       "listed on their own.",
       "Nothing to do.", ""},
  };
}

std::string render_diff_text(const DiffReport& report, std::size_t width) {
  width = std::max<std::size_t>(width, 40);
  std::ostringstream out;
  out << lines("careguard-audit diff " + report.tool_version, 0, width)
      << lines("from: " + report.from, 0, width) << lines("to:   " + report.to, 0, width);
  for (const auto& note : report.notes) out << lines("note: " + note, 0, width);
  out << "\n";
  if (report.changes.empty()) out << "No changes.\n";
  for (const auto& c : report.changes) {
    out << lines(change_label(c) + "  " + c.kind + " " + c.object, 0, width)
        << lines(c.aspect + ": " + c.before + " -> " + c.after, 4, width)
        << lines(c.reason, 4, width);
  }
  out << "\n" << diff_summary(report) << "\n";
  return out.str();
}

std::string render_diff_json(const DiffReport& report) {
  Json changes = Json::array();
  for (const auto& c : report.changes)
    changes.push_back({{"class", change_label(c)},
                       {"widening", c.change == ChangeClass::Widening},
                       {"unproven", c.unproven},
                       {"kind", c.kind},
                       {"object", c.object},
                       {"aspect", c.aspect},
                       {"before", c.before},
                       {"after", c.after},
                       {"reason", c.reason}});
  Json summary = {{"widening", count_label(report, "widening")},
                  {"widening_unproven", count_label(report, "widening (unproven)")},
                  {"narrowing", count_label(report, "narrowing")},
                  {"neutral", count_label(report, "neutral")}};
  Json out = {{"tool", "careguard-audit diff"},
              {"version", report.tool_version},
              {"from", report.from},
              {"to", report.to},
              {"notes", report.notes},
              {"summary", summary},
              {"changes", changes}};
  return out.dump(2) + "\n";
}

std::string render_diff_sarif(const DiffReport& report) {
  // Reuses the audit's SARIF shape, one rule per class, one result per change.
  Report shaped;
  shaped.tool_version = report.tool_version;
  shaped.database = report.to;
  shaped.rules = diff_rules();
  for (const auto& c : report.changes) {
    const std::string rule = change_rule(c);
    const auto it = std::find_if(shaped.rules.begin(), shaped.rules.end(),
                                 [&](const RuleInfo& r) { return r.rule == rule; });
    shaped.findings.push_back(
        {rule, it->severity, c.kind + " " + c.object + " (" + c.aspect + ")",
         change_label(c) + ": " + c.aspect + " " + c.before + " -> " + c.after + ": " + c.reason,
         it->fix});
  }
  Json doc = Json::parse(render_sarif(shaped));
  auto& run = doc["runs"][0];
  run["tool"]["driver"]["name"] = "careguard-audit diff";
  run["automationDetails"]["id"] = "careguard-audit-diff/" + report.to;
  return doc.dump(2) + "\n";
}

std::string render_diff(const DiffReport& report, Format format, std::size_t width) {
  switch (format) {
    case Format::Json:
      return render_diff_json(report);
    case Format::Sarif:
      return render_diff_sarif(report);
    case Format::Text:
      return render_diff_text(report, width);
    case Format::Markdown:
    case Format::Html:
      break;
  }
  throw std::invalid_argument("diff output is text, json or sarif");
}

}  // namespace careguard::audit
