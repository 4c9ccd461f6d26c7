// Integration tests over real connections: the gateway login switches roles
// with transaction-local claims; session-level claims are not trusted; local
// claims never leak into the next transaction; savepoints restore claims;
// parallel plans return what serial plans return; the guard survives errors
// through every entry point with flat backend memory.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "pg_support.hpp"

namespace {

const char* kPatient = "8d0f7e6a-1111-4222-8333-944445555666";
const char* kOther = "b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22";

std::string claims_json(const std::string& sub, const std::string& role) {
  return R"({"sub":")" + sub + R"(","role":")" + role + R"(","email":")" + role +
         R"(@example.org"})";
}

using careguard_test::scalar;

// Runs a statement expected to fail; returns its SQLSTATE.
std::string sqlstate_of(pqxx::connection& c, const std::string& sql) {
  careguard_test::report_sqlstates(c);
  try {
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  } catch (const pqxx::sql_error& e) {
    return careguard_test::sqlstate_of(e);
  }
  return "";
}

class ClaimsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER ROLE authenticator LOGIN");
    tx.exec("DROP TABLE IF EXISTS public.claims_probe");
    tx.exec("CREATE TABLE public.claims_probe (id int, owner uuid)");
    tx.exec(std::string("INSERT INTO public.claims_probe SELECT i, CASE WHEN i % 10 = 0 THEN '") +
            kPatient + "'::uuid ELSE md5(i::text)::uuid END FROM generate_series(1, 300000) i");
    tx.exec("ALTER TABLE public.claims_probe ENABLE ROW LEVEL SECURITY");
    tx.exec(
        "CREATE POLICY claims_probe_owner ON public.claims_probe FOR SELECT TO patient "
        "USING (owner OPERATOR(pg_catalog.=) auth.uid())");
    tx.exec("GRANT SELECT ON public.claims_probe TO patient");
    tx.exec("ANALYZE public.claims_probe");
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("DROP TABLE IF EXISTS public.claims_probe");
  }
};

TEST_F(ClaimsTest, AuthenticatorSwitchesToEachRoleWithItsClaims) {
  pqxx::connection gateway("user=authenticator");
  for (const char* role :
       {"anon", "authenticated", "patient", "provider", "admin", "service_role"}) {
    pqxx::work tx(gateway);
    tx.exec(std::string("SET LOCAL ROLE ") + role);
    tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(claims_json(kPatient, role)) +
            ", true)");
    EXPECT_EQ(scalar(tx, "SELECT current_user"), role);
    EXPECT_EQ(scalar(tx, "SELECT auth.role()"), role);
    EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
    EXPECT_EQ(scalar(tx, "SELECT auth.email()"), std::string(role) + "@example.org");
    tx.commit();
  }
  // The gateway itself, with no role switched to, has no privileges of theirs.
  EXPECT_EQ(sqlstate_of(gateway, "SELECT count(*) FROM public.claims_probe"), "42501");
}

TEST_F(ClaimsTest, LocalClaimsEndWithTheirTransaction) {
  pqxx::connection gateway("user=authenticator");
  {
    pqxx::work tx(gateway);
    tx.exec("SET LOCAL ROLE patient");
    tx.exec("SELECT set_config('request.jwt.claims', " +
            tx.quote(claims_json(kPatient, "patient")) + ", true)");
    EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
    tx.commit();
  }
  pqxx::work next(gateway);
  next.exec("SET LOCAL ROLE anon");
  EXPECT_EQ(scalar(next, "SELECT current_user"), "anon");
  EXPECT_EQ(scalar(next, "SELECT auth.uid()"), std::nullopt);
  EXPECT_EQ(scalar(next, "SELECT current_setting('request.jwt.claims', true)"), "");
}

