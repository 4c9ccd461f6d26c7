// Audit report renderings: JSON and SARIF parse with careguard's own parser
// and carry the required fields; text, Markdown and HTML escape and colour.
#include "audit_format.hpp"
#include "careguard/core/json.hpp"

#include <gtest/gtest.h>

namespace {

using namespace careguard::audit;
namespace json = careguard::json;

// A report with one finding per severity, awkward characters included, and
// a two-context matrix.
Report sample_report() {
  Report r;
  r.tool_version = "0.1.0";
  r.database = "db on host:5432";
  r.schemas = {"public", "patients"};
  r.rules = {{"rls_disabled_exposed", "error", "rls", "Table exposed", "Every row shows.",
              "ENABLE ROW LEVEL SECURITY", "rls_disabled_in_public"},
             {"rls_not_forced", "warning", "rls", "Not forced", "The owner bypasses.", "FORCE", ""},
             // A database without audit_rule_docs(): no texts.
             {"privileged_role", "info", "privilege", "Privileged role", "", "", ""}};
  r.findings = {{"rls_disabled_exposed", "error", "public.\"odd|name\"",
                 "anon <b>reads</b> \"all\"", "ALTER TABLE ... ENABLE ROW LEVEL SECURITY"},
                {"rls_not_forced", "warning", "patients.profiles", "owner bypasses\nRLS", "FORCE"},
                {"privileged_role", "info", "postgres", "SUPERUSER", "review"}};
  r.has_matrix = true;
  MatrixCell a{"anon",  "anon", "public.t", std::nullopt, "42501", false,
               "42501", false,  "42501",    false,        "42501", ""};
  MatrixCell b{"admin", "admin", "public.t",   3,       "", true, "23505",
               true,    "",      std::nullopt, "02000", ""};
  r.matrix = {a, b};
  return r;
}

TEST(AuditFormat, ParsesFormatAndFailOnNames) {
  EXPECT_EQ(parse_format("sarif"), Format::Sarif);
  EXPECT_EQ(parse_format("md"), Format::Markdown);
  EXPECT_FALSE(parse_format("xml"));
  EXPECT_EQ(parse_fail_on("warning"), FailOn::Warning);
  EXPECT_EQ(parse_fail_on("info"), FailOn::Info);
  EXPECT_FALSE(parse_fail_on("notice"));
}

TEST(AuditFormat, FailOnThresholds) {
  Report r = sample_report();
  EXPECT_TRUE(fails(r, FailOn::Error));
  EXPECT_TRUE(fails(r, FailOn::Warning));
  EXPECT_FALSE(fails(r, FailOn::Never));
  r.findings.erase(r.findings.begin());  // drop the error
  EXPECT_FALSE(fails(r, FailOn::Error));
  EXPECT_TRUE(fails(r, FailOn::Warning));
  r.findings.erase(r.findings.begin());  // only info left
  EXPECT_FALSE(fails(r, FailOn::Warning));
  EXPECT_TRUE(fails(r, FailOn::Info));
  r.findings.clear();
  EXPECT_FALSE(fails(r, FailOn::Info));
}

TEST(AuditFormat, JsonParsesAndRoundTripsFields) {
  const json::Value doc = json::parse(render_json(sample_report()));
  ASSERT_EQ(doc.kind, json::Kind::Object);
  const json::Value* findings = doc.find("findings");
  ASSERT_NE(findings, nullptr);
  ASSERT_EQ(findings->items.size(), 3u);
  EXPECT_EQ(findings->items[0].find("object")->text, "public.\"odd|name\"");
  EXPECT_EQ(findings->items[1].find("detail")->text, "owner bypasses\nRLS");
  EXPECT_EQ(doc.find("summary")->find("error")->text, "1");
  const json::Value* matrix = doc.find("matrix");
  ASSERT_NE(matrix, nullptr);
  EXPECT_EQ(matrix->items[0].find("selectable_rows")->kind, json::Kind::Null);
  EXPECT_EQ(matrix->items[1].find("selectable_rows")->text, "3");
  EXPECT_EQ(matrix->items[1].find("can_delete")->kind, json::Kind::Null);
  EXPECT_EQ(matrix->items[0].find("can_insert")->kind, json::Kind::Bool);
}

TEST(AuditFormat, JsonOmitsMatrixWhenNotRequested) {
  Report r = sample_report();
  r.has_matrix = false;
  EXPECT_EQ(json::parse(render_json(r)).find("matrix"), nullptr);
  r.findings.clear();
  EXPECT_EQ(json::parse(render_json(r)).find("findings")->items.size(), 0u);
}

TEST(AuditFormat, SarifHasRequiredFields) {
  const json::Value doc = json::parse(render_sarif(sample_report()));
  EXPECT_EQ(doc.find("version")->text, "2.1.0");
  EXPECT_NE(doc.find("$schema"), nullptr);
  const json::Value& run = doc.find("runs")->items.at(0);
  const json::Value* driver = run.find("tool")->find("driver");
  EXPECT_EQ(driver->find("name")->text, "careguard-audit");
  const auto& rules = driver->find("rules")->items;
  ASSERT_EQ(rules.size(), 3u);
  const auto& results = run.find("results")->items;
  ASSERT_EQ(results.size(), 3u);
  const char* levels[] = {"error", "warning", "note"};
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::Value& res = results[i];
    EXPECT_EQ(res.find("level")->text, levels[i]);
    const std::size_t index = std::stoul(res.find("ruleIndex")->text);
    EXPECT_EQ(rules.at(index).find("id")->text, res.find("ruleId")->text);
    EXPECT_FALSE(res.find("message")->find("text")->text.empty());
    const auto& logical = res.find("locations")->items.at(0).find("logicalLocations")->items;
    EXPECT_EQ(logical.at(0).find("fullyQualifiedName")->text, sample_report().findings[i].object);
  }
}

