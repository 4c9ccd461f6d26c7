// Every rule the audit can emit is documented where SARIF's helpUri points:
// docs/audit-rules.md has a heading whose GitHub anchor is the rule id, and
// careguard.audit_rule_docs() gives it a why and a fix (SARIF's
// fullDescription and help).
#include "audit_format.hpp"
#include "policy_diff.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace {

const std::string kSourceDir =
    std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/test/"));

// GitHub's heading anchor: lower case; letters, digits, '_' and '-' kept,
// spaces become '-', everything else is dropped; a repeated slug gets -1, -2.
std::string github_slug(const std::string& heading) {
  std::string slug;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '_' || c == '-')
      slug += static_cast<char>(std::tolower(c));
    else if (c == ' ')
      slug += '-';
  }
  return slug;
}

std::set<std::string> anchors_of(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  bool in_code = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) in_code = !in_code;
    if (in_code || line.empty() || line[0] != '#') continue;
    const std::size_t text = line.find_first_not_of('#');
    if (text == std::string::npos || line[text] != ' ') continue;
    std::string slug = github_slug(line.substr(text + 1));
    const int n = seen[slug]++;
    anchors.insert(n == 0 ? slug : slug + "-" + std::to_string(n));
  }
  return anchors;
}

TEST(AuditDocs, GithubSlugsAsGithubComputesThem) {
  EXPECT_EQ(github_slug("rls_not_forced"), "rls_not_forced");
  EXPECT_EQ(github_slug("rls_not_forced (warning)"), "rls_not_forced-warning");
  EXPECT_EQ(github_slug("Gating CI: baseline, exclusions, output"),
            "gating-ci-baseline-exclusions-output");
}

TEST(AuditDocs, EveryRuleHasAHeadingAnchoredByItsId) {
  const auto anchors = anchors_of(kSourceDir + "/docs/audit-rules.md");
  pqxx::connection conn;
  pqxx::work txn(conn);
  const auto rules = txn.exec("SELECT rule FROM careguard.audit_rules() ORDER BY 1");
  ASSERT_GT(rules.size(), 20u);
  for (const auto& row : rules) {
    const std::string rule = row[0].as<std::string>();
    EXPECT_TRUE(anchors.count(rule)) << "docs/audit-rules.md has no heading '### " << rule
                                     << "' for " << careguard::audit::rule_help_uri(rule);
  }
}

TEST(AuditDocs, EveryRuleHasWhyAndFix) {
  pqxx::connection conn;
  pqxx::work txn(conn);
  const auto missing = txn.exec(
      "SELECT r.rule FROM careguard.audit_rules() r "
      "LEFT JOIN careguard.audit_rule_docs() d ON d.rule = r.rule "
      "WHERE coalesce(d.why, '') = '' OR coalesce(d.fix, '') = '' ORDER BY 1");
  for (const auto& row : missing)
    ADD_FAILURE() << "careguard.audit_rule_docs() has no why/fix for " << row[0].as<std::string>();
  const auto stray = txn.exec(
      "SELECT d.rule FROM careguard.audit_rule_docs() d "
      "WHERE d.rule NOT IN (SELECT r.rule FROM careguard.audit_rules() r)");
  for (const auto& row : stray)
    ADD_FAILURE() << "audit_rule_docs() documents an unknown rule " << row[0].as<std::string>();
}

// The diff's SARIF rules point into the same document.
TEST(AuditDocs, EveryDiffClassHasAHeading) {
  const auto anchors = anchors_of(kSourceDir + "/docs/audit-rules.md");
  for (const auto& rule : careguard::audit::diff_rules())
    EXPECT_TRUE(anchors.count(rule.rule)) << "no heading '### " << rule.rule << "'";
}

}  // namespace
