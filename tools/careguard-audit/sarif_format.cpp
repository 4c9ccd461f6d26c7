// careguard-audit: the SARIF 2.1.0 rendering. Besides the schema it meets
// GitHub code scanning's rules (sarif-multitool --rule-kind Gh): every rule
// has a short and a full description and help in text and Markdown, and
// every result a stable partial fingerprint.
#include "audit_format.hpp"
#include "baseline.hpp"
#include "format_detail.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace careguard::audit {

using namespace detail;

const char* const kRulesDocUri =
    "https://github.com/careguard/careguard/blob/main/docs/audit-rules.md";

std::string rule_help_uri(std::string_view rule) {
  return std::string(kRulesDocUri) + "#" + std::string(rule);
}

std::string rule_display_name(std::string_view rule) {
  std::string name;
  bool upper = true;
  for (char c : rule) {
    if (c == '_' || c == '-') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

namespace {

// GitHub shows at most 1,024 characters of a description.
std::string at_most_1024(std::string text) {
  if (text.size() > 1024) text = text.substr(0, 1021) + "...";
  return text;
}

Json sarif_rule(const RuleInfo& r) {
  const std::string why = r.why.empty() ? r.summary : r.why;
  std::string text = r.summary + ".\n\nWhy: " + why;
  std::string markdown = "**" + r.summary + ".**\n\n**Why:** " + why;
  if (!r.fix.empty()) {
    text += "\n\nFix: " + r.fix;
    markdown += "\n\n**Fix:** " + r.fix;
  }
  if (!r.splinter.empty()) {
    text += "\n\nSupabase splinter lint: " + r.splinter + ".";
    markdown += "\n\nSupabase splinter lint: `" + r.splinter + "`.";
  }
  text += "\n\nSee " + rule_help_uri(r.rule);
  markdown += "\n\n[" + r.rule + " in docs/audit-rules.md](" + rule_help_uri(r.rule) + ")";
  Json tags = Json::array({"security", r.category});
  return {{"id", r.rule},
          {"name", rule_display_name(r.rule)},
          {"shortDescription", {{"text", at_most_1024(r.summary)}}},
          {"fullDescription", {{"text", at_most_1024(why)}}},
          {"help", {{"text", text}, {"markdown", markdown}}},
          {"helpUri", rule_help_uri(r.rule)},
          {"defaultConfiguration", {{"level", sarif_level(r.severity)}}},
          {"properties", {{"category", r.category}, {"tags", tags}}}};
}

}  // namespace

std::string render_sarif(const Report& report) {
  // rules[]: the catalogue, plus any rule a finding names that it lacks.
  std::vector<RuleInfo> rules = report.rules;
  for (const auto& f : report.findings) {
    auto known = [&](const RuleInfo& r) { return r.rule == f.rule; };
    if (std::none_of(rules.begin(), rules.end(), known))
      rules.push_back({f.rule, f.severity, "unknown", "Audit rule " + f.rule, "", "", ""});
  }
  std::map<std::string, std::size_t> index_of;
  Json sarif_rules = Json::array();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    index_of[rules[i].rule] = i;
    sarif_rules.push_back(sarif_rule(rules[i]));
  }
  Json results = Json::array();
  for (const auto& f : report.findings) {
    results.push_back(
        {{"ruleId", f.rule},
         {"ruleIndex", index_of[f.rule]},
         {"level", sarif_level(f.severity)},
         {"message", {{"text", f.detail + ". Fix: " + f.fix}}},
         {"locations",
          Json::array({{{"logicalLocations",
                         Json::array({{{"fullyQualifiedName", f.object}, {"kind", "member"}}})}}})},
         // The baseline's fingerprint: the same finding keeps its alert.
         {"partialFingerprints", {{"careguardFinding/v1", fingerprint(f.rule, f.object)}}}});
  }
  Json run = {{"tool",
               {{"driver",
                 {{"name", "careguard-audit"},
                  {"version", report.tool_version},
                  {"informationUri", kRulesDocUri},
                  {"rules", sarif_rules}}}}},
              {"automationDetails", {{"id", "careguard-audit/" + report.database}}},
              {"results", results}};
  // SARIF carries findings, not the matrix; a matrix that could not probe
  // writes is said as a tool notification, so no dashboard reads it as clean.
  const auto reasons = unprobed_reasons(report);
  if (!reasons.empty()) {
    Json notifications = Json::array();
    for (const auto& reason : reasons) {
      notifications.push_back(
          {{"level", "warning"}, {"message", {{"text", unprobed_banner(reason)}}}});
    }
    run["invocations"] = Json::array(
        {{{"executionSuccessful", true}, {"toolExecutionNotifications", notifications}}});
  }
  Json out = {{"version", "2.1.0"},
              {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"runs", Json::array({run})}};
  return out.dump(2) + "\n";
}

}  // namespace careguard::audit
