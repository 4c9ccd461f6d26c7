#!/usr/bin/perl
# Normalizes `pg_dump --binary-upgrade --schema-only` output for comparing
# two databases' extension contents: binary-upgrade mode is the pg_dump mode
# that writes extension member objects (a plain dump writes only CREATE
# EXTENSION). Removes what differs between equal schemas: OIDs, xids, the
# \restrict key, extension config OID lists (compared by name in
# careguard.catalogue_snapshot()), and the placeholders of dropped columns.
# With --unordered-columns it also sorts each CREATE TABLE's column lines,
# for a downgrade that adds a column back (it comes last).
use strict;
use warnings;
my $unordered = @ARGV && $ARGV[0] eq '--unordered-columns' ? shift @ARGV : 0;
local $/;
my $d = <STDIN>;
$d =~ s/^\\(?:un)?restrict .*\n//mg;
$d =~ s/^SELECT pg_catalog\.binary_upgrade_set_next_[^\n]*\n//mg;
$d =~ s/^-- For binary upgrade, [^\n]*\n//mg;
$d =~ s/^UPDATE pg_catalog\.pg_class\nSET relfrozenxid = [^\n]*\nWHERE oid = [^\n]*\n//mg;
$d =~ s/^UPDATE pg_catalog\.pg_attribute\nSET attlen = [^\n]*\nWHERE attname = '\.+pg\.dropped\.\d+\.+'\n[^\n]*\n//mg;
$d =~ s/^ALTER TABLE ONLY \S+ DROP COLUMN "\.+pg\.dropped\.\d+\.+";\n//mg;
$d =~ s/^    "\.+pg\.dropped\.\d+\.+" [^\n]*\n//mg;
$d =~ s/^(SELECT pg_catalog\.binary_upgrade_create_empty_extension\('[^']*', '[^']*', \w+, '[^']*'),[^\n]*\n/$1, ...);\n/mg;
$d =~ s/^-- set missing value\.\n\n?//mg;
$d =~ s/^SELECT pg_catalog\.binary_upgrade_set_missing_value\([^\n]*\n//mg;
# A dropped last column leaves a comma before the closing parenthesis.
$d =~ s/,\n\)/\n)/g;
if ($unordered) {
  # pg_dump writes column privileges in column order too: those entries go,
  # and test/migrations/catalogue.sql compares them by column name.
  $d =~ s/^--\n-- Name: COLUMN [^\n]*; Type: ACL;[^\n]*\n--\n.*?(?=^--\n-- Name: |\z)//msg;
  $d =~ s{^(CREATE TABLE [^\n]* \(\n)(.*?)(\n\)[^\n]*;)$}{
    my ($head, $body, $tail) = ($1, $2, $3);
    my @lines = map { s/,$//r } split /\n/, $body;
    $head . join(",\n", sort @lines) . $tail
  }msge;
}
$d =~ s/\n{3,}/\n\n/g;
print $d;
