// The disclosure ledger through real connections: a read in a transaction
// that rolls back is recorded; a backend killed with SIGKILL right after its
// results reached the client, and the writer killed with SIGKILL, lose no
// record; break-glass sends its NOTIFY, and a rolled-back one is reviewed
// too; a registration made by another session is seen inside a REPEATABLE
// READ transaction; a partition whose concurrent detach was cut short and
// finalized is registered on its own; a backend's memory stays flat across a million audited
// statements.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "pg_support.hpp"

using careguard_test::ensure_demo_data;
using careguard_test::scalar;

namespace {

const char* kPatient = "aaaaaaaa-0000-4000-8000-000000000001";

std::string patient_claims() {
  return std::string(R"({"sub":")") + kPatient + R"(","role":"patient"})";
}

// A line of /proc/<pid>/status in kB: VmRSS (resident now) or VmHWM (the peak).
long status_kb(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}
long rss_kb(int pid) {
  return status_kb(pid, "VmRSS");
}

// Ledger records with this application_name, once the writer has caught up.
long records_named(const std::string& name, int flush_ms = 30000) {
  pqxx::connection c;
  pqxx::nontransaction tx(c);
  tx.exec("SELECT careguard.ledger_flush(" + std::to_string(flush_ms) + ")");
  return tx
      .exec_params1(
          "SELECT count(*) FROM careguard.ledger "
          "WHERE record::jsonb ->> 'application_name' = $1",
          name)[0]
      .as<long>();
}

// Reads the patient's appointments as the patient, under a unique name.
int read_as_patient(pqxx::connection& c, const std::string& name, bool commit) {
  pqxx::work tx(c);
  tx.exec("SET LOCAL application_name = '" + name + "'");
  tx.exec("SELECT set_config('request.jwt.claims', '" + patient_claims() + "', true)");
  tx.exec("SET LOCAL ROLE patient");
  int rows = static_cast<int>(tx.exec("SELECT * FROM bookings.appointments").size());
  if (commit) tx.commit();  // else the work object's destructor rolls back
  return rows;
}

std::string unique(const std::string& stem) {
  return stem + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

// Row-level security enabled, forced and open to every role: what the
// policy gate asks of a table in a PHI schema.
void open_to_all(pqxx::work& tx, const std::string& table) {
  tx.exec("ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY");
  tx.exec("ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY");
  tx.exec("CREATE POLICY everyone ON " + table + " USING (true)");
}

// A schema of the test's own, dropped at the end with the PHI-schema
// registration a register_phi() of one of its tables made.
class ScratchSchema {
 public:
  explicit ScratchSchema(const std::string& stem) : name_(stem + "_" + std::to_string(getpid())) {
    pqxx::connection c;
    pqxx::nontransaction(c).exec("CREATE SCHEMA " + name_);
  }
  ~ScratchSchema() {
    try {
      pqxx::connection c;
      pqxx::nontransaction tx(c);
      tx.exec("DROP SCHEMA " + name_ + " CASCADE");
      tx.exec("DELETE FROM careguard.audit_phi_schemas WHERE schema_name = " + tx.quote(name_));
    } catch (const std::exception&) {  // the test's own failure is the one to report
    }
  }
  ScratchSchema(const ScratchSchema&) = delete;
  ScratchSchema& operator=(const ScratchSchema&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ensure_demo_data()) GTEST_SKIP() << "needs a database with only the demo data";
  }
};

TEST_F(LedgerTest, ARolledBackReadIsRecorded) {
  std::string name = unique("rolled-back");
  pqxx::connection c;
  int rows = read_as_patient(c, name, false);
  ASSERT_GT(rows, 0);
  EXPECT_EQ(records_named(name), 1);
  pqxx::connection check;
  pqxx::nontransaction tx(check);
  EXPECT_EQ(scalar(tx,
                   "SELECT record::jsonb -> 'patient_ids' ->> 0 FROM careguard.ledger "
                   "WHERE record::jsonb ->> 'application_name' = '" +
                       name + "'"),
            kPatient);
  EXPECT_EQ(scalar(tx,
                   "SELECT record::jsonb ->> 'rows' FROM careguard.ledger "
                   "WHERE record::jsonb ->> 'application_name' = '" +
                       name + "'"),
            std::to_string(rows));
}

// SIGKILL of the backend right after the client has its rows, and of the
// writer: the postmaster restarts every process and shared memory, the
// spool file stays, and the next writer stores the records.
TEST_F(LedgerTest, KillingTheBackendAndTheWriterLosesNoRecord) {
  std::string name = unique("killed");
  pqxx::connection admin;
  {
    pqxx::nontransaction tx(admin);
    tx.exec("SELECT careguard.ledger_flush(30000)");
  }
  for (int i = 0; i < 3; ++i) {
    pqxx::connection victim;
    int pid = pqxx::nontransaction(victim).exec("SELECT pg_backend_pid()")[0][0].as<int>();
    pqxx::work tx(victim);
    tx.exec("SET LOCAL application_name = '" + name + "'");
    tx.exec("SELECT set_config('request.jwt.claims', '" + patient_claims() + "', true)");
    tx.exec("SET LOCAL ROLE patient");
    ASSERT_GT(tx.exec("SELECT * FROM bookings.appointments").size(), 0u);
    // The rows are here; no COMMIT, no clean exit.
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    // Wait for the crash restart to finish before the next round.
    for (int tries = 0; tries < 100; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      try {
        pqxx::connection probe;
        break;
      } catch (const pqxx::broken_connection&) {
      }
    }
  }
  // And the writer itself, while it has work.
  {
    pqxx::connection c;
    read_as_patient(c, name, true);
    pqxx::nontransaction tx(c);
    auto writer = tx.exec(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'careguard ledger writer' "
        "AND datname = current_database()");
    if (!writer.empty()) kill(writer[0][0].as<int>(), SIGKILL);
  }
  for (int tries = 0; tries < 100; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    try {
      pqxx::connection probe;
      break;
    } catch (const pqxx::broken_connection&) {
    }
  }
  EXPECT_EQ(records_named(name), 4);
  pqxx::connection c;
  pqxx::nontransaction tx(c);
  EXPECT_EQ(scalar(tx, "SELECT ok::text FROM careguard.verify_ledger()"), "true");
}

TEST_F(LedgerTest, BreakGlassNotifiesTheSecurityOfficer) {
  pqxx::connection officer;
  pqxx::nontransaction(officer).exec("LISTEN careguard_break_glass");
  pqxx::connection provider;
  {
    pqxx::work tx(provider);
    std::string claims = scalar(tx,
                                "SELECT claims::text FROM careguard.demo_users() "
                                "WHERE label = 'provider Y'")
                             .value();
    tx.exec("SELECT set_config('request.jwt.claims', '" + claims + "', true)");
    tx.exec("SET LOCAL ROLE provider");
    tx.exec_params("SELECT careguard.break_glass($1, $2, 5)", kPatient,
                   "integration test: emergency contact check");
    tx.commit();
  }
  int received = 0;
  std::string payload;
  struct Receiver : pqxx::notification_receiver {
    Receiver(pqxx::connection& c, int& n, std::string& p)
        : pqxx::notification_receiver(c, "careguard_break_glass"), n_(n), p_(p) {}
    void operator()(const std::string& text, int) override {
      ++n_;
      p_ = text;
    }
    int& n_;
    std::string& p_;
  } receiver(officer, received, payload);
  for (int tries = 0; tries < 50 && received == 0; ++tries) officer.await_notification(0, 100000);
  EXPECT_EQ(received, 1);
  // The payload names the grant only: any role may LISTEN, and the reason may
  // describe the patient.
  EXPECT_EQ(payload.find("integration test: emergency contact check"), std::string::npos);
  EXPECT_NE(payload.find("\"grant_id\""), std::string::npos);
  // Leave no open grant behind for other tests.
  pqxx::work tx(officer);
  tx.exec(
      "UPDATE careguard.glass_grants SET granted_at = now() - interval '1 hour', "
      "expires_at = now() - interval '1 minute', reviewed_by = current_user, "
      "reviewed_at = now(), review_note = 'integration test' WHERE reviewed_at IS NULL");
  tx.commit();
}

// A break-glass grant whose transaction rolls back leaves no row, but the
// access it gave happened: glass_review() lists it from the ledger, marked
// rolled back, until a reviewer signs it off (ledgered too).
TEST_F(LedgerTest, ARolledBackBreakGlassIsReviewedToo) {
  pqxx::connection provider;
  const std::string reason = unique("integration test: rolled back emergency look");
  std::string claims;
  {
    pqxx::work tx(provider);
    claims =
        scalar(tx, "SELECT claims::text FROM careguard.demo_users() WHERE label = 'provider Y'")
            .value();
    tx.exec("SELECT set_config('request.jwt.claims', '" + claims + "', true)");
    tx.exec("SET LOCAL ROLE provider");
    tx.exec_params("SELECT careguard.break_glass($1, $2, 5)", kPatient, reason);
    // The grant opened the glass within its own transaction.
    EXPECT_GT(tx.exec_params1("SELECT count(*) FROM patients.profiles WHERE id = $1", kPatient)[0]
                  .as<int>(),
              0);
  }  // rolled back
  pqxx::connection officer;
  long id = 0;
  {
    pqxx::work tx(officer);
    tx.exec("SELECT careguard.ledger_flush(30000)");
    EXPECT_EQ(scalar(tx, "SELECT count(*) FROM careguard.glass_grants WHERE reason = " +
                             tx.quote(reason)),
              "0");
    tx.exec("SET LOCAL ROLE admin");
    auto listed = tx.exec_params(
        "SELECT id, patient_id::text, rolled_back::text, expired::text FROM "
        "careguard.glass_review() "
        "WHERE reason = $1",
        reason);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0][1].as<std::string>(), kPatient);
    EXPECT_EQ(listed[0][2].as<std::string>(), "true");
    EXPECT_EQ(listed[0][3].as<std::string>(), "true");
    id = listed[0][0].as<long>();
    tx.exec_params("SELECT careguard.glass_sign_off($1, 'checked: a drill, nothing seen')", id);
    tx.commit();
  }
  {
    pqxx::work tx(officer);
    tx.exec("SET LOCAL ROLE admin");
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM careguard.glass_review() WHERE id = $1", id)[0]
                  .as<int>(),
              0);
    EXPECT_EQ(tx.exec_params1("SELECT reviewed_by::text FROM careguard.glass_rollback_reviews "
                              "WHERE grant_id = $1",
                              id)[0]
                  .as<std::string>(),
              "admin");
    EXPECT_THROW(tx.exec_params("SELECT careguard.glass_sign_off($1, 'signed a second time')", id),
                 pqxx::sql_error);
  }
  pqxx::work tx(officer);
  tx.exec("SELECT careguard.ledger_flush(30000)");
  EXPECT_EQ(
      scalar(tx,
             "SELECT count(*) FROM careguard.ledger WHERE kind = 'break_glass_review' "
             "AND record::jsonb -> 'detail' ->> 'rolled_back' = 'true' "
             "AND record::jsonb -> 'detail' ->> 'review_note' = 'checked: a drill, nothing seen' "
             "AND patient_ids = ARRAY['" +
                 std::string(kPatient) + "'::uuid]"),
      "1");
}

