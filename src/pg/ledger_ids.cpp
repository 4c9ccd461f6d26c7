// careguard adapter: the distinct patient ids one access saw (open
// addressing over 16-byte keys, in the statement's memory context).
#include <cstring>

#include "careguard/pg/ledger_internal.hpp"

namespace careguard::pg {

namespace {

constexpr uint32 kMaxTrackedIds = 1u << 20;

uint32 hash_uuid(const unsigned char* id) {
  uint32 h = 2166136261u;
  for (int i = 0; i < 16; ++i) h = (h ^ id[i]) * 16777619u;
  return h;
}

void grow(LedgerIdSet* set, MemoryContext cxt) {
  uint32 capacity = set->capacity == 0 ? 64 : set->capacity * 2;
  auto* slots = static_cast<unsigned char(*)[16]>(MemoryContextAllocZero(cxt, 16 * capacity));
  auto* used = static_cast<bool*>(MemoryContextAllocZero(cxt, capacity));
  for (uint32 i = 0; i < set->capacity; ++i) {
    if (!set->used[i]) continue;
    uint32 at = hash_uuid(set->slots[i]) & (capacity - 1);
    while (used[at]) at = (at + 1) & (capacity - 1);
    std::memcpy(slots[at], set->slots[i], 16);
    used[at] = true;
  }
  if (set->slots != nullptr) pfree(set->slots);
  if (set->used != nullptr) pfree(set->used);
  set->slots = slots;
  set->used = used;
  set->capacity = capacity;
}

}  // namespace

void id_set_add(LedgerIdSet* set, const unsigned char* id, MemoryContext cxt) {
  if (set->capacity != 0) {
    uint32 at = hash_uuid(id) & (set->capacity - 1);
    while (set->used[at]) {
      if (std::memcmp(set->slots[at], id, 16) == 0) return;
      at = (at + 1) & (set->capacity - 1);
    }
  }
  if (set->count >= kMaxTrackedIds) {
    set->untracked_rows++;
    return;
  }
  if ((set->count + 1) * 2 > set->capacity) grow(set, cxt);
  uint32 at = hash_uuid(id) & (set->capacity - 1);
  while (set->used[at]) at = (at + 1) & (set->capacity - 1);
  std::memcpy(set->slots[at], id, 16);
  set->used[at] = true;
  set->count++;
}

}  // namespace careguard::pg