TEST_F(ClaimsTest, SessionClaimsAreNotTrustedOnALaterTransaction) {
  pqxx::connection gateway("user=authenticator");
  {
    // The classic pooled-connection leak: a plain set_config(..., false).
    pqxx::work tx(gateway);
    tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(claims_json(kPatient, "admin")) +
            ", false)");
    tx.commit();
  }
  for (int i = 0; i < 3; ++i) {
    pqxx::work tx(gateway);
    tx.exec("SET LOCAL ROLE anon");
    EXPECT_EQ(scalar(tx, "SELECT auth.uid()"), std::nullopt);
    EXPECT_EQ(scalar(tx, "SELECT auth.role()"), std::nullopt);
    tx.commit();
  }
  pqxx::work local(gateway);
  local.exec("SET LOCAL ROLE patient");
  local.exec("SELECT set_config('request.jwt.claims', " +
             local.quote(claims_json(kOther, "patient")) + ", true)");
  EXPECT_EQ(scalar(local, "SELECT auth.uid()::text"), kOther);
  EXPECT_EQ(scalar(local, "SELECT auth.role()"), "patient");
}

TEST_F(ClaimsTest, SessionClaimsWarnOncePerTransaction) {
  pqxx::connection gateway("user=authenticator");
  struct Counter : pqxx::errorhandler {
    explicit Counter(pqxx::connection_base& c) : pqxx::errorhandler(c) {}
    bool operator()(const char msg[]) noexcept override {
      if (std::string(msg).find("ignores session-level claims") != std::string::npos) ++warnings;
      return true;
    }
    int warnings = 0;
  } counter(gateway);
  pqxx::nontransaction setup(gateway);
  setup.exec("SET request.jwt.claims = " + setup.quote(claims_json(kPatient, "admin")));
  setup.commit();
  pqxx::work tx(gateway);
  tx.exec("SET LOCAL ROLE anon");
  tx.exec("SELECT auth.uid(), auth.role(), auth.email()");
  tx.exec("SELECT auth.uid()");
  tx.commit();
  EXPECT_EQ(counter.warnings, 1);
}

TEST_F(ClaimsTest, RollbackToSavepointRestoresEarlierClaims) {
  pqxx::connection gateway("user=authenticator");
  pqxx::work tx(gateway);
  tx.exec("SET LOCAL ROLE patient");
  tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(claims_json(kPatient, "patient")) +
          ", true)");
  tx.exec("SAVEPOINT before_switch");
  tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(claims_json(kOther, "provider")) +
          ", true)");
  EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kOther);
  EXPECT_EQ(scalar(tx, "SELECT auth.role()"), "provider");
  tx.exec("ROLLBACK TO SAVEPOINT before_switch");
  EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
  EXPECT_EQ(scalar(tx, "SELECT auth.role()"), "patient");
  tx.exec("RELEASE SAVEPOINT before_switch");
  EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
}

// Counts a patient's visible rows under the given plan settings; returns the
// count and whether parallel workers actually ran.
std::pair<long, int> count_as_patient(pqxx::connection& c, const std::string& claims_setup,
                                      bool parallel, bool hoist) {
  pqxx::work tx(c);
  tx.exec("SET LOCAL ROLE patient");
  tx.exec(claims_setup);
  tx.exec(std::string("SET LOCAL careguard.hoist_claim_helpers = ") + (hoist ? "on" : "off"));
  if (parallel) {
    tx.exec("SET LOCAL max_parallel_workers_per_gather = 2");
    tx.exec("SET LOCAL parallel_setup_cost = 0");
    tx.exec("SET LOCAL parallel_tuple_cost = 0");
    tx.exec("SET LOCAL min_parallel_table_scan_size = 0");
  } else {
    tx.exec("SET LOCAL max_parallel_workers_per_gather = 0");
  }
  int workers = 0;
  pqxx::result plan =
      tx.exec("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT count(*) FROM public.claims_probe");
  for (const auto& row : plan) {
    std::string line = row[0].as<std::string>();
    auto at = line.find("Workers Launched: ");
    if (at != std::string::npos) workers = std::stoi(line.substr(at + 18));
  }
  long count = tx.exec("SELECT count(*) FROM public.claims_probe")[0][0].as<long>();
  tx.commit();
  return {count, workers};
}