// The writer stores a batch straight into its month's partition, but only
// a plain one: a trigger a DBA puts on the ledger's INSERTs (forwarding
// records, say) makes it store with SQL, and the trigger sees every record.
TEST_F(LedgerTest, AnInsertTriggerOnTheLedgerStillFires) {
  pqxx::connection admin;
  {
    pqxx::work tx(admin);
    tx.exec("CREATE TABLE public.ledger_forwarded (seq bigint)");
    tx.exec(
        "CREATE FUNCTION public.ledger_forward() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO public.ledger_forwarded VALUES (NEW.seq); RETURN NULL; END $$");
    tx.exec(
        "CREATE TRIGGER ledger_forward AFTER INSERT ON careguard.ledger "
        "FOR EACH ROW EXECUTE FUNCTION public.ledger_forward()");
    tx.exec("CREATE TABLE public.ledger_statements (n int)");
    tx.exec(
        "CREATE FUNCTION public.ledger_count_statement() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO public.ledger_statements VALUES (1); RETURN NULL; END $$");
    tx.exec(
        "CREATE TRIGGER ledger_count_statement AFTER INSERT ON careguard.ledger "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_count_statement()");
    tx.exec("SET LOCAL careguard.allow_policy_gap = 'test table for the ledger trigger test'");
    tx.commit();
  }
  std::string name = unique("forwarded");
  pqxx::connection c;
  read_as_patient(c, name, true);
  long records = records_named(name);
  pqxx::work tx(admin);
  long forwarded = tx.exec_params1(
                         "SELECT count(*) FROM public.ledger_forwarded f JOIN careguard.ledger l "
                         "USING (seq) WHERE l.record::jsonb ->> 'application_name' = $1",
                         name)[0]
                       .as<long>();
  long statements = tx.exec1("SELECT count(*) FROM public.ledger_statements")[0].as<long>();
  tx.exec("DROP TRIGGER ledger_forward ON careguard.ledger");
  tx.exec("DROP TRIGGER ledger_count_statement ON careguard.ledger");
  tx.exec("DROP FUNCTION public.ledger_forward()");
  tx.exec("DROP FUNCTION public.ledger_count_statement()");
  tx.exec("DROP TABLE public.ledger_forwarded, public.ledger_statements");
  tx.commit();
  EXPECT_EQ(records, 1);
  EXPECT_EQ(forwarded, records);
  EXPECT_GE(statements, 1);  // a statement trigger on the ledger itself fires too
}

// A month detached from the ledger is not written into: the writer keeps
// the record in the spool until the month is back, then stores it there.
TEST_F(LedgerTest, ADetachedMonthIsNotWrittenInto) {
  pqxx::connection admin;
  std::string month;
  {
    pqxx::work tx(admin);
    tx.exec("SELECT careguard.ledger_flush(30000)");
    month = tx.exec1(
                  "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = 'careguard.ledger'::regclass AND c.relname = "
                  "to_char(now() AT TIME ZONE 'UTC', '\"ledger_y\"YYYY\"m\"MM')")[0]
                .as<std::string>();
    tx.exec("ALTER TABLE careguard.ledger DETACH PARTITION careguard." + month);
    tx.commit();
  }
  std::string name = unique("detached");
  pqxx::connection c;
  read_as_patient(c, name, true);
  {
    pqxx::nontransaction tx(admin);
    EXPECT_THROW(tx.exec("SELECT careguard.ledger_flush(1500)"), pqxx::sql_error);
    EXPECT_EQ(scalar(tx, "SELECT count(*) FROM careguard." + month +
                             " WHERE record::jsonb ->> 'application_name' = " + tx.quote(name)),
              "0");
    tx.exec("ALTER TABLE careguard.ledger ATTACH PARTITION careguard." + month +
            " FOR VALUES FROM (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') "
            "TO ((date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE "
            "'UTC')");
  }
  EXPECT_EQ(records_named(name), 1);
  pqxx::nontransaction tx(admin);
  EXPECT_EQ(scalar(tx, "SELECT ok::text FROM careguard.verify_ledger()"), "true");
}

// A table registered by another session while this one is inside a
// REPEATABLE READ transaction: its reads are recorded there already (in a
// parallel worker too), and after that transaction (the registry is read as
// committed now, not under the transaction's snapshot, which would keep the
// stale answer cached).
TEST_F(LedgerTest, ARegistrationIsSeenInsideARepeatableReadTransaction) {
  ScratchSchema scratch("rr");
  const std::string& schema = scratch.name();
  pqxx::connection admin;
  {
    pqxx::work tx(admin);
    tx.exec("CREATE TABLE " + schema + ".t (patient_id uuid)");
    tx.exec("INSERT INTO " + schema + ".t VALUES ('" + std::string(kPatient) + "')");
    open_to_all(tx, schema + ".t");
    tx.exec("CREATE FUNCTION " + schema +
            ".reads() RETURNS bigint LANGUAGE plpgsql PARALLEL SAFE AS $$ DECLARE n bigint; "
            "BEGIN SELECT count(*) INTO n FROM " +
            schema + ".t; RETURN n; END $$");
    tx.commit();
  }
  const std::string inside = unique("rr-inside");
  const std::string in_worker = unique("rr-worker");
  const std::string after = unique("rr-after");
  pqxx::connection reader;
  {
    pqxx::work rr(reader);
    rr.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    rr.exec("SELECT count(*) FROM bookings.appointments");  // snapshot and registry taken
    {
      pqxx::nontransaction tx(admin);
      tx.exec("SELECT careguard.register_phi('" + schema + ".t', 'patient_id')");
    }
    rr.exec("SET LOCAL application_name = '" + inside + "'");
    EXPECT_EQ(rr.exec("SELECT * FROM " + schema + ".t").size(), 1u);
    // The same read in a parallel worker, which loads the registry itself.
    rr.exec("SET LOCAL application_name = '" + in_worker + "'");
    rr.exec("SET LOCAL force_parallel_mode = on");
    rr.exec("SET LOCAL parallel_leader_participation = off");
    rr.exec("SET LOCAL parallel_setup_cost = 0");
    EXPECT_EQ(scalar(rr, "SELECT " + schema + ".reads()"), "1");
    EXPECT_EQ(rr.exec("EXPLAIN (COSTS OFF) SELECT " + schema + ".reads()")[0][0].as<std::string>(),
              "Gather");
    rr.commit();
  }
  {
    pqxx::work tx(reader);
    tx.exec("SET LOCAL application_name = '" + after + "'");
    tx.exec("SELECT * FROM " + schema + ".t");
    tx.commit();
  }
  EXPECT_EQ(records_named(inside), 1);
  EXPECT_EQ(records_named(in_worker), 1);
  EXPECT_EQ(records_named(after), 1);
}

// A DETACH PARTITION ... CONCURRENTLY cut short (its partition left detach
// pending) and completed by FINALIZE: the partition left a registered table
// all the same, so it is registered on its own and its reads are recorded.
TEST_F(LedgerTest, AFinalizedDetachRegistersThePartition) {
  ScratchSchema scratch("fin");
  const std::string& schema = scratch.name();
  pqxx::connection admin;
  {
    pqxx::work tx(admin);
    tx.exec("CREATE TABLE " + schema + ".p (id int, patient_id uuid) PARTITION BY RANGE (id)");
    tx.exec("CREATE TABLE " + schema + ".p1 PARTITION OF " + schema +
            ".p FOR VALUES FROM (0) TO (100)");
    open_to_all(tx, schema + ".p");
    open_to_all(tx, schema + ".p1");
    tx.exec("INSERT INTO " + schema + ".p VALUES (1, '" + std::string(kPatient) + "')");
    tx.exec("SELECT careguard.register_phi('" + schema + ".p', 'patient_id')");
    tx.commit();
  }
  pqxx::connection holder;
  pqxx::connection detacher;
  {
    pqxx::work hold(holder);  // its lock makes the detach wait, and time out
    hold.exec("SELECT count(*) FROM " + schema + ".p");
    pqxx::nontransaction tx(detacher);
    tx.exec("SET statement_timeout = 1000");
    EXPECT_THROW(
        tx.exec("ALTER TABLE " + schema + ".p DETACH PARTITION " + schema + ".p1 CONCURRENTLY"),
        pqxx::sql_error);
  }
  pqxx::nontransaction tx(detacher);
  EXPECT_EQ(scalar(tx, "SELECT inhdetachpending::text FROM pg_inherits WHERE inhrelid = '" +
                           schema + ".p1'::regclass"),
            "true");
  tx.exec("SET statement_timeout = 0");
  tx.exec("ALTER TABLE " + schema + ".p DETACH PARTITION " + schema + ".p1 FINALIZE");
  EXPECT_EQ(scalar(tx, "SELECT patient_column::text FROM careguard.phi_tables WHERE relid = '" +
                           schema + ".p1'::regclass"),
            "patient_id");
  const std::string name = unique("finalized");
  pqxx::connection reader;
  {
    pqxx::work read(reader);
    read.exec("SET LOCAL application_name = '" + name + "'");
    EXPECT_EQ(read.exec("SELECT * FROM " + schema + ".p1").size(), 1u);
    read.commit();
  }
  EXPECT_EQ(records_named(name), 1);
}

// One million audited statements in one backend (each a top-level statement
// of a DO block): its resident memory stays flat, and the writer stores every
// record. In a scratch database, so that its million records do not slow the
// other tests' verifications.
TEST_F(LedgerTest, AMillionAuditedStatementsLeaveMemoryFlat) {
  const std::string scratch = "careguard_ledger_rss";
  pqxx::connection admin;
  pqxx::nontransaction(admin).exec("DROP DATABASE IF EXISTS " + scratch + " WITH (FORCE)");
  pqxx::nontransaction(admin).exec("CREATE DATABASE " + scratch);
  std::string dsn = "dbname=" + scratch;
  {
    pqxx::connection setup(dsn);
    pqxx::nontransaction tx(setup);
    tx.exec("CREATE SCHEMA extensions");
    tx.exec("CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE");
  }
  long before = 0;
  long after = 0;
  {
    pqxx::connection c(dsn);
    int pid = pqxx::nontransaction(c).exec("SELECT pg_backend_pid()")[0][0].as<int>();
    const std::string block = R"SQL(
      DO $$
      BEGIN
        FOR i IN 1..100000 LOOP
          PERFORM 1 FROM patients.profiles WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001';
        END LOOP;
      END $$)SQL";
    auto run = [&] { pqxx::nontransaction(c).exec(block); };
    run();  // warm caches
    before = rss_kb(pid);
    ASSERT_GT(before, 0);
    for (int i = 0; i < 10; ++i) run();  // 1,000,000 more
    after = rss_kb(pid);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT careguard.ledger_flush(600000)");
    EXPECT_EQ(
        tx.exec("SELECT count(*) FROM careguard.ledger WHERE kind = 'access'")[0][0].as<long>(),
        1100000);
  }
  std::printf("ledger RSS: %ld kB before, %ld kB after 1,000,000 audited statements\n", before,
              after);
  EXPECT_LT(after - before, 2048) << "RSS grew from " << before << " kB to " << after << " kB";
  pqxx::nontransaction(admin).exec("DROP DATABASE " + scratch + " WITH (FORCE)");
}