// What GitHub code scanning requires of each rule (sarif-multitool GH2012)
// and SARIF of its name (SARIF1001), texts or not.
TEST(AuditFormat, SarifRulesCarryDescriptionsAndHelp) {
  Report r = sample_report();
  r.findings.push_back({"not_in_catalogue", "warning", "x", "d", "f"});
  const json::Value doc = json::parse(render_sarif(r));
  const json::Value& run = doc.find("runs")->items.at(0);
  const auto& rules = run.find("tool")->find("driver")->find("rules")->items;
  ASSERT_EQ(rules.size(), 4u);
  for (const auto& rule : rules) {
    const std::string id = rule.find("id")->text;
    EXPECT_NE(rule.find("name")->text, id);
    EXPECT_FALSE(rule.find("shortDescription")->find("text")->text.empty()) << id;
    EXPECT_FALSE(rule.find("fullDescription")->find("text")->text.empty()) << id;
    EXPECT_NE(rule.find("help")->find("text")->text.find(rule_help_uri(id)), std::string::npos);
    EXPECT_FALSE(rule.find("help")->find("markdown")->text.empty()) << id;
    EXPECT_EQ(rule.find("helpUri")->text, std::string(kRulesDocUri) + "#" + id);
  }
  EXPECT_EQ(rules[0].find("name")->text, "RlsDisabledExposed");
  EXPECT_EQ(rules[0].find("fullDescription")->find("text")->text, "Every row shows.");
  EXPECT_NE(
      rules[0].find("help")->find("markdown")->text.find("**Fix:** ENABLE ROW LEVEL SECURITY"),
      std::string::npos);
  EXPECT_NE(rules[0].find("help")->find("text")->text.find("rls_disabled_in_public"),
            std::string::npos);
  // No texts in the database: the summary stands in.
  EXPECT_EQ(rules[2].find("fullDescription")->find("text")->text, "Privileged role");
  // Each result keeps the baseline's fingerprint across runs.
  const auto& results = run.find("results")->items;
  EXPECT_EQ(results[0].find("partialFingerprints")->find("careguardFinding/v1")->text.size(), 16u);
  EXPECT_NE(results[0].find("partialFingerprints")->find("careguardFinding/v1")->text,
            results[1].find("partialFingerprints")->find("careguardFinding/v1")->text);
}

TEST(AuditFormat, SarifAddsRulesMissingFromTheCatalogue) {
  Report r = sample_report();
  r.rules.clear();
  const json::Value doc = json::parse(render_sarif(r));
  EXPECT_EQ(doc.find("runs")->items[0].find("tool")->find("driver")->find("rules")->items.size(),
            3u);
}

