#!/usr/bin/perl
# careguard: checks META.json against the PGXN Meta Spec 1.0.0
# (https://pgxn.org/spec/): the required keys and their forms, and that it
# agrees with the tree: one provided extension per *.control, each at its
# control file's default_version, with files that exist once `make` ran.
use strict;
use warnings;
use JSON::PP;

my $root = shift // '.';
my @errors;
sub error { push @errors, join('', @_) }

open my $fh, '<', "$root/META.json" or die "META.json: $!\n";
my $meta = eval { JSON::PP->new->decode(do { local $/; <$fh> }) };
die "META.json is not valid JSON: $@" unless $meta;

my $semver = qr/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+)?$/;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd
  freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1
  openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);
my %known = map { $_ => 1 } qw(name version abstract maintainer license provides meta-spec
  description generated_by no_index prereqs release_status resources tags);

for my $key (qw(name version abstract maintainer license provides meta-spec)) {
  error("missing required key \"$key\"") unless exists $meta->{$key};
}
for my $key (keys %$meta) {
  error("unknown key \"$key\" (custom keys start with x_ or X_)")
    unless $known{$key} || $key =~ /^[xX]_/;
}
error("name must be 2+ characters without /, \\, control characters or spaces")
  unless ($meta->{name} // '') =~ m{^[^/\\\s[:cntrl:]]{2,}$};
error("version \"$meta->{version}\" is not a semantic version") unless ($meta->{version} // '') =~ $semver;
error("abstract must be a non-empty string") unless ref(\$meta->{abstract}) eq 'SCALAR' && $meta->{abstract} ne '';
my $maintainer = $meta->{maintainer};
error("maintainer must be a string or a list of strings")
  unless (defined $maintainer && !ref $maintainer) || (ref $maintainer eq 'ARRAY' && @$maintainer);
error("license \"$meta->{license}\" is not one of the spec's names")
  unless ref $meta->{license} || $licenses{$meta->{license} // ''};
my $spec = $meta->{'meta-spec'} // {};
error("meta-spec version must be 1.0.0") unless ($spec->{version} // '') eq '1.0.0';
if (exists $meta->{release_status}) {
  error("release_status must be stable, testing or unstable")
    unless $meta->{release_status} =~ /^(stable|testing|unstable)$/;
}
if (exists $meta->{tags}) {
  error("tags must be a list of strings under 256 characters")
    unless ref $meta->{tags} eq 'ARRAY' && !grep { ref || length >= 256 } @{$meta->{tags}};
}
for my $phase (keys %{$meta->{prereqs} // {}}) {
  error("prereqs phase \"$phase\" is not configure, build, test, runtime or develop")
    unless $phase =~ /^(configure|build|test|runtime|develop)$/;
  for my $relation (keys %{$meta->{prereqs}{$phase}}) {
    error("prereqs relation \"$relation\" is not requires, recommends, suggests or conflicts")
      unless $relation =~ /^(requires|recommends|suggests|conflicts)$/;
    while (my ($name, $version) = each %{$meta->{prereqs}{$phase}{$relation}}) {
      error("prereq $name: version \"$version\" is neither 0 nor a version")
        unless $version =~ /^0$/ || $version =~ /^(?:[<>]=?|==|!=)?\s*\d+(\.\d+)*$/;
    }
  }
}

# The tree: every extension its *.control files define, at their versions.
my %controls;
for my $control (glob "$root/*.control") {
  my ($name) = $control =~ m{([^/]+)\.control$};
  open my $c, '<', $control or die "$control: $!\n";
  while (<$c>) { $controls{$name} = $1 if /^default_version\s*=\s*'([^']+)'/ }
}
my $provides = $meta->{provides} // {};
for my $name (sort keys %controls) {
  my $ext = $provides->{$name};
  unless ($ext) { error("provides lacks extension $name"); next }
  error("provides.$name.version $ext->{version} is not its control file's $controls{$name}")
    unless ($ext->{version} // '') eq $controls{$name};
  error("provides.$name.version is not a semantic version") unless ($ext->{version} // '') =~ $semver;
  error("provides.$name.file is required") unless $ext->{file};
  error("provides.$name.file $ext->{file} does not exist (run make)")
    if $ext->{file} && !-e "$root/$ext->{file}";
  error("provides.$name.docfile $ext->{docfile} does not exist")
    if $ext->{docfile} && !-e "$root/$ext->{docfile}";
}
for my $name (sort keys %$provides) {
  error("provides.$name has no $name.control") unless $controls{$name};
}
error("version $meta->{version} is not the extensions' $controls{careguard}")
  if $controls{careguard} && ($meta->{version} // '') ne $controls{careguard};

if (@errors) {
  print "META.json: $_\n" for @errors;
  exit 1;
}
printf "META.json: valid (PGXN Meta Spec 1.0.0), %s %s, provides %s\n", $meta->{name},
  $meta->{version}, join(', ', sort keys %$provides);
