// careguard-audit: the text rendering, fitted to a terminal's width. Long
// names wrap onto continuation lines and are never cut: two objects that
// differ only at their ends must not print alike.
#include "audit_format.hpp"
#include "format_detail.hpp"

#include <algorithm>
#include <sstream>

namespace careguard::audit {

using namespace detail;

namespace {

bool is_break_after(char c) {
  return c == ' ' || c == '.' || c == '_' || c == ',' || c == ')';
}

void wrap_line(std::string_view text, std::size_t width, std::vector<std::string>& out) {
  while (text.size() > width) {
    std::size_t cut = width;
    for (std::size_t k = width; k > 0; --k) {
      if (is_break_after(text[k - 1])) {
        cut = k;
        break;
      }
    }
    std::string_view line = text.substr(0, cut);
    while (line.size() > 1 && line.back() == ' ') line.remove_suffix(1);
    out.emplace_back(line);
    text.remove_prefix(cut);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  if (!text.empty() || out.empty()) out.emplace_back(text);
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

// One table row: every cell wrapped to its column, as many lines as the
// tallest cell needs. The last column is not padded.
std::string table_row(const std::vector<std::string>& cells, const std::vector<std::size_t>& widths,
                      const std::string& first_prefix = "", const std::string& first_suffix = "") {
  std::vector<std::vector<std::string>> wrapped;
  std::size_t height = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    // One column of each but the last stays blank, between cells.
    const std::size_t room = i + 1 < cells.size() ? widths[i] - 1 : widths[i];
    wrapped.push_back(wrap_text(cells[i], room));
    height = std::max(height, wrapped.back().size());
  }
  std::string out;
  for (std::size_t line = 0; line < height; ++line) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string cell = line < wrapped[i].size() ? wrapped[i][line] : "";
      const bool last = i + 1 == cells.size();
      if (i == 0 && line == 0 && !first_prefix.empty())
        text += first_prefix + cell + first_suffix + std::string(widths[i] - cell.size(), ' ');
      else
        text += last ? cell : pad(cell, widths[i]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

// A paragraph under a finding, indented and wrapped to the width.
std::string indented(const std::string& text, std::size_t indent, std::size_t width) {
  std::string out;
  for (const auto& line : wrap_text(text, width - indent))
    out += std::string(indent, ' ') + line + "\n";
  return out;
}

const char* ansi_for(std::string_view severity) {
  if (severity == "error") return "\033[1;31m";
  if (severity == "warning") return "\033[33m";
  return "\033[36m";
}

}  // namespace

std::vector<std::string> wrap_text(std::string_view text, std::size_t width) {
  width = std::max<std::size_t>(width, 1);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t newline = text.find('\n', start);
    wrap_line(text.substr(start, newline == std::string_view::npos ? newline : newline - start),
              width, out);
    if (newline == std::string_view::npos) return out;
    start = newline + 1;
  }
}

std::string render_text(const Report& report, bool color, std::size_t width) {
  // Narrower than this, no layout is readable; wrap at it anyway.
  width = std::max<std::size_t>(width, 40);
  std::ostringstream out;
  const char* reset = color ? "\033[0m" : "";
  out << "careguard-audit " << report.tool_version << "  " << report.database << "\n";
  out << indented("schemas: " + join(report.schemas, ", "), 0, width) << "\n";
  const std::size_t severity_w = 9;
  const std::size_t rule_w = std::min<std::size_t>(31, width / 3);
  const std::vector<std::size_t> finding_widths = {severity_w, rule_w, width - severity_w - rule_w};
  if (report.findings.empty())
    out << "No findings.\n";
  else
    out << table_row({"SEVERITY", "RULE", "OBJECT"}, finding_widths);
  for (const auto& f : report.findings) {
    out << table_row({f.severity, f.rule, f.object}, finding_widths,
                     color ? ansi_for(f.severity) : "", reset)
        << indented(f.detail, severity_w, width) << indented("fix: " + f.fix, severity_w, width);
  }
  out << "\n" << summary_line(report) << "\n";
  if (report.has_matrix) {
    // Rows fit "denied (42501)"; the write column "n/a (read-only
    // transaction)" when there is room, "I U D" at least, leaving the
    // relation 20 columns; the relation takes the rest.
    const std::size_t context_w = std::clamp<std::size_t>(width / 6, 10, 20), rows_w = 16;
    const std::size_t writes_w = std::clamp<std::size_t>(width - context_w - rows_w - 20, 8, 28);
    const std::vector<std::size_t> matrix_widths = {
        context_w, width - context_w - rows_w - writes_w, rows_w, writes_w};
    out << "\n"
        << indented(
               "ACCESS MATRIX (rows visible; I/U/D = insert/update/delete: + allowed, - denied, ? "
               "n/a)",
               0, width)
        << table_row({"CONTEXT", "RELATION", "ROWS", "I U D"}, matrix_widths);
    for (const auto& reason : unprobed_reasons(report))
      out << indented(unprobed_banner(reason), 0, width);
    auto mark = [](const std::optional<bool>& v) { return !v ? "?" : (*v ? "+" : "-"); };
    for (const auto& c : report.matrix) {
      const std::string writes = !c.writes_not_probed.empty()
                                     ? "n/a (" + c.writes_not_probed + ")"
                                     : std::string(mark(c.can_insert)) + " " + mark(c.can_update) +
                                           " " + mark(c.can_delete);
      out << table_row({c.context, c.relation, rows_words(c), writes}, matrix_widths);
    }
  }
  return out.str();
}

}  // namespace careguard::audit