TEST(AuditFormat, TextColoursOnlyWhenAsked) {
  const std::string plain = render_text(sample_report(), false);
  const std::string coloured = render_text(sample_report(), true);
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  EXPECT_NE(coloured.find("\033[1;31m"), std::string::npos);
  EXPECT_NE(plain.find("3 findings: 1 error, 1 warning, 1 info"), std::string::npos);
  EXPECT_NE(plain.find("ACCESS MATRIX"), std::string::npos);
}

TEST(AuditFormat, MarkdownEscapesTableCells) {
  const std::string md = render_markdown(sample_report());
  EXPECT_NE(md.find("public.\"odd\\|name\""), std::string::npos);
  EXPECT_NE(md.find("owner bypasses<br>RLS"), std::string::npos);
  EXPECT_NE(md.find("| anon | anon | public.t | denied (42501) |"), std::string::npos);
}

TEST(AuditFormat, HtmlEscapesAndDrawsTheGrid) {
  const std::string html = render_html(sample_report());
  EXPECT_EQ(html.find("<b>reads</b>"), std::string::npos);
  EXPECT_NE(html.find("anon &lt;b&gt;reads&lt;/b&gt; &quot;all&quot;"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"grid\">"), std::string::npos);
  EXPECT_NE(html.find("<th>anon</th><th>admin</th>"), std::string::npos);
  EXPECT_NE(html.find("class=\"p yes\" title=\"allowed (23505)\""), std::string::npos);
  EXPECT_NE(html.find("class=\"p no\" title=\"denied (42501)\""), std::string::npos);
  EXPECT_NE(html.find("class=\"p na\" title=\"n/a (02000)\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
  EXPECT_EQ(html_escape("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
}

// The matrix as a read-only standby returns it: write probes impossible.
Report standby_report() {
  Report r = sample_report();
  for (auto& c : r.matrix) {
    c.can_insert = c.can_update = c.can_delete = std::nullopt;
    c.insert_sqlstate = c.update_sqlstate = c.delete_sqlstate = "25006";
    c.writes_not_probed = "read-only standby";
  }
  return r;
}

TEST(AuditFormat, StandbyMatrixNeverReadsAsDenied) {
  const Report r = standby_report();
  const std::string text = render_text(r, false);
  EXPECT_NE(text.find("Write probes were impossible (read-only standby)"), std::string::npos);
  EXPECT_NE(text.find("n/a (read-only standby)"), std::string::npos);
  EXPECT_EQ(text.find("- - -"), std::string::npos);

  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("| admin | admin | public.t | 3 | n/a (read-only standby) |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("denied (25006)"), std::string::npos);

  const std::string html = render_html(r);
  EXPECT_NE(html.find("class=\"unprobed\""), std::string::npos);
  EXPECT_NE(html.find("class=\"p na\" title=\"n/a (read-only standby)\""), std::string::npos);
  EXPECT_EQ(html.find("title=\"denied (25006)\""), std::string::npos);

  const json::Value doc = json::parse(render_json(r));
  EXPECT_EQ(doc.find("matrix")->items[0].find("writes_not_probed")->text, "read-only standby");
  EXPECT_EQ(doc.find("matrix")->items[0].find("can_insert")->kind, json::Kind::Null);
  EXPECT_EQ(json::parse(render_json(sample_report()))
                .find("matrix")
                ->items[0]
                .find("writes_not_probed")
                ->kind,
            json::Kind::Null);

  const json::Value sarif = json::parse(render_sarif(r));
  const json::Value* invocations = sarif.find("runs")->items[0].find("invocations");
  ASSERT_NE(invocations, nullptr);
  const json::Value& note = invocations->items[0].find("toolExecutionNotifications")->items[0];
  EXPECT_EQ(note.find("level")->text, "warning");
  EXPECT_NE(note.find("message")->find("text")->text.find("read-only standby"), std::string::npos);
  EXPECT_EQ(json::parse(render_sarif(sample_report())).find("runs")->items[0].find("invocations"),
            nullptr);
}

}  // namespace
