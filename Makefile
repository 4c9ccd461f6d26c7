# careguard: one PGXS build, three extensions.
#   careguard          the platform: auth helpers, verified sign-in, the claims
#                      guard, the audit and the access matrix (careguard.so)
#   careguard_booking  the booking product: concern schemas, policies, demo data
#   careguard_test     pgTAP helpers and the guard self-test (careguard_test.so),
#                      for test databases only
#   make && sudo make install
#   make installcheck     (pg_regress in its own database, against a running server)
EXTENSION   = careguard careguard_booking careguard_test
version_of  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(1).control)
CAREGUARD_VERSION = $(call version_of,careguard)
BOOKING_VERSION   = $(call version_of,careguard_booking)
TEST_VERSION      = $(call version_of,careguard_test)
MODULE_big  = careguard
OBJS        = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp) $(wildcard src/pg/*.cpp)))
# Releases: each extension ships the newest install script (assembled from
# sql/<ext>/NN_*.sql), the oldest supported release's install script frozen
# as it shipped (sql/frozen/<version>/<ext>/), and an upgrade and a downgrade
# script between each pair of neighbouring releases, assembled from the
# pieces in sql/<ext>/updates/<from>--<to>/ (docs/migrations.md).
FROZEN_VERSION = 0.2.0
UPDATE_PATHS   = 0.2.0--0.3.0 0.3.0--0.4.0 0.4.0--0.4.1 0.4.1--0.4.0 0.4.0--0.3.0 0.3.0--0.2.0
NEWEST_SCRIPTS = sql/careguard--$(CAREGUARD_VERSION).sql sql/careguard_booking--$(BOOKING_VERSION).sql \
                 sql/careguard_test--$(TEST_VERSION).sql
FROZEN_SCRIPTS = $(foreach e,$(EXTENSION),sql/$(e)--$(FROZEN_VERSION).sql)
UPDATE_SCRIPTS = $(foreach e,$(EXTENSION),$(foreach p,$(UPDATE_PATHS),sql/$(e)--$(p).sql))
DATA_built  = $(NEWEST_SCRIPTS) $(FROZEN_SCRIPTS) $(UPDATE_SCRIPTS)
TEST_MODULE = careguard_test
TEST_OBJS   = src/test_pg/selftest.o src/pg/guard.o
EXTRA_CLEAN = $(DATA_built) $(addsuffix .tmp,$(UPDATE_SCRIPTS)) build/regress $(TEST_MODULE)$(DLSUFFIX) $(TEST_OBJS)

REGRESS      = $(basename $(notdir $(sort $(wildcard test/regress/sql/*.sql))))
REGRESS_OPTS = --inputdir=test/regress --outputdir=build/regress --dbname=careguard_regress

# -isystem: PostgreSQL's headers are not ours to hold to -Wextra.
PG_CPPFLAGS  = -Iinclude -isystem $(includedir_server)
PG_CXXFLAGS  = -std=c++17 -Wall -Wextra -Werror -Wno-register -Wno-missing-field-initializers -fvisibility-inlines-hidden
SHLIB_LINK   = -lstdc++ -lcrypto

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS also compiles every .cpp to LLVM bitcode with clang for JIT inlining;
# clang needs the same language level and must accept PG15's `register`.
override BITCODE_CXXFLAGS += -std=c++17 -Wno-register -Iinclude

# Each install script is assembled from one file per concern, in name order.
sql/careguard--$(CAREGUARD_VERSION).sql: $(sort $(wildcard sql/careguard/*.sql)) careguard.control
	cat $(sort $(wildcard sql/careguard/*.sql)) > $@
sql/careguard_booking--$(BOOKING_VERSION).sql: $(sort $(wildcard sql/careguard_booking/*.sql)) careguard_booking.control
	cat $(sort $(wildcard sql/careguard_booking/*.sql)) > $@
sql/careguard_test--$(TEST_VERSION).sql: $(sort $(wildcard sql/careguard_test/*.sql)) careguard_test.control
	cat $(sort $(wildcard sql/careguard_test/*.sql)) > $@
# The frozen release, byte for byte what its users installed.
$(FROZEN_SCRIPTS): sql/%--$(FROZEN_VERSION).sql: $(wildcard sql/frozen/$(FROZEN_VERSION)/*/*.sql)
	cat $(sort $(wildcard sql/frozen/$(FROZEN_VERSION)/$*/*.sql)) > $@
# Upgrade and downgrade scripts: a guard and the timeouts, then the pieces.
# Any piece may name an install part to take whole (see the script).
$(UPDATE_SCRIPTS): $(wildcard sql/*/updates/*/*) $(wildcard sql/*/*.sql) $(wildcard sql/frozen/*/*/*.sql) \
                   scripts/assemble-update.sh
	scripts/assemble-update.sh $@ > $@.tmp && mv $@.tmp $@

# The test module is a library of its own, so that the production library
# carries no test-only entry point.
all: $(TEST_MODULE)$(DLSUFFIX)
$(TEST_MODULE)$(DLSUFFIX): $(TEST_OBJS)
	$(CXX) $(CXXFLAGS) -shared -o $@ $(TEST_OBJS) $(LDFLAGS) $(LDFLAGS_SL) -lstdc++
install: install-test-module
# The directory too: under make -j this may run before PGXS's installdirs.
install-test-module: $(TEST_MODULE)$(DLSUFFIX)
	$(MKDIR_P) '$(DESTDIR)$(pkglibdir)'
	$(INSTALL_SHLIB) $< '$(DESTDIR)$(pkglibdir)/$(TEST_MODULE)$(DLSUFFIX)'
uninstall: uninstall-test-module
uninstall-test-module:
	rm -f '$(DESTDIR)$(pkglibdir)/$(TEST_MODULE)$(DLSUFFIX)'
.PHONY: install-test-module uninstall-test-module

installcheck: build/regress
build/regress:
	mkdir -p $@

# PGXS tracks no header dependencies; every object depends on every header,
# so a changed class layout can never leave a stale object behind.
$(OBJS) $(TEST_OBJS): $(wildcard include/careguard/*/*.hpp) $(wildcard src/core/*.hpp)
