// careguard_pool_driver: many clients through a transaction-pooling
// PgBouncer, each transaction acting as a randomly chosen demo identity, and
// counting every row that belongs to another identity and every transaction
// whose identity (auth.uid(), current_user) is not its own. Run by
// test/shell/pgbouncer_scale.sh, which starts PgBouncer and reads the
// "key=value" lines this prints.
//
//   careguard_pool_driver MODE DIRECT_DSN POOLED_DSN CLIENTS TRANSACTIONS SEED
//   MODE careguard: gateway-style, sign-in-style and buggy transactions,
//        interleaved, against careguard's auth.uid();
//   MODE reference: only the buggy client, against supabase_ref.uid() (a
//        Supabase-style SQL helper) and supabase_ref.appointments.
// The buggy client sets its claims for the session (SET, or
// set_config(..., false)) in one statement and queries in a later
// transaction, as if the connection were its own.
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Identity {
  std::string role;    // patient | provider
  std::string uid;     // auth.uid()
  std::string owner;   // what owns its rows: the patient's uid or the provider_id
  std::string claims;  // request.jwt.claims
  std::string token;   // signed with the database's HS256 key
  long long own_rows;  // appointments it may see, as the superuser counts them
};

// The server's notices (careguard's warning about session-level claims) are
// expected here by the thousand; they are not the result.
class Quiet : public pqxx::errorhandler {
 public:
  explicit Quiet(pqxx::connection_base& c) : pqxx::errorhandler(c) {}
  bool operator()(const char*) noexcept override { return false; }
};

struct Tally {
  std::atomic<long> transactions{0}, gateway{0}, login{0}, buggy{0};
  std::atomic<long> cross_rows{0}, cross_transactions{0}, wrong_identity{0};
  std::atomic<long> wrong_own_count{0}, errors{0};
  // Buggy transactions whose server connection held another identity's
  // session claims: the exposure careguard has to withstand.
  std::atomic<long> exposed{0};
  std::mutex first_error_mutex;
  std::string first_error;
  void error(const std::string& what) {
    ++errors;
    std::lock_guard<std::mutex> lock(first_error_mutex);
    if (first_error.empty()) first_error = what;
  }
};

std::vector<Identity> load_identities(const std::string& dsn, bool reference) {
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  std::vector<Identity> ids;
  const std::string own_count =
      reference ? "(SELECT count(*) FROM supabase_ref.appointments a WHERE a.patient_id = p.id)"
                : "(SELECT count(*) FROM bookings.appointments a WHERE a.patient_id = p.id)";
  for (const auto& r :
       tx.exec("SELECT 'patient', p.id::text, p.id::text, json_build_object('sub', p.id, 'role', "
               "'patient')::text, " +
               own_count + " FROM patients.profiles p ORDER BY p.id"))
    ids.push_back(
        {r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(), "", r[4].as<long long>()});
  if (!reference) {
    for (const auto& r : tx.exec(
             "SELECT 'provider', p.user_id::text, p.id::text, json_build_object('sub', p.user_id, "
             "'role', 'provider', 'provider_id', p.id)::text, (SELECT count(*) FROM "
             "bookings.appointments a WHERE a.provider_id = p.id) FROM providers.profiles p "
             "ORDER BY p.id"))
      ids.push_back(
          {r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(), "", r[4].as<long long>()});
    for (auto& id : ids)
      id.token = tx.exec_params1(
                       "SELECT auth.sign($1::jsonb || jsonb_build_object('exp', "
                       "extract(epoch FROM now())::int + 3600))",
                       id.claims)[0]
                     .c_str();
  }
  return ids;
}

// The rows a transaction sees, and whose they are.
struct Seen {
  std::string user, uid, claims;
  long long rows = 0, others = 0;
};

Seen look(pqxx::transaction_base& tx, const Identity& me, bool reference) {
  const std::string column = me.role == "provider" ? "provider_id" : "patient_id";
  const std::string sql =
      reference ? "SELECT current_user, coalesce(supabase_ref.uid()::text, ''), count(*), "
                  "count(*) FILTER (WHERE patient_id IS DISTINCT FROM $1::uuid), "
                  "coalesce(current_setting('request.jwt.claims', true), '') "
                  "FROM supabase_ref.appointments"
                : "SELECT current_user, coalesce(auth.uid()::text, ''), count(*), "
                  "count(*) FILTER (WHERE " +
                      column +
                      " IS DISTINCT FROM $1::uuid), coalesce(current_setting('request.jwt.claims', "
                      "true), '') FROM bookings.appointments";
  pqxx::row r = tx.exec_params1(sql, me.owner);
  return {r[0].c_str(), r[1].c_str(), r[4].c_str(), r[2].as<long long>(), r[3].as<long long>()};
}