// A statement calling a SQL function a million times, the function reading
// a registered table under a UNION ALL (an append relation, whose parents the
// walk maps): the ledger adds nothing per call to the backend's memory. The
// function's queries start in its own context, which lives until the outer
// statement ends; what the walk allocates must go with each call's query.
// Against the same statement with the ledger off, in a connection of its
// own: PostgreSQL itself keeps a few bytes per call until the statement ends.
TEST_F(LedgerTest, AMillionCallsOfAFunctionReadingPatientsAddNoMemory) {
  // The statement's peak anonymous memory (palloc's and malloc's) in kB,
  // sampled while it runs (it is freed at its end).
  auto peak_with_ledger = [](bool ledger) {
    pqxx::connection c;
    pqxx::nontransaction tx(c);
    int pid = tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
    tx.exec(std::string("SET careguard.ledger = ") + (ledger ? "on" : "off"));
    tx.exec(R"SQL(
      CREATE FUNCTION pg_temp.reads_patients(i int) RETURNS bigint LANGUAGE sql VOLATILE AS $$
        SELECT count(*) FROM (
          SELECT p.id FROM patients.profiles p WHERE p.id = 'aaaaaaaa-0000-4000-8000-000000000001'
          UNION ALL SELECT p.id FROM patients.profiles p WHERE p.id = 'aaaaaaaa-0000-4000-8000-000000000002') s
      $$)SQL");
    const long rows = tx.exec("SELECT pg_temp.reads_patients(1)")[0][0].as<long>();
    EXPECT_EQ(rows, 2) << "the function reads two of the demo's patients";
    std::atomic<bool> done{false};
    std::atomic<long> peak{0};
    std::thread sampler([&] {
      while (!done) {
        peak = std::max(peak.load(), status_kb(pid, "RssAnon"));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    const long sum = tx.exec(
                           "SELECT sum(pg_temp.reads_patients(g)) "
                           "FROM pg_catalog.generate_series(1, 1000000) g")[0][0]
                         .as<long>();
    done = true;
    sampler.join();
    EXPECT_EQ(sum, 1000000 * rows);
    return peak.load();
  };
  const long off = peak_with_ledger(false);
  const long on = peak_with_ledger(true);
  ASSERT_GT(off, 0);
  std::printf("peak anonymous memory over 1,000,000 calls: %ld kB, ledger off; %ld kB, on\n", off,
              on);
  EXPECT_LT(on - off, 4096) << "the ledger added " << on - off << " kB";
}

// careguard-audit (built next to this binary's directory) with arguments.
std::pair<int, std::string> run_audit_cli(const std::string& args) {
  std::array<char, 4096> self{};
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  std::string dir(self.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  dir = dir.substr(0, dir.rfind('/'));
  std::string cli = dir.substr(0, dir.rfind('/')) + "/tools/careguard-audit";
  FILE* pipe = popen((cli + " " + args + " 2>/dev/null").c_str(), "r");
  std::string out;
  std::array<char, 8192> buffer{};
  while (std::size_t got = fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), got);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(LedgerTest, TheCliVerifiesAgainstAHeadAndExports) {
  pqxx::connection c;
  read_as_patient(c, unique("cli"), true);
  auto head = run_audit_cli("ledger head");
  ASSERT_EQ(head.first, 0);
  std::string published = head.second.substr(0, head.second.find('\n'));
  auto verified = run_audit_cli("ledger verify --head " + published);
  EXPECT_EQ(verified.first, 0) << verified.second;
  auto wrong = run_audit_cli("ledger verify --head " + published.substr(0, published.find(':')) +
                             ":" + std::string(64, 'f'));
  EXPECT_EQ(wrong.first, 1);
  EXPECT_NE(wrong.second.find("head mismatch"), std::string::npos) << wrong.second;
  pqxx::nontransaction tx(c);
  long rows = tx.exec("SELECT count(*) FROM careguard.ledger")[0][0].as<long>();
  auto csv = run_audit_cli("ledger export --format csv");
  ASSERT_EQ(csv.first, 0);
  long lines = 0;
  for (char ch : csv.second) lines += ch == '\n';
  EXPECT_GE(lines, rows + 1);  // a header, then at least one line per record
  auto json = run_audit_cli("ledger export --format json");
  ASSERT_EQ(json.first, 0);
  EXPECT_EQ(json.second.front(), '[');
  EXPECT_NE(json.second.find("\"seq\":" + published.substr(0, published.find(':')) + ","),
            std::string::npos);
  EXPECT_EQ(run_audit_cli("ledger export --format xml").first, 2);
}

}  // namespace
