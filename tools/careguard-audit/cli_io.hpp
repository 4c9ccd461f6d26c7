// careguard-audit: files and the terminal, shared by the commands.
#pragma once

#include <cstddef>
#include <string>

namespace careguard::audit_cli {

// Throw std::invalid_argument (a usage error) naming the path.
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// The width text output fits: COLUMNS when set to a number, else the
// terminal's (TIOCGWINSZ) when writing to a standard output that is one,
// else 100.
std::size_t text_width(bool to_stdout);

}  // namespace careguard::audit_cli
