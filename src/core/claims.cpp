// careguard core: claims parsing and the per-value cache.
#include "careguard/core/claims.hpp"

#include "careguard/core/error.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace careguard {

UuidClaim uuid_from_text(std::string_view text) {
  UuidClaim out;
  if (auto parsed = parse_uuid(text)) {
    out.state = UuidClaim::State::Valid;
    out.value = *parsed;
  } else {
    out.state = UuidClaim::State::Invalid;
    out.invalid_text.assign(text);
  }
  return out;
}

Claims::Claims(std::string source, std::string_view setting_name)
    : source_(std::move(source)),
      root_(json::parse(source_, "setting \"" + std::string(setting_name) + "\"")) {
  precompute();
}

Claims::Claims(std::string source, json::Value root)
    : source_(std::move(source)), root_(std::move(root)) {
  precompute();
}

void Claims::precompute() {
  footprint_ = sizeof(Claims) + source_.capacity() + json::footprint(root_) - sizeof(json::Value);
  sub_ = uuid_claim("sub");
  provider_id_ = uuid_claim("provider_id");
  role_ = text("role");
  email_ = text("email");
}

ClaimText Claims::render(const json::Value* value) const {
  ClaimText out;
  if (value == nullptr || value->kind == json::Kind::Null) return out;
  switch (value->kind) {
    case json::Kind::String:
      out.kind = ClaimText::Kind::Text;
      out.value = value->text;
      break;
    case json::Kind::Bool:
      out.kind = ClaimText::Kind::Text;
      out.value = value->boolean ? "true" : "false";
      break;
    default:
      out.kind = ClaimText::Kind::RawJson;
      out.value = std::string_view(source_).substr(value->begin, value->end - value->begin);
  }
  return out;
}

ClaimText Claims::text(std::string_view name) const {
  return render(root_.find(name));
}

ClaimText Claims::text_at(const std::vector<std::string>& path) const {
  const json::Value* node = &root_;
  for (const std::string& step : path) {
    if (node->kind == json::Kind::Object) {
      node = node->find(step);
    } else if (node->kind == json::Kind::Array) {
      // jsonb #>> accepts integer steps, negative ones counting from the end.
      char* end = nullptr;
      long index = std::strtol(step.c_str(), &end, 10);
      if (step.empty() || *end != '\0') return {};
      long size = static_cast<long>(node->items.size());
      if (index < 0) index += size;
      if (index < 0 || index >= size) return {};
      node = &node->items[static_cast<std::size_t>(index)];
    } else {
      return {};
    }
    if (node == nullptr) return {};
  }
  return render(node);
}

UuidClaim Claims::uuid_claim(std::string_view name) const {
  ClaimText claim = text(name);
  if (claim.kind == ClaimText::Kind::Absent) return {};
  return uuid_from_text(claim.value);
}

const Claims& ClaimsCache::get(std::string_view text, std::string_view setting_name) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::string& key = entries_[i]->source();
    if (key.size() == text.size() && std::memcmp(key.data(), text.data(), text.size()) == 0) {
      // Move to the front, keeping the others in recency order.
      std::rotate(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i),
                  entries_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      evict_beyond_budget();
      return *entries_[0];
    }
  }
  auto parsed = std::make_unique<Claims>(std::string(text), setting_name);
  ++parse_count_;
  return insert_front(std::move(parsed));
}

const Claims& ClaimsCache::adopt(std::string text, json::Value root) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i]->source() == text) {
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  return insert_front(std::make_unique<Claims>(std::move(text), std::move(root)));
}

const Claims& ClaimsCache::insert_front(std::unique_ptr<Claims> claims) {
  entries_.insert(entries_.begin(), std::move(claims));
  evict_beyond_budget();
  return *entries_[0];
}

std::size_t ClaimsCache::bytes() const {
  std::size_t total = 0;
  for (const auto& entry : entries_) total += entry->footprint();
  return total;
}

void ClaimsCache::evict_beyond_budget() {
  // Scratch renderings grow after insertion, so the budget is re-checked on hits too.
  while (entries_.size() > 1 && (entries_.size() > capacity_ || bytes() > byte_budget_)) {
    entries_.pop_back();
  }
}

}  // namespace careguard
