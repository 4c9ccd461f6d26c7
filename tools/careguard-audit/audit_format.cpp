// careguard-audit: renders an audit report as text, JSON, SARIF, Markdown,
// HTML. Part of the CLI only; JSON is built with nlohmann::json.
#include "audit_format.hpp"
#include "format_detail.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace careguard::audit {

namespace detail {

Json optional_bool(const std::optional<bool>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json optional_text(const std::string& value) {
  return value.empty() ? Json(nullptr) : Json(value);
}

// "allowed", "denied (42501)", "n/a (02000)" ...: one probe in words.
std::string probe_words(const std::optional<bool>& allowed, const std::string& sqlstate) {
  std::string words = !allowed ? "n/a" : (*allowed ? "allowed" : "denied");
  if (!sqlstate.empty()) words += " (" + sqlstate + ")";
  return words;
}

// One write probe of a cell in words: "n/a (read-only standby)" where no
// write could run, which must never read as "denied".
std::string write_words(const MatrixCell& cell, const std::optional<bool>& allowed,
                        const std::string& sqlstate) {
  if (!cell.writes_not_probed.empty()) return "n/a (" + cell.writes_not_probed + ")";
  return probe_words(allowed, sqlstate);
}

// The distinct reasons why writes were not probed, for a report's banner.
std::vector<std::string> unprobed_reasons(const Report& report) {
  std::vector<std::string> out;
  for (const auto& cell : report.matrix)
    if (!cell.writes_not_probed.empty() &&
        std::find(out.begin(), out.end(), cell.writes_not_probed) == out.end())
      out.push_back(cell.writes_not_probed);
  return out;
}

std::string unprobed_banner(const std::string& reason) {
  return "Write probes were impossible (" + reason +
         "): INSERT/UPDATE/DELETE verdicts are unknown, not denied. Run the matrix on the "
         "primary for them.";
}

std::string rows_words(const MatrixCell& cell) {
  if (cell.selectable_rows) return std::to_string(*cell.selectable_rows);
  return "denied (" + cell.select_sqlstate + ")";
}

std::string summary_line(const Report& report) {
  std::ostringstream out;
  out << report.findings.size() << " findings: " << count_severity(report, "error") << " error, "
      << count_severity(report, "warning") << " warning, " << count_severity(report, "info")
      << " info";
  return out.str();
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

// Contexts and relations of the matrix, in first-seen order.
std::vector<std::string> distinct_in_order(const std::vector<MatrixCell>& cells,
                                           std::string MatrixCell::*field) {
  std::vector<std::string> out;
  for (const auto& cell : cells)
    if (std::find(out.begin(), out.end(), cell.*field) == out.end()) out.push_back(cell.*field);
  return out;
}

// CSS class of one probe in the HTML grid.
const char* probe_class(const std::optional<bool>& allowed) {
  if (!allowed) return "na";
  return *allowed ? "yes" : "no";
}

}  // namespace detail

using namespace detail;

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::Text;
  if (name == "json") return Format::Json;
  if (name == "sarif") return Format::Sarif;
  if (name == "markdown" || name == "md") return Format::Markdown;
  if (name == "html") return Format::Html;
  return std::nullopt;
}

std::optional<FailOn> parse_fail_on(std::string_view name) {
  if (name == "error") return FailOn::Error;
  if (name == "warning") return FailOn::Warning;
  if (name == "info") return FailOn::Info;
  if (name == "never") return FailOn::Never;
  return std::nullopt;
}

int severity_rank(std::string_view severity) {
  if (severity == "error") return 2;
  if (severity == "warning") return 1;
  if (severity == "info") return 0;
  return -1;
}

bool fails(const Report& report, FailOn threshold) {
  if (threshold == FailOn::Never) return false;
  const int bar = threshold == FailOn::Error ? 2 : threshold == FailOn::Warning ? 1 : 0;
  return std::any_of(report.findings.begin(), report.findings.end(),
                     [bar](const Finding& f) { return severity_rank(f.severity) >= bar; });
}

std::size_t count_severity(const Report& report, std::string_view severity) {
  return static_cast<std::size_t>(
      std::count_if(report.findings.begin(), report.findings.end(),
                    [severity](const Finding& f) { return f.severity == severity; }));
}

std::string sarif_level(std::string_view severity) {
  if (severity == "error") return "error";
  if (severity == "warning") return "warning";
  return "note";
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markdown_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    // Table cells: a pipe ends the cell, a newline ends the row.
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "<br>";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_json(const Report& report) {
  Json summary = Json::object();
  for (const char* severity : kSeverities) summary[severity] = count_severity(report, severity);
  Json findings = Json::array();
  for (const auto& f : report.findings) {
    findings.push_back({{"rule", f.rule},
                        {"severity", f.severity},
                        {"object", f.object},
                        {"detail", f.detail},
                        {"fix", f.fix}});
  }
  Json out = {{"tool", "careguard-audit"},   {"version", report.tool_version},
              {"database", report.database}, {"schemas", report.schemas},
              {"summary", summary},          {"findings", findings}};
  if (report.has_matrix) {
    Json matrix = Json::array();
    for (const auto& c : report.matrix) {
      matrix.push_back(
          {{"context", c.context},
           {"role", c.role},
           {"relation", c.relation},
           {"selectable_rows", c.selectable_rows ? Json(*c.selectable_rows) : Json(nullptr)},
           {"select_sqlstate", optional_text(c.select_sqlstate)},
           {"can_insert", optional_bool(c.can_insert)},
           {"insert_sqlstate", optional_text(c.insert_sqlstate)},
           {"can_update", optional_bool(c.can_update)},
           {"update_sqlstate", optional_text(c.update_sqlstate)},
           {"can_delete", optional_bool(c.can_delete)},
           {"delete_sqlstate", optional_text(c.delete_sqlstate)},
           {"writes_not_probed", optional_text(c.writes_not_probed)}});
    }
    out["matrix"] = matrix;
  }
  return out.dump(2) + "\n";
}

std::string render_markdown(const Report& report) {
  std::ostringstream out;
  out << "# careguard audit\n\n"
      << "- Database: " << markdown_escape(report.database) << "\n"
      << "- Schemas: " << markdown_escape(join(report.schemas, ", ")) << "\n"
      << "- careguard-audit " << markdown_escape(report.tool_version) << "\n\n"
      << "**" << summary_line(report) << "**\n\n";
  if (!report.findings.empty()) {
    out << "| Severity | Rule | Object | Detail | Fix |\n|---|---|---|---|---|\n";
    for (const auto& f : report.findings)
      out << "| " << markdown_escape(f.severity) << " | `" << f.rule << "` | "
          << markdown_escape(f.object) << " | " << markdown_escape(f.detail) << " | "
          << markdown_escape(f.fix) << " |\n";
  }
  if (report.has_matrix) {
    out << "\n## Access matrix\n\n";
    for (const auto& reason : unprobed_reasons(report))
      out << "> **" << markdown_escape(unprobed_banner(reason)) << "**\n\n";
    out << "| Context | Role | Relation | Rows visible | INSERT | UPDATE | DELETE |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (const auto& c : report.matrix)
      out << "| " << markdown_escape(c.context) << " | " << markdown_escape(c.role) << " | "
          << markdown_escape(c.relation) << " | " << rows_words(c) << " | "
          << markdown_escape(write_words(c, c.can_insert, c.insert_sqlstate)) << " | "
          << markdown_escape(write_words(c, c.can_update, c.update_sqlstate)) << " | "
          << markdown_escape(write_words(c, c.can_delete, c.delete_sqlstate)) << " |\n";
  }
  return out.str();
}

std::string render_html(const Report& report) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      << "<title>careguard audit: " << html_escape(report.database) << "</title>\n<style>\n"
      << "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}\n"
      << "h1{margin:0 0 4px}h2{margin-top:28px}.meta{color:#5b6475}\n"
      << ".cards{display:flex;gap:12px;margin:16px 0}.card{padding:10px 16px;border-radius:8px;"
         "color:#fff;font-weight:600}\n"
      << ".card.error,.sev.error{background:#c62828}.card.warning,.sev.warning{background:#ef8f00}"
         ".card.info,.sev.info{background:#1e6fb8}\n"
      << "table{border-collapse:collapse;width:100%;background:#fff}"
         "th,td{border:1px solid #d9dde5;padding:5px 8px;text-align:left;vertical-align:top}\n"
      << "th{background:#eef1f6}.sev{color:#fff;border-radius:4px;padding:1px 6px;"
         "font-size:12px}\n"
      << "code{font-size:12px}.fix{color:#37474f;font-family:monospace;font-size:12px}\n"
      << ".grid td{text-align:center;white-space:nowrap}.grid th.rel{text-align:left}\n"
      << ".p{display:inline-block;min-width:18px;margin:1px;padding:1px 4px;border-radius:3px;"
         "font-size:12px;font-weight:600;color:#fff}\n"
      << ".p.yes{background:#2e7d32}.p.no{background:#c62828}.p.na{background:#9e9e9e}"
         ".p.rows{background:#455a64}.p.rows.zero{background:#b0bec5;color:#263238}\n"
      << ".unprobed{padding:8px 12px;border-left:4px solid #ef8f00;background:#fff4e0}\n"
      << "</style></head><body>\n"
      << "<h1>careguard audit</h1>\n<div class=\"meta\">" << html_escape(report.database)
      << " &middot; schemas " << html_escape(join(report.schemas, ", "))
      << " &middot; careguard-audit " << html_escape(report.tool_version) << "</div>\n"
      << "<div class=\"cards\">";
  for (const char* severity : kSeverities)
    out << "<div class=\"card " << severity << "\">" << count_severity(report, severity) << " "
        << severity << "</div>";
  out << "</div>\n";
  // The grid first: it is the one-screen answer to "who can do what".
  if (report.has_matrix) {
    const auto contexts = distinct_in_order(report.matrix, &MatrixCell::context);
    const auto relations = distinct_in_order(report.matrix, &MatrixCell::relation);
    std::map<std::pair<std::string, std::string>, const MatrixCell*> cell_at;
    for (const auto& c : report.matrix) cell_at[{c.relation, c.context}] = &c;
    out << "<h2>Access matrix</h2>\n<p class=\"meta\">Per cell: rows visible (R = SELECT refused), "
           "then I / U / D "
           "(insert, update, delete of a representative row): "
        << "<span class=\"p yes\">allowed</span> <span class=\"p no\">denied</span> "
        << "<span class=\"p na\">n/a</span>. Every probe was rolled back.</p>\n";
    for (const auto& reason : unprobed_reasons(report))
      out << "<p class=\"unprobed\"><strong>" << html_escape(unprobed_banner(reason))
          << "</strong></p>\n";
    out << "<table class=\"grid\"><tr><th class=\"rel\">Relation</th>";
    for (const auto& context : contexts) out << "<th>" << html_escape(context) << "</th>";
    out << "</tr>\n";
    for (const auto& relation : relations) {
      out << "<tr><th class=\"rel\"><code>" << html_escape(relation) << "</code></th>";
      for (const auto& context : contexts) {
        auto it = cell_at.find({relation, context});
        if (it == cell_at.end()) {
          out << "<td></td>";
          continue;
        }
        const MatrixCell& c = *it->second;
        const bool zero = !c.selectable_rows || *c.selectable_rows == 0;
        // Refused reads show a compact red R; the SQLSTATE is in the tooltip.
        const std::string rows_label =
            c.selectable_rows ? std::to_string(*c.selectable_rows) : std::string("R");
        out << "<td title=\"" << html_escape(c.role) << "\"><span class=\"p "
            << (c.selectable_rows ? (zero ? "rows zero" : "rows") : "no")
            << "\" title=\"rows: " << html_escape(rows_words(c)) << "\">" << html_escape(rows_label)
            << "</span>";
        const std::pair<const char*, const std::optional<bool>*> probes[] = {
            {"I", &c.can_insert}, {"U", &c.can_update}, {"D", &c.can_delete}};
        const std::string* states[] = {&c.insert_sqlstate, &c.update_sqlstate, &c.delete_sqlstate};
        for (int i = 0; i < 3; ++i)
          out << "<span class=\"p "
              << (c.writes_not_probed.empty() ? probe_class(*probes[i].second) : "na")
              << "\" title=\"" << html_escape(write_words(c, *probes[i].second, *states[i]))
              << "\">" << probes[i].first << "</span>";
        out << "</td>";
      }
      out << "</tr>\n";
    }
    out << "</table>\n";
  }
  out << "<h2>Findings</h2>\n";
  if (report.findings.empty()) {
    out << "<p>No findings.</p>\n";
  } else {
    out << "<table class=\"findings\"><tr><th>Severity</th><th>Rule</th><th>Object</th>"
        << "<th>Detail and fix</th></tr>\n";
    for (const auto& f : report.findings)
      out << "<tr><td><span class=\"sev " << html_escape(f.severity) << "\">"
          << html_escape(f.severity) << "</span></td><td><code>" << html_escape(f.rule)
          << "</code></td><td><code>" << html_escape(f.object) << "</code></td><td>"
          << html_escape(f.detail) << "<div class=\"fix\">" << html_escape(f.fix)
          << "</div></td></tr>\n";
    out << "</table>\n";
  }
  out << "</body></html>\n";
  return out.str();
}

std::string render(const Report& report, Format format, bool color, std::size_t width) {
  switch (format) {
    case Format::Json:
      return render_json(report);
    case Format::Sarif:
      return render_sarif(report);
    case Format::Markdown:
      return render_markdown(report);
    case Format::Html:
      return render_html(report);
    case Format::Text:
      break;
  }
  return render_text(report, color, width);
}

}  // namespace careguard::audit
