// careguard-audit: the snapshot of a database's access rules, from the
// catalogs. Expressions are deparsed with search_path = pg_catalog, so every
// other name comes out schema-qualified and two databases compare alike.
#include "snapshot_db.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <memory>

namespace careguard::audit_cli {

namespace {

std::string text_or_empty(const pqxx::field& field) {
  return field.is_null() ? std::string() : field.as<std::string>();
}

std::optional<std::string> optional_text(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

std::vector<std::string> text_array(const pqxx::field& field) {
  std::vector<std::string> out;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::juncture::done;
       item = parser.get_next())
    if (item.first == pqxx::array_parser::juncture::string_value) out.push_back(item.second);
  return out;
}

const char* const kSchemasQuery =
    "SELECT n.nspname::text FROM pg_catalog.pg_namespace n "
    "WHERE CASE WHEN pg_catalog.cardinality($1::text[]) = 0 "
    "  THEN n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast']) "
    "       AND n.nspname !~ '^pg_(toast_)?temp_' "
    "  ELSE n.nspname = ANY ($1::text[]) END "
    "ORDER BY 1";

const char* const kTablesQuery =
    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relrowsecurity, "
    "       c.relforcerowsecurity, pg_catalog.pg_get_userbyid(c.relowner)::text "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY ($1::text[]) ORDER BY 1";

const char* const kPoliciesQuery =
    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), p.polname::text, "
    "       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
    "                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, p.polpermissive, "
    "       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text "
    "END "
    "             FROM pg_catalog.unnest(p.polroles) AS r ORDER BY 1), "
    "       pg_catalog.pg_get_expr(p.polqual, p.polrelid), "
    "       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
    "FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = ANY ($1::text[]) ORDER BY 1, 2";

// Privileges of every grantee but the owner, whose come with ownership.
// Function privileges only of SECURITY DEFINER functions: EXECUTE on an
// invoker's function gives no access the caller does not have already.
const char* const kGrantsQuery =
    "WITH objects AS ("
    "  SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS object, n.nspowner AS owner, "
    "         COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) AS acl "
    "  FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY ($1::text[]) "
    "  UNION ALL "
    "  SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' "
    "                        WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence' ELSE 'table' "
    "END, "
    "         pg_catalog.format('%I.%I', n.nspname, c.relname), c.relowner, "
    "         COALESCE(c.relacl, pg_catalog.acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE "
    "'r' END)::\"char\", "
    "                                                  c.relowner)) "
    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname = ANY ($1::text[]) "
    "  UNION ALL "
    "  SELECT 'column', pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname), "
    "c.relowner, "
    "         a.attacl "
    "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped "
    "    AND n.nspname = ANY ($1::text[]) "
    "  UNION ALL "
    "  SELECT 'function', pg_catalog.format('%I.%I(%s)', n.nspname, f.proname, "
    "                                       pg_catalog.pg_get_function_identity_arguments(f.oid)), "
    "         f.proowner, COALESCE(f.proacl, pg_catalog.acldefault('f', f.proowner)) "
    "  FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace "
    "  WHERE f.prosecdef AND n.nspname = ANY ($1::text[])) "
    "SELECT o.kind, o.object, "
    "       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text "
    "END, "
    "       a.privilege_type, a.is_grantable "
    "FROM objects o, LATERAL pg_catalog.aclexplode(o.acl) AS a "
    "WHERE a.grantee <> o.owner ORDER BY 1, 2, 3, 4";

const char* const kDefinerFunctionsQuery =
    "SELECT pg_catalog.format('%I.%I(%s)', n.nspname, f.proname, "
    "                         pg_catalog.pg_get_function_identity_arguments(f.oid)), "
    "       pg_catalog.pg_get_userbyid(f.proowner)::text, l.lanname::text, "
    "       COALESCE(pg_catalog.array_to_string(f.proconfig, '; '), ''), "
    "       pg_catalog.md5(pg_catalog.pg_get_functiondef(f.oid)) "
    "FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace "
    "JOIN pg_catalog.pg_language l ON l.oid = f.prolang "
    "WHERE f.prosecdef AND f.prokind IN ('f', 'p') AND n.nspname = ANY ($1::text[]) ORDER BY 1";

std::string schema_array(const std::vector<std::string>& schemas) {
  std::string out = "{";
  for (std::size_t i = 0; i < schemas.size(); ++i) {
    std::string quoted = "\"";
    for (char c : schemas[i]) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out += (i ? "," : "") + quoted + "\"";
  }
  return out + "}";
}

std::string describe(pqxx::connection& conn) {
  const char* host = conn.hostname();
  return std::string(conn.dbname()) + " on " + (host && *host ? host : "local socket") + ":" +
         (conn.port() ? conn.port() : "");
}

}  // namespace

audit::Snapshot read_snapshot(const std::string& dsn, const std::vector<std::string>& schemas,
                              const Progress& progress) {
  std::unique_ptr<pqxx::connection> conn;
  try {
    progress("connecting");
    conn = std::make_unique<pqxx::connection>(dsn);
  } catch (const std::exception& e) {
    throw CliError(kConnectionFailed, std::string("cannot connect: ") + e.what());
  }
  audit::Snapshot snap;
  snap.source = describe(*conn);
  try {
    pqxx::read_transaction txn(*conn);
    txn.exec("SET LOCAL search_path = pg_catalog");
    for (const auto& r : txn.exec_params(kSchemasQuery, schema_array(schemas)))
      snap.schemas.push_back(r[0].as<std::string>());
    for (const auto& name : schemas)
      if (std::find(snap.schemas.begin(), snap.schemas.end(), name) == snap.schemas.end())
        throw CliError(kUsage, "schema \"" + name + "\" does not exist in " + snap.source);
    const std::string list = schema_array(snap.schemas);
    progress("reading tables, policies, grants and SECURITY DEFINER functions of " + snap.source);
    for (const auto& r : txn.exec_params(kTablesQuery, list))
      snap.tables.push_back(
          {r[0].as<std::string>(), r[1].as<bool>(), r[2].as<bool>(), r[3].as<std::string>()});
    for (const auto& r : txn.exec_params(kPoliciesQuery, list))
      snap.policies.push_back({r[0].as<std::string>(), r[1].as<std::string>(),
                               r[2].as<std::string>(), r[3].as<bool>(), text_array(r[4]),
                               optional_text(r[5]), optional_text(r[6])});
    for (const auto& r : txn.exec_params(kGrantsQuery, list))
      snap.grants.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                             r[3].as<std::string>(), r[4].as<bool>()});
    for (const auto& r : txn.exec_params(kDefinerFunctionsQuery, list))
      snap.functions.push_back({r[0].as<std::string>(), r[1].as<std::string>(),
                                r[2].as<std::string>(), text_or_empty(r[3]),
                                r[4].as<std::string>()});
  } catch (const CliError&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw CliError(kConnectionFailed, std::string("connection lost: ") + e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    throw CliError(kInsufficientPrivilege, std::string("insufficient privilege: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    throw CliError(kDatabaseError, "database error " + e.sqlstate() + ": " + e.what());
  }
  return snap;
}

}  // namespace careguard::audit_cli
