// careguard-audit: baseline files (see baseline.hpp).
#include "baseline.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace careguard::audit {

std::string fingerprint(std::string_view rule, std::string_view object) {
  std::string input;
  input.reserve(rule.size() + object.size() + 1);
  input.append(rule).append(1, '\n').append(object);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < 8; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

namespace {

std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    std::size_t tab = line.find('\t', start);
    fields.emplace_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

}  // namespace

std::vector<BaselineEntry> parse_baseline(std::string_view text) {
  std::vector<BaselineEntry> entries;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto where = [&] { return "baseline line " + std::to_string(line_number) + ": "; };
    std::vector<std::string> fields = split_tabs(line);
    if (fields.size() != 4) {
      throw std::invalid_argument(where() +
                                  "expected fingerprint, rule, object and reason, tab-separated");
    }
    BaselineEntry entry{fields[0], fields[1], fields[2], fields[3]};
    if (entry.reason.find_first_not_of(" ") == std::string::npos) {
      throw std::invalid_argument(where() + "every accepted finding needs a reason");
    }
    if (entry.fingerprint != fingerprint(entry.rule, entry.object)) {
      throw std::invalid_argument(where() + "fingerprint " + entry.fingerprint +
                                  " does not belong to " + entry.rule + " " + entry.object);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string baseline_for(const Report& report, std::string_view reason) {
  std::string out =
      "# careguard-audit baseline: fingerprint, rule, object, reason (tab-separated).\n"
      "# Each entry accepts one finding; replace the reasons with why it is accepted.\n";
  for (const Finding& f : report.findings) {
    out += fingerprint(f.rule, f.object) + "\t" + f.rule + "\t" + f.object + "\t" +
           std::string(reason) + "\n";
  }
  return out;
}

BaselineResult apply_baseline(Report& report, const std::vector<BaselineEntry>& baseline) {
  BaselineResult result;
  std::vector<bool> used(baseline.size(), false);
  auto accepted = [&](const Finding& f) {
    std::string print = fingerprint(f.rule, f.object);
    for (std::size_t i = 0; i < baseline.size(); ++i) {
      if (baseline[i].fingerprint == print) {
        used[i] = true;
        return true;
      }
    }
    return false;
  };
  auto kept = std::remove_if(report.findings.begin(), report.findings.end(), accepted);
  result.accepted = static_cast<std::size_t>(report.findings.end() - kept);
  report.findings.erase(kept, report.findings.end());
  for (std::size_t i = 0; i < baseline.size(); ++i) {
    if (!used[i]) result.unmatched.push_back(baseline[i]);
  }
  return result;
}

}  // namespace careguard::audit
