// Unit tests: baseline files accept findings by a stable fingerprint, each
// with a reason; only new findings remain, and stale entries are reported.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "baseline.hpp"

using careguard::audit::apply_baseline;
using careguard::audit::baseline_for;
using careguard::audit::fingerprint;
using careguard::audit::parse_baseline;
using careguard::audit::Report;

namespace {

Report two_findings() {
  Report report;
  report.findings.push_back({"rls_not_forced", "warning", "app.notes", "detail", "fix"});
  report.findings.push_back({"fk_without_index", "warning", "fk on app.items", "detail", "fix"});
  return report;
}

TEST(Baseline, FingerprintIsStableAndSeparatesRuleFromObject) {
  EXPECT_EQ(fingerprint("rls_not_forced", "app.notes"), fingerprint("rls_not_forced", "app.notes"));
  EXPECT_EQ(fingerprint("rls_not_forced", "app.notes").size(), 16u);
  EXPECT_NE(fingerprint("a", "bc"), fingerprint("ab", "c"));
}

TEST(Baseline, AcceptsListedFindingsAndReportsStaleEntries) {
  Report report = two_findings();
  std::string text = "# accepted\n" + fingerprint("rls_not_forced", "app.notes") +
                     "\trls_not_forced\tapp.notes\towner-only table, reviewed 2026-11\n" +
                     fingerprint("view_bypasses_rls", "app.old_view") +
                     "\tview_bypasses_rls\tapp.old_view\tdropped since\n";
  auto result = apply_baseline(report, parse_baseline(text));
  EXPECT_EQ(result.accepted, 1u);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].rule, "fk_without_index");
  ASSERT_EQ(result.unmatched.size(), 1u);
  EXPECT_EQ(result.unmatched[0].object, "app.old_view");
}

TEST(Baseline, WrittenBaselineReadsBackAndAcceptsEverything) {
  Report report = two_findings();
  auto entries = parse_baseline(baseline_for(report, "accepted for the test"));
  EXPECT_EQ(entries.size(), 2u);
  EXPECT_EQ(apply_baseline(report, entries).accepted, 2u);
  EXPECT_TRUE(report.findings.empty());
}

TEST(Baseline, RefusesEntriesWithoutReasonOrWithAForeignFingerprint) {
  std::string print = fingerprint("rls_not_forced", "app.notes");
  EXPECT_THROW(parse_baseline(print + "\trls_not_forced\tapp.notes\t \n"), std::invalid_argument);
  EXPECT_THROW(parse_baseline(print + "\trls_not_forced\tapp.notes\n"), std::invalid_argument);
  EXPECT_THROW(parse_baseline(print + "\trls_not_forced\tapp.other\twhy\n"), std::invalid_argument);
  try {
    parse_baseline("\n" + print + "\trls_not_forced\tapp.other\twhy\n");
    FAIL() << "accepted a fingerprint of another finding";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

}  // namespace
