// careguard core: JWT claims parsed once and cached by their exact text.
#pragma once

#include "careguard/core/json.hpp"
#include "careguard/core/uuid.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace careguard {

// A claim rendered as jsonb's ->> would: SQL NULL for a missing claim or a
// JSON null; text for strings and booleans; numbers and containers need
// PostgreSQL's own rendering (jsonb normalises them), so they carry raw JSON.
struct ClaimText {
  enum class Kind { Absent, Text, RawJson };
  Kind kind = Kind::Absent;
  std::string_view value;  // Text, or the raw JSON source of a number/container.
};

// The outcome of reading a claim as a uuid, computed once per parse.
struct UuidClaim {
  enum class State { Absent, Valid, Invalid };
  State state = State::Absent;
  Uuid value{};
  std::string invalid_text;  // What was found, for the error message.
};

class Claims {
 public:
  // Parses a claims document; throws careguard::Error (class 22) when malformed.
  Claims(std::string source, std::string_view setting_name);
  // Takes a document already parsed from `source` (the spans of `root` index it).
  Claims(std::string source, json::Value root);
  // Views point into this object, so it never moves.
  Claims(const Claims&) = delete;
  Claims& operator=(const Claims&) = delete;

  const std::string& source() const { return source_; }
  const json::Value& root() const { return root_; }

  // One top-level claim, or a path of object keys / array indexes.
  ClaimText text(std::string_view name) const;
  ClaimText text_at(const std::vector<std::string>& path) const;

  // Precomputed answers for the hot helpers.
  const UuidClaim& sub() const { return sub_; }
  const UuidClaim& provider_id() const { return provider_id_; }
  const ClaimText& role() const { return role_; }
  const ClaimText& email() const { return email_; }

  // Bytes this object holds (source, parsed form, scratch), for the cache's
  // budget. The scratch space is counted when it is filled, by the caller.
  std::size_t footprint() const { return footprint_ + adapter_cache_.capacity(); }

  // Scratch space where an adapter may keep a rendering of this document
  // (the jsonb image, say), so it is built once per distinct value.
  std::string& adapter_cache() const { return adapter_cache_; }

 private:
  void precompute();
  ClaimText render(const json::Value* value) const;
  UuidClaim uuid_claim(std::string_view name) const;

  std::string source_;
  json::Value root_;
  UuidClaim sub_;
  UuidClaim provider_id_;
  ClaimText role_;
  ClaimText email_;
  std::size_t footprint_ = 0;
  mutable std::string adapter_cache_;
};

// Parses one uuid-valued text the way `text::uuid` would.
UuidClaim uuid_from_text(std::string_view text);

// A small least-recently-used cache of parsed claims, keyed on the exact
// text of the setting. The text can change mid-transaction (set_config,
// savepoint rollback), so the key is the value itself, never a pointer or a
// counter. It is bounded by entries and by bytes: the least recently used
// entries go first, but the entry just returned always stays.
class ClaimsCache {
 public:
  explicit ClaimsCache(std::size_t capacity = 8, std::size_t byte_budget = 1u << 20)
      : capacity_(capacity == 0 ? 1 : capacity), byte_budget_(byte_budget) {}

  // The parsed claims for this text; parses on a miss. Malformed text throws
  // and is not cached. The reference is valid until the next call.
  const Claims& get(std::string_view text, std::string_view setting_name);

  // Caches a document someone already parsed from `text` (a verified token's
  // claims), so that the next get() of the same text parses nothing.
  const Claims& adopt(std::string text, json::Value root);

  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const;
  std::uint64_t parse_count() const { return parse_count_; }

 private:
  const Claims& insert_front(std::unique_ptr<Claims> claims);
  void evict_beyond_budget();

  std::size_t capacity_;
  std::size_t byte_budget_;
  std::vector<std::unique_ptr<Claims>> entries_;  // Front is most recently used.
  std::uint64_t parse_count_ = 0;
};

}  // namespace careguard
