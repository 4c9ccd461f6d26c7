// careguard-audit: what the renderers of one report share (audit_format.cpp,
// text_format.cpp, sarif_format.cpp); not part of the tool's interface.
#pragma once

#include "audit_format.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace careguard::audit::detail {

using Json = nlohmann::ordered_json;

inline const char* const kSeverities[] = {"error", "warning", "info"};

// "12", or "denied (42501)": the rows a matrix cell sees, in words.
std::string rows_words(const MatrixCell& cell);

// The distinct reasons why writes were not probed, and the banner for one.
std::vector<std::string> unprobed_reasons(const Report& report);
std::string unprobed_banner(const std::string& reason);

// "3 findings: 1 error, 1 warning, 1 info".
std::string summary_line(const Report& report);

std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace careguard::audit::detail
