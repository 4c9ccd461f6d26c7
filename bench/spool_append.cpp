// What one ledger record's trip to the spool costs, by two ways of putting
// it in the page cache: write(2) under O_APPEND (what ledger_spool.cpp does
// today) against a copy into a MAP_SHARED mapping of the same kind of file
// (what a mapped spool would do; its pages are the page cache too, so a
// kill -9 keeps them alike). Between records a burst of stores over 8 MB
// evicts the caches, as a statement's own work does between two records.
// Prints, per variant, the median over repetitions of the mean ns/record,
// and their ratio from the same run.
//
// careguard-spool-append DIRECTORY [REPS] [RECORDS]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kRecordBytes = 900;  // a patient transaction's record, as measured
constexpr std::size_t kEvictBytes = 8u << 20;
constexpr int kEvictStores = 20000;

using Clock = std::chrono::steady_clock;

// A scratch file, removed on scope exit.
struct ScratchFile {
  std::string path;
  int fd = -1;
  ScratchFile(const std::string& directory, const char* name, int flags)
      : path(directory + "/" + name) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | flags, 0600);
  }
  ~ScratchFile() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
  }
};

// Touches the eviction buffer the way a statement's work would, between records.
void evict(std::vector<unsigned char>& junk, int round) {
  for (int j = 0; j < kEvictStores; ++j) {
    junk[(static_cast<std::size_t>(j) * 4096 + static_cast<std::size_t>(round) * 64) %
         junk.size()]++;
  }
}

// Mean ns per appended record over `records`, the file growing by each.
double append_ns(const std::string& directory, int records, std::vector<unsigned char>& junk,
                 const char* record) {
  ScratchFile file(directory, "append.spool", O_APPEND);
  if (file.fd < 0) return -1;
  Clock::duration spent{};
  for (int i = 0; i < records; ++i) {
    evict(junk, i);
    auto start = Clock::now();
    if (::write(file.fd, record, kRecordBytes) != static_cast<ssize_t>(kRecordBytes)) return -1;
    spent += Clock::now() - start;
  }
  return std::chrono::duration<double, std::nano>(spent).count() / records;
}

// Mean ns per record copied into a mapped file, on its second pass: a ring
// reuses its pages, so the first pass's page faults are left out.
double mapped_ns(const std::string& directory, int records, std::vector<unsigned char>& junk,
                 const char* record) {
  ScratchFile file(directory, "mapped.spool", 0);
  const std::size_t bytes = kRecordBytes * static_cast<std::size_t>(records);
  if (file.fd < 0 || ::ftruncate(file.fd, static_cast<off_t>(bytes)) != 0) return -1;
  void* mapping = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0);
  if (mapping == MAP_FAILED) return -1;
  auto* ring = static_cast<char*>(mapping);
  Clock::duration spent{};
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < records; ++i) {
      evict(junk, i);
      auto start = Clock::now();
      std::memcpy(ring + static_cast<std::size_t>(i) * kRecordBytes, record, kRecordBytes);
      if (pass == 1) spent += Clock::now() - start;
    }
  }
  ::munmap(mapping, bytes);
  return std::chrono::duration<double, std::nano>(spent).count() / records;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY [REPS] [RECORDS]\n", argv[0]);
    return 2;
  }
  const std::string directory = argv[1];
  const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  const int records = argc > 3 ? std::max(1, std::atoi(argv[3])) : 20000;
  std::vector<unsigned char> junk(kEvictBytes);
  std::string record(kRecordBytes - 1, 'x');
  record.push_back('\n');
  std::vector<double> appended;
  std::vector<double> mapped;
  for (int r = 0; r < reps; ++r) {
    // Alternating which runs first keeps a drift of the machine out of the ratio.
    double a = 0;
    double m = 0;
    if (r % 2 == 0) {
      a = append_ns(directory, records, junk, record.data());
      m = mapped_ns(directory, records, junk, record.data());
    } else {
      m = mapped_ns(directory, records, junk, record.data());
      a = append_ns(directory, records, junk, record.data());
    }
    if (a < 0 || m < 0) {
      std::perror("careguard-spool-append");
      return 1;
    }
    appended.push_back(a);
    mapped.push_back(m);
  }
  const double a = median(appended);
  const double m = median(mapped);
  std::printf("write(2), O_APPEND     %8.0f ns/record\n", a);
  std::printf("copy into a mapping    %8.0f ns/record\n", m);
  std::printf("ratio (append/mapped)  %8.1f\n", a / m);
  return 0;
}
