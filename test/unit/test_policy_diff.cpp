// careguard-audit diff without a server: policy expressions compared by
// their AND / OR shape, and every class of change between two snapshots.
#include "policy_diff.hpp"
#include "policy_expr.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using namespace careguard::audit;

// pg_get_expr's spelling: every AND / OR parenthesised.
const char* const kOwner = "(patient_id = auth.uid())";
const char* const kOwnerOrPublic = "((patient_id = auth.uid()) OR is_public)";
const char* const kOwnerAndActive = "((patient_id = auth.uid()) AND (status <> 'cancelled'::text))";

TEST(PolicyExpr, NormalisesWhitespaceAndOuterParentheses) {
  EXPECT_EQ(normalize_expression("  ((a = b))  "), "a = b");
  EXPECT_EQ(normalize_expression("(a = b) OR (c = d)"), "(a = b) OR (c = d)");
  // A string's spaces and parentheses are its own.
  EXPECT_EQ(normalize_expression("(note = ' x  OR (y ')"), "note = ' x  OR (y '");
}

TEST(PolicyExpr, ParsesTopLevelOrAndAnd) {
  const BoolExpr e = parse_bool_expr("((a = 1) OR ((b = 2) AND (c = 3)) OR (d = 4))");
  ASSERT_EQ(e.kind, BoolExpr::Kind::Or);
  ASSERT_EQ(e.children.size(), 3u);
  EXPECT_EQ(e.children[1].kind, BoolExpr::Kind::And);
  EXPECT_EQ(e.children[2].atom, "d = 4");
  // OR inside a string, a CASE or a function call is no branch.
  EXPECT_EQ(parse_bool_expr("(note = 'a OR b')").kind, BoolExpr::Kind::Atom);
  EXPECT_EQ(parse_bool_expr("CASE WHEN x THEN a OR b ELSE c END").kind, BoolExpr::Kind::Atom);
  EXPECT_EQ(parse_bool_expr("coalesce((a OR b), false)").kind, BoolExpr::Kind::Atom);
}

TEST(PolicyExpr, ClassifiesWideningNarrowingAndUnknown) {
  EXPECT_EQ(compare_expressions(kOwner, kOwner), ExprRelation::Same);
  EXPECT_EQ(compare_expressions(kOwner, "  patient_id = auth.uid() "), ExprRelation::Same);
  // A OR B and B OR A are the same condition.
  EXPECT_EQ(compare_expressions("((a = 1) OR (b = 2))", "((b = 2) OR (a = 1))"),
            ExprRelation::Same);
  // A -> A OR B: an OR branch added.
  EXPECT_EQ(compare_expressions(kOwner, kOwnerOrPublic), ExprRelation::Weaker);
  // A -> A AND B: a condition added.
  EXPECT_EQ(compare_expressions(kOwner, kOwnerAndActive), ExprRelation::Stronger);
  // A AND B -> A: a condition dropped.
  EXPECT_EQ(compare_expressions(kOwnerAndActive, kOwner), ExprRelation::Weaker);
  // Anything -> true widens; anything -> false narrows.
  EXPECT_EQ(compare_expressions(kOwner, "true"), ExprRelation::Weaker);
  EXPECT_EQ(compare_expressions(kOwner, "false"), ExprRelation::Stronger);
  // A different comparison: neither is provable.
  EXPECT_EQ(compare_expressions(kOwner, "(patient_id IS NOT NULL)"), ExprRelation::Unknown);
  EXPECT_EQ(compare_expressions("(a = 1)", "(a >= 1)"), ExprRelation::Unknown);
  // (A OR B) AND C -> A AND C narrows; the reverse widens.
  EXPECT_EQ(compare_expressions("(((a = 1) OR (b = 2)) AND (c = 3))", "((a = 1) AND (c = 3))"),
            ExprRelation::Stronger);
  EXPECT_EQ(compare_expressions("((a = 1) AND (c = 3))", "(((a = 1) OR (b = 2)) AND (c = 3))"),
            ExprRelation::Weaker);
}

Snapshot base() {
  Snapshot s;
  s.source = "base";
  s.schemas = {"bookings"};
  s.tables = {{"bookings.appointments", true, true, "postgres"}};
  s.policies = {
      {"bookings.appointments", "patient_read", "SELECT", true, {"patient"}, kOwner, std::nullopt},
      {"bookings.appointments",
       "only_active",
       "ALL",
       false,
       {"patient"},
       "(status <> 'cancelled'::text)",
       std::nullopt}};
  s.grants = {{"table", "bookings.appointments", "patient", "SELECT", false}};
  s.functions = {
      {"bookings.book(uuid)", "postgres", "plpgsql", "search_path=pg_catalog, pg_temp", "0123"}};
  return s;
}

#define EXPECT_CLASS(change, label, aspect_text) \
  do {                                           \
    const Change c_ = (change);                  \
    EXPECT_EQ(change_label(c_), label);          \
    EXPECT_EQ(c_.aspect, aspect_text);           \
  } while (0)

