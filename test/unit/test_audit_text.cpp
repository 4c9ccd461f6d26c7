// careguard-audit's text output fits the terminal: lines stay within the
// width, and long names wrap instead of being cut, so two names that differ
// only at their ends never print alike.
#include "audit_format.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace careguard::audit;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditText, WrapBreaksAtSeparatorsAndKeepsEveryCharacter) {
  EXPECT_EQ(wrap_text("short", 10), std::vector<std::string>{"short"});
  EXPECT_EQ(wrap_text("", 10), std::vector<std::string>{""});
  EXPECT_EQ(wrap_text("audit_fixture.a_long_table", 14),
            (std::vector<std::string>{"audit_fixture.", "a_long_table"}));
  EXPECT_EQ(wrap_text("one two three", 8), (std::vector<std::string>{"one two", "three"}));
  // No separator: split inside the word, nothing lost.
  EXPECT_EQ(wrap_text("abcdefghij", 4), (std::vector<std::string>{"abcd", "efgh", "ij"}));
  EXPECT_EQ(wrap_text("a\nb", 10), (std::vector<std::string>{"a", "b"}));
}

Report long_names_report() {
  Report r;
  r.tool_version = "0.4.0";
  r.database = "db on host:5432";
  r.schemas = {"public"};
  const std::string stem = "patients.appointment_reminder_delivery_attempts_archive_";
  r.findings = {
      {"rls_disabled_exposed", "error", stem + "2024_first_half", "readable by anon", "enable RLS"},
      {"rls_disabled_exposed", "error", stem + "2024_second_half", "readable by anon",
       "enable RLS"}};
  r.has_matrix = true;
  MatrixCell cell{"patient_with_a_long_context_name",
                  "patient",
                  stem + "2024_first_half",
                  12,
                  "",
                  false,
                  "42501",
                  false,
                  "42501",
                  false,
                  "42501",
                  ""};
  r.matrix = {cell};
  cell.relation = stem + "2024_second_half";
  r.matrix.push_back(cell);
  return r;
}

// Each finding's object read down its column: the finding's rows run from
// its severity line to its detail line (indented 9, as render_text does).
std::vector<std::string> objects_in(const std::vector<std::string>& lines, const Report& r,
                                    std::size_t object_column) {
  std::vector<std::string> objects;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("error", 0) != 0) continue;
    const std::string detail_line = std::string(9, ' ') + r.findings[objects.size()].detail;
    std::string object;
    for (std::size_t k = i; k < lines.size() && lines[k] != detail_line; ++k)
      if (lines[k].size() > object_column) object += lines[k].substr(object_column);
    objects.push_back(object);
  }
  return objects;
}

// Every line within the width; read down the object column, each long name
// is whole, so the two that differ only at their ends stay distinct.
TEST(AuditText, LongNamesWrapWithinTheWidthAndStayDistinct) {
  const Report r = long_names_report();
  for (std::size_t width : {60u, 80u, 100u, 132u}) {
    const std::string text = render_text(r, false, width);
    const auto lines = lines_of(text);
    for (const auto& line : lines)
      EXPECT_LE(line.size(), width) << "width " << width << ": " << line;
    // Severity is 9 wide, the rule column a third of the width (31 at most).
    const auto objects = objects_in(lines, r, 9 + std::min<std::size_t>(31, width / 3));
    ASSERT_EQ(objects.size(), 2u) << text;
    EXPECT_EQ(objects[0], r.findings[0].object) << text;
    EXPECT_EQ(objects[1], r.findings[1].object) << text;
    EXPECT_EQ(text.find('~'), std::string::npos) << "nothing is cut";
  }
}

TEST(AuditText, NarrowWidthWrapsTheObjectColumn) {
  const Report r = long_names_report();
  const auto lines = lines_of(render_text(r, false, 60));
  // The objects (72 characters) do not fit 60 - 29 columns: more than one
  // line each, and the first line of each is the same prefix.
  const auto objects = objects_in(lines, r, 29);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0], r.findings[0].object);
  EXPECT_EQ(objects[1], r.findings[1].object);
  std::size_t object_lines = 0;
  for (const auto& line : lines)
    if (line.size() > 29 && line.find("2024_") != std::string::npos) ++object_lines;
  EXPECT_GE(object_lines, 2u);
}

TEST(AuditText, DefaultWidthIsOneHundred) {
  EXPECT_EQ(kDefaultTextWidth, 100u);
  EXPECT_EQ(render_text(long_names_report(), false),
            render_text(long_names_report(), false, kDefaultTextWidth));
}

}  // namespace