TEST_F(ClaimsTest, ParallelPlansReturnWhatSerialPlansReturn) {
  pqxx::connection superuser;  // the suite's superuser may SET ROLE patient
  std::string local =
      "SELECT set_config('request.jwt.claims', '" + claims_json(kPatient, "patient") + "', true)";
  for (bool hoist : {true, false}) {
    auto serial = count_as_patient(superuser, local, false, hoist);
    auto parallel = count_as_patient(superuser, local, true, hoist);
    EXPECT_EQ(serial.first, 30000) << "hoist=" << hoist;
    EXPECT_EQ(parallel.first, serial.first) << "hoist=" << hoist;
    EXPECT_EQ(serial.second, 0);
    EXPECT_GT(parallel.second, 0) << "the parallel plan must really use workers";
  }
  // Session-level claims must be ignored by workers too, not just the leader.
  {
    pqxx::nontransaction tx(superuser);
    tx.exec("SET request.jwt.claims = '" + claims_json(kPatient, "patient") + "'");
  }
  for (bool hoist : {true, false}) {
    auto serial = count_as_patient(superuser, "SELECT 1", false, hoist);
    auto parallel = count_as_patient(superuser, "SELECT 1", true, hoist);
    EXPECT_EQ(serial.first, 0) << "hoist=" << hoist;
    EXPECT_EQ(parallel.first, 0) << "hoist=" << hoist;
    EXPECT_GT(parallel.second, 0);
  }
}

// Resident memory of a backend, in kB, read from /proc.
long backend_rss_kb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(ClaimsTest, ErrorsThroughEveryEntryPointLeaveMemoryFlat) {
  pqxx::connection c;
  int pid = pqxx::nontransaction(c).exec("SELECT pg_backend_pid()")[0][0].as<int>();
  // One round: every entry point raises, each inside its own subtransaction.
  const std::string round = R"SQL(
    DO $$
    DECLARE
      probes text[] := ARRAY[
        $p$SELECT set_config('request.jwt.claims', '{"sub":"not-a-uuid"}', true), auth.uid()$p$,
        $p$SELECT set_config('request.jwt.claims', '{"provider_id":42}', true), auth.provider_id()$p$,
        $p$SELECT set_config('request.jwt.claims', '{"role":', true), auth.role()$p$,
        $p$SELECT set_config('request.jwt.claims', '{"email":"\x"}', true), auth.email()$p$,
        $p$SELECT set_config('request.jwt.claims', '[1,2', true), auth.jwt()$p$,
        $p$SELECT set_config('request.jwt.claims', '{"a":}', true), auth.claim('a', 'b')$p$,
        $p$SELECT careguard_test.guard_selftest('careguard')$p$,
        $p$SELECT careguard_test.guard_selftest('bad_alloc')$p$,
        $p$SELECT careguard_test.guard_selftest('std')$p$,
        $p$SELECT careguard_test.guard_selftest('unknown')$p$,
        $p$SELECT careguard_test.guard_selftest('postgres')$p$];
      probe text;
      failures int := 0;
    BEGIN
      FOR i IN 1..400 LOOP
        FOREACH probe IN ARRAY probes LOOP
          BEGIN
            EXECUTE probe;
          EXCEPTION WHEN OTHERS THEN
            failures := failures + 1;
          END;
        END LOOP;
      END LOOP;
      IF failures <> 400 * array_length(probes, 1) THEN
        RAISE EXCEPTION 'expected every probe to fail, % did', failures;
      END IF;
    END $$)SQL";
  auto run_round = [&] {
    pqxx::nontransaction tx(c);
    tx.exec(round);
  };
  for (int i = 0; i < 3; ++i) run_round();  // warm caches and allocator
  long before = backend_rss_kb(pid);
  ASSERT_GT(before, 0) << "cannot read the backend's /proc status";
  for (int i = 0; i < 10; ++i) run_round();  // 44,000 more errors
  long after = backend_rss_kb(pid);
  EXPECT_LT(after - before, 2048) << "RSS grew from " << before << " kB to " << after << " kB";
  // The backend is alive and still answers correctly.
  pqxx::work tx(c);
  tx.exec("SELECT set_config('request.jwt.claims', '" + claims_json(kPatient, "patient") +
          "', true)");
  EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
  std::printf("[ memory ] backend RSS %ld kB -> %ld kB over 44,000 guarded errors\n", before,
              after);
}