Change single(const Snapshot& from, const Snapshot& to) {
  const auto changes = diff_snapshots(from, to);
  EXPECT_EQ(changes.size(), 1u);
  return changes.empty() ? Change{} : changes.front();
}

TEST(PolicyDiff, IdenticalSnapshotsHaveNoChange) {
  EXPECT_TRUE(diff_snapshots(base(), base()).empty());
}

TEST(PolicyDiff, PolicyRoles) {
  Snapshot to = base();
  to.policies[0].roles = {"anon", "patient"};
  EXPECT_CLASS(single(base(), to), "widening", "roles");
  to.policies[0].roles = {"public"};
  EXPECT_CLASS(single(base(), to), "widening", "roles");
  to.policies[0].roles = {"provider"};  // one removed, one added
  EXPECT_CLASS(single(base(), to), "widening", "roles");
  Snapshot from = base();
  from.policies[0].roles = {"anon", "patient"};
  EXPECT_CLASS(single(from, base()), "narrowing", "roles");
  // A restrictive policy over more roles restricts more.
  to = base();
  to.policies[1].roles = {"patient", "provider"};
  EXPECT_CLASS(single(base(), to), "narrowing", "roles");
  EXPECT_CLASS(single(to, base()), "widening", "roles");
}

TEST(PolicyDiff, PolicyCommand) {
  Snapshot to = base();
  to.policies[0].command = "ALL";
  EXPECT_CLASS(single(base(), to), "widening", "command");
  EXPECT_CLASS(single(to, base()), "narrowing", "command");
  to.policies[0].command = "UPDATE";
  EXPECT_CLASS(single(base(), to), "widening", "command");
}

TEST(PolicyDiff, PermissiveAndRestrictive) {
  Snapshot to = base();
  to.policies[0].permissive = false;
  EXPECT_CLASS(single(base(), to), "narrowing", "kind");
  EXPECT_CLASS(single(to, base()), "widening", "kind");
  // A permissive policy added widens, a restrictive one narrows; removing
  // them does the opposite.
  to = base();
  to.policies.push_back({"bookings.appointments", "open", "SELECT", true, {"anon"}, "true", {}});
  EXPECT_CLASS(single(base(), to), "widening", "policy");
  EXPECT_CLASS(single(to, base()), "narrowing", "policy");
  to = base();
  to.policies.erase(to.policies.begin() + 1);
  EXPECT_CLASS(single(base(), to), "widening", "policy");
  EXPECT_CLASS(single(to, base()), "narrowing", "policy");
}

TEST(PolicyDiff, UsingAndWithCheck) {
  Snapshot to = base();
  to.policies[0].using_expr = kOwnerOrPublic;  // an OR branch added
  EXPECT_CLASS(single(base(), to), "widening", "USING");
  to.policies[0].using_expr = kOwnerAndActive;
  EXPECT_CLASS(single(base(), to), "narrowing", "USING");
  to.policies[0].using_expr = "  patient_id = auth.uid()";  // same after normalisation
  EXPECT_CLASS(single(base(), to), "neutral", "USING");
  to.policies[0].using_expr = "(patient_id IS NOT NULL)";  // replaced, not provably narrower
  const Change replaced = single(base(), to);
  EXPECT_CLASS(replaced, "widening (unproven)", "USING");
  EXPECT_TRUE(replaced.unproven);
  // A weaker restrictive condition restricts less: widening too.
  to = base();
  to.policies[1].using_expr = "((status <> 'cancelled'::text) OR true)";
  EXPECT_CLASS(single(base(), to), "widening", "USING");
  // A WITH CHECK added or removed: what applies instead is not provable.
  to = base();
  to.policies[1].check_expr = "(patient_id = auth.uid())";
  EXPECT_CLASS(single(base(), to), "widening (unproven)", "WITH CHECK");
  EXPECT_CLASS(single(to, base()), "widening (unproven)", "WITH CHECK");
}

TEST(PolicyDiff, RowLevelSecurityFlagsAndOwner) {
  Snapshot to = base();
  to.tables[0].force = false;
  EXPECT_CLASS(single(base(), to), "widening", "FORCE");
  EXPECT_CLASS(single(to, base()), "narrowing", "FORCE");
  to = base();
  to.tables[0].rls = false;
  EXPECT_CLASS(single(base(), to), "widening", "row-level security");
  EXPECT_CLASS(single(to, base()), "narrowing", "row-level security");
  to = base();
  to.tables[0].owner = "app_owner";
  EXPECT_CLASS(single(base(), to), "widening (unproven)", "owner");
  to = base();
  to.tables.push_back({"bookings.notes", true, true, "postgres"});
  EXPECT_CLASS(single(base(), to), "neutral", "table");
}

