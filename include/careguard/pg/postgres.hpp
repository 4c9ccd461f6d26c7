// careguard adapter: the one place PostgreSQL's C headers enter C++.
// Included last in adapter files only: port.h redefines printf/snprintf and
// c.h defines _(x), which must not leak into standard or core headers.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "utils/uuid.h"
}

// careguard reads guc.c's internal records (utils/guc_tables.h: the GUC
// stack, config_generic) whose layout changes between major versions.
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "careguard is built for PostgreSQL 15 only: it relies on the layout of utils/guc_tables.h"
#endif