void client(int index, const std::string& dsn, const std::vector<Identity>& ids, bool reference,
            std::atomic<long>& remaining, unsigned seed, Tally& tally) {
  std::mt19937 rng(seed + static_cast<unsigned>(index) * 7919u);
  std::unique_ptr<pqxx::connection> c;
  try {
    c = std::make_unique<pqxx::connection>(dsn);
  } catch (const std::exception& e) {
    tally.error(std::string("connect: ") + e.what());
    return;
  }
  Quiet quiet(*c);
  while (remaining.fetch_sub(1) > 0) {
    const Identity& me = ids[rng() % ids.size()];
    // careguard: gateway, sign-in and buggy transactions interleaved.
    const int style = reference ? 2 : static_cast<int>(rng() % 3);
    try {
      if (style == 2) {
        // The buggy client: claims for the session, then a later transaction.
        pqxx::nontransaction set{*c};
        if (rng() % 2)
          set.exec("SET request.jwt.claims TO " + set.quote(me.claims));
        else
          set.exec_params("SELECT set_config('request.jwt.claims', $1, false)", me.claims);
      }
      pqxx::work tx{*c};
      if (style == 1) {
        tx.exec_params("SELECT auth.login($1)", me.token);
      } else {
        tx.exec("SET LOCAL ROLE " + me.role);
        if (style == 0)
          tx.exec_params("SELECT set_config('request.jwt.claims', $1, true)", me.claims);
      }
      Seen seen = look(tx, me, reference);
      tx.commit();
      ++tally.transactions;
      ++(style == 0 ? tally.gateway : style == 1 ? tally.login : tally.buggy);
      tally.cross_rows += seen.others;
      if (seen.others > 0) ++tally.cross_transactions;
      // A buggy transaction has no identity (careguard ignores session
      // claims); any identity other than its own, or a role other than the
      // one it asked for, is wrong.
      const bool identity_ok =
          seen.user == me.role && (seen.uid == me.uid || (style == 2 && seen.uid.empty()));
      if (!identity_ok) ++tally.wrong_identity;
      if (style == 2 && seen.claims != me.claims) ++tally.exposed;
      if (style != 2 && seen.rows != me.own_rows) ++tally.wrong_own_count;
    } catch (const std::exception& e) {
      tally.error(e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: careguard_pool_driver careguard|reference DIRECT_DSN POOLED_DSN CLIENTS "
                 "TRANSACTIONS SEED\n";
    return 2;
  }
  const std::string mode = argv[1];
  const bool reference = mode == "reference";
  if (!reference && mode != "careguard") {
    std::cerr << "careguard_pool_driver: unknown mode " << mode << "\n";
    return 2;
  }
  const int clients = std::atoi(argv[4]);
  std::atomic<long> remaining{std::atol(argv[5])};
  const auto seed = static_cast<unsigned>(std::strtoul(argv[6], nullptr, 10));
  std::vector<Identity> ids;
  try {
    ids = load_identities(argv[2], reference);
  } catch (const std::exception& e) {
    std::cerr << "careguard_pool_driver: " << e.what() << "\n";
    return 1;
  }
  if (ids.size() < 2) {
    std::cerr << "careguard_pool_driver: the database needs at least two demo identities\n";
    return 1;
  }
  Tally tally;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back(client, i, std::string(argv[3]), std::cref(ids), reference,
                         std::ref(remaining), seed, std::ref(tally));
  for (auto& t : threads) t.join();
  std::printf(
      "mode=%s\nidentities=%zu\nclients=%d\ntransactions=%ld\ngateway=%ld\nlogin=%ld\n"
      "buggy=%ld\ncross_identity_rows=%ld\ncross_identity_transactions=%ld\n"
      "wrong_identity=%ld\nwrong_own_count=%ld\nexposed_buggy=%ld\nerrors=%ld\n",
      mode.c_str(), ids.size(), clients, tally.transactions.load(), tally.gateway.load(),
      tally.login.load(), tally.buggy.load(), tally.cross_rows.load(),
      tally.cross_transactions.load(), tally.wrong_identity.load(), tally.wrong_own_count.load(),
      tally.exposed.load(), tally.errors.load());
  if (!tally.first_error.empty()) std::printf("first_error=%s\n", tally.first_error.c_str());
  return 0;
}