TEST(PolicyDiff, Grants) {
  Snapshot to = base();
  to.grants.push_back({"table", "bookings.appointments", "anon", "SELECT", false});
  EXPECT_CLASS(single(base(), to), "widening", "privilege");
  EXPECT_CLASS(single(to, base()), "narrowing", "privilege");
  to = base();
  to.grants[0].grantable = true;
  EXPECT_CLASS(single(base(), to), "widening", "grant option");
  EXPECT_CLASS(single(to, base()), "narrowing", "grant option");
  // Columns, schemas, functions alike.
  to = base();
  to.grants.push_back({"column", "bookings.appointments.notes", "provider", "UPDATE", false});
  to.grants.push_back({"schema", "bookings", "anon", "USAGE", false});
  to.grants.push_back({"function", "bookings.book(uuid)", "PUBLIC", "EXECUTE", false});
  const auto changes = diff_snapshots(base(), to);
  ASSERT_EQ(changes.size(), 3u);
  for (const auto& c : changes) EXPECT_EQ(change_label(c), "widening") << c.object;
}

TEST(PolicyDiff, SecurityDefinerFunctions) {
  Snapshot to = base();
  to.functions.push_back({"bookings.cancel(uuid)", "postgres", "sql", "", "4567"});
  EXPECT_CLASS(single(base(), to), "widening", "SECURITY DEFINER");
  EXPECT_CLASS(single(to, base()), "narrowing", "SECURITY DEFINER");
  to = base();
  to.functions[0].config = "search_path=public, pg_catalog";
  EXPECT_CLASS(single(base(), to), "widening (unproven)", "settings");
  to = base();
  to.functions[0].definition_md5 = "89ab";
  EXPECT_CLASS(single(base(), to), "widening (unproven)", "definition");
  to = base();
  to.functions[0].owner = "app_owner";
  EXPECT_CLASS(single(base(), to), "widening (unproven)", "owner");
}

TEST(PolicyDiff, FailOnAndOrdering) {
  Snapshot to = base();
  to.grants.clear();                                       // narrowing
  to.policies[0].using_expr = "(patient_id IS NOT NULL)";  // widening (unproven)
  const auto changes = diff_snapshots(base(), to);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(change_label(changes[0]), "widening (unproven)");  // widenings first
  EXPECT_TRUE(diff_fails(changes, DiffFailOn::Widening));
  EXPECT_TRUE(diff_fails(changes, DiffFailOn::Any));
  EXPECT_FALSE(diff_fails(changes, DiffFailOn::Never));
  const std::vector<Change> narrowing_only(changes.begin() + 1, changes.end());
  EXPECT_FALSE(diff_fails(narrowing_only, DiffFailOn::Widening));
  EXPECT_TRUE(diff_fails(narrowing_only, DiffFailOn::Any));
  EXPECT_FALSE(diff_fails({}, DiffFailOn::Any));
  EXPECT_EQ(parse_diff_fail_on("widening"), DiffFailOn::Widening);
  EXPECT_EQ(parse_diff_fail_on("sometimes"), std::nullopt);
}

TEST(PolicyDiff, SnapshotJsonRoundTrips) {
  Snapshot s = base();
  s.policies[0].check_expr = "(a = 'it''s')";
  const Snapshot back = snapshot_from_json(snapshot_to_json(s));
  EXPECT_TRUE(diff_snapshots(s, back).empty());
  EXPECT_EQ(back.policies[0].check_expr, s.policies[0].check_expr);
  EXPECT_EQ(back.policies[1].check_expr, std::nullopt);
  EXPECT_THROW(snapshot_from_json("{\"tables\": []}"), std::invalid_argument);
  EXPECT_THROW(snapshot_from_json("not json"), std::invalid_argument);
  EXPECT_THROW(snapshot_from_json("{\"careguard_snapshot\": 99}"), std::invalid_argument);
}

TEST(PolicyDiff, RendersTextJsonAndSarif) {
  Snapshot to = base();
  to.policies[0].roles = {"anon", "patient"};
  DiffReport report{"0.4.0", "before.json", "db on host:5432", {}, diff_snapshots(base(), to)};
  const std::string text = render_diff_text(report, 80);
  EXPECT_NE(text.find("widening  policy patient_read on bookings.appointments"), std::string::npos)
      << text;
  EXPECT_NE(text.find("roles: patient -> anon, patient"), std::string::npos) << text;
  EXPECT_NE(text.find("1 changes: 1 widening (0 unproven), 0 narrowing, 0 neutral"),
            std::string::npos);
  const std::string json = render_diff_json(report);
  EXPECT_NE(json.find("\"class\": \"widening\""), std::string::npos);
  const std::string sarif = render_diff_sarif(report);
  EXPECT_NE(sarif.find("\"ruleId\": \"diff_widening\""), std::string::npos);
  EXPECT_NE(sarif.find("\"fullDescription\""), std::string::npos);
  EXPECT_NE(sarif.find("audit-rules.md#diff_narrowing"), std::string::npos);
  EXPECT_THROW(render_diff(report, Format::Html, 80), std::invalid_argument);
}

}  // namespace