TEST_F(ClaimsTest, MillionsOfCallsLeaveMemoryFlat) {
  pqxx::connection c;
  int pid = pqxx::nontransaction(c).exec("SELECT pg_backend_pid()")[0][0].as<int>();
  auto run_million = [&] {
    pqxx::work tx(c);
    tx.exec("SET LOCAL careguard.hoist_claim_helpers = off");
    tx.exec("SELECT set_config('request.jwt.claims', '" + claims_json(kPatient, "patient") +
            "', true)");
    // Per-row calls of every helper, the claims document switching every row.
    pqxx::result r = tx.exec(
        "SELECT count(auth.uid()) + count(auth.role()) + count(auth.jwt()) + "
        "count(auth.claim('email')) "
        "FROM generate_series(1, 250000) i");
    tx.commit();
    return r[0][0].as<long>();
  };
  for (int i = 0; i < 2; ++i) EXPECT_EQ(run_million(), 1000000);  // warm up
  long before = backend_rss_kb(pid);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(run_million(), 1000000);
  long after = backend_rss_kb(pid);
  EXPECT_LT(after - before, 2048) << "RSS grew from " << before << " kB to " << after << " kB";
  std::printf("[ memory ] backend RSS %ld kB -> %ld kB over 6,000,000 helper calls\n", before,
              after);
}

TEST_F(ClaimsTest, OversizedClaimsAreRefusedUnreadAndMemoryStaysBounded) {
  pqxx::connection c;
  careguard_test::report_sqlstates(c);
  int pid = pqxx::nontransaction(c).exec("SELECT pg_backend_pid()")[0][0].as<int>();
  pqxx::nontransaction(c).exec("SELECT auth.role()");  // warm up
  long before = backend_rss_kb(pid);
  ASSERT_GT(before, 0);
  // The attack: 8 MB of claims grew a 0.1.0 backend by about 890 MB.
  std::string state;
  try {
    pqxx::work tx(c);
    tx.exec(
        "SELECT set_config('request.jwt.claims', '{\"role\":\"anon\",\"x\":[' || "
        "repeat('0,', 4194304) || '0]}', true)");
    tx.exec("SELECT auth.role()");
  } catch (const pqxx::sql_error& e) {
    state = careguard_test::sqlstate_of(e);
    EXPECT_NE(std::string(e.what()).find("careguard.max_claims_bytes"), std::string::npos);
  }
  EXPECT_EQ(state, "54000");
  long after_attack = backend_rss_kb(pid);
  // 1,000 distinct documents of about 16 kB, each the worst shape for a
  // parsed form (one small number per two bytes), in one transaction.
  {
    pqxx::work tx(c);
    tx.exec(R"SQL(
      DO $$ DECLARE r text; BEGIN
        FOR i IN 1..1000 LOOP
          PERFORM set_config('request.jwt.claims',
            '{"role":"anon","n":' || i || ',"x":[' || repeat('0,', 8150) || '0]}', true);
          r := auth.role();
          IF r IS DISTINCT FROM 'anon' THEN RAISE EXCEPTION 'wrong role %', r; END IF;
          PERFORM auth.jwt();
        END LOOP;
      END $$)SQL");
    EXPECT_GT(std::stol(*scalar(tx, "SELECT length(current_setting('request.jwt.claims'))")),
              16000);
    tx.commit();
  }
  long after_documents = backend_rss_kb(pid);
  EXPECT_LT(after_attack - before, 10 * 1024) << before << " kB -> " << after_attack << " kB";
  EXPECT_LT(after_documents - before, 10 * 1024) << before << " kB -> " << after_documents << " kB";
  std::printf(
      "[ memory ] backend RSS %ld kB -> %ld kB after the 8 MB claims attack -> %ld kB after "
      "1,000 distinct 16 kB documents\n",
      before, after_attack, after_documents);
  // Below the limit, a document is read as before.
  pqxx::work tx(c);
  tx.exec("SELECT set_config('request.jwt.claims', '" + claims_json(kPatient, "patient") +
          "', true)");
  EXPECT_EQ(scalar(tx, "SELECT auth.uid()::text"), kPatient);
}

}  // namespace
