-- Running the booking product on Citus (docs/scale-out.md): one call on the
-- coordinator, bookings.distribute_on_citus(), turns the tables this script
-- created into Citus tables. Nothing here runs on a single node; the function
-- refuses (55000) where Citus is not the coordinator's.
--
-- Why the tables leave the extensions: Citus propagates CREATE EXTENSION to
-- the workers, so every node already holds its own empty copy of each member
-- table, and create_reference_table / create_distributed_table then collide
-- with those copies ("relation ... already exists" on a worker). So each table
-- is dropped from its extension everywhere, the workers' empty copies are
-- dropped, and Citus creates its own shells and shards from the coordinator's
-- definitions (with their policies, triggers and grants).

-- The layout, stated once: what becomes a reference table (a full copy on
-- every node, for small, widely joined data and everything the distributed
-- tables point a foreign key at) and what is distributed by provider_id,
-- co-located, in dependency order.
CREATE FUNCTION bookings.citus_layout()
  RETURNS TABLE (step pg_catalog.int4, relation pg_catalog.regclass, owner_extension pg_catalog.name,
                 kind pg_catalog.text, distribution_column pg_catalog.name)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT l.step, l.relation::pg_catalog.regclass, l.owner_extension::pg_catalog.name, l.kind,
         l.distribution_column::pg_catalog.name
    FROM (VALUES
      (1, 'auth.users', 'careguard', 'reference', NULL),
      (2, 'public.categories', 'careguard_booking', 'reference', NULL),
      (3, 'public.locations', 'careguard_booking', 'reference', NULL),
      (4, 'providers.profiles', 'careguard_booking', 'reference', NULL),
      -- Patient records are reference tables: appointments (distributed by
      -- provider_id) keep their foreign key to them, a provider's policy on
      -- them reads its own appointments on one shard, and one row per
      -- patient stays small. The cost: every node holds the PHI of every
      -- patient (docs/scale-out.md).
      (5, 'patients.profiles', 'careguard_booking', 'reference', NULL),
      (6, 'patients.preferences', 'careguard_booking', 'reference', NULL),
      (7, 'providers.availability', 'careguard_booking', 'distributed', 'provider_id'),
      (8, 'bookings.appointments', 'careguard_booking', 'distributed', 'provider_id'),
      (9, 'bookings.status_history', 'careguard_booking', 'distributed', 'provider_id')
    ) AS l(step, relation, owner_extension, kind, distribution_column)
$fn$;
REVOKE ALL ON FUNCTION bookings.citus_layout() FROM PUBLIC;
COMMENT ON FUNCTION bookings.citus_layout() IS
  'How bookings.distribute_on_citus() lays the booking tables out on Citus: reference or distributed, and by what.';

-- What a worker must agree on with its coordinator, as one comparable text:
-- careguard preloaded, no gateway claims of its own, and a fingerprint of the
-- node secret (never the secret). Superuser only: it reads the secret.
CREATE FUNCTION careguard.citus_node_check()
  RETURNS pg_catalog.text
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT pg_catalog.format('preloaded=%s trust_request_claims=%s node_secret=%s',
           CASE WHEN careguard.is_preloaded() THEN 'yes' ELSE 'no' END,
           pg_catalog.current_setting('careguard.trust_request_claims'),
           CASE WHEN pg_catalog.current_setting('careguard.node_secret') OPERATOR(pg_catalog.=) '' THEN 'none'
                ELSE pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
                       'careguard node secret fingerprint ' OPERATOR(pg_catalog.||)
                       pg_catalog.current_setting('careguard.node_secret'), 'UTF8')), 'hex'), 16) END)
$fn$;
REVOKE ALL ON FUNCTION careguard.citus_node_check() FROM PUBLIC;
COMMENT ON FUNCTION careguard.citus_node_check() IS
  'This node''s careguard set-up for Citus: preload, trust_request_claims, and a fingerprint of careguard.node_secret.';

-- Takes one table (and the sequences it owns, such as an identity's) out of
-- its extension; on a worker (drop_copy) also drops the now unowned empty
-- copy, so Citus can create its own. Idempotent: run_command_on_workers
-- commits on each worker on its own, so a failed distribution is re-run.
-- The sequences go first: a member sequence dropped with CASCADE would
-- take the whole extension with it.
CREATE FUNCTION careguard.citus_release_table(relation_name pg_catalog.text, owner_extension pg_catalog.name,
                                              drop_copy pg_catalog.bool)
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  rel pg_catalog.regclass := pg_catalog.to_regclass(relation_name);
  ext pg_catalog.oid;
  seq record;
BEGIN
  IF rel IS NULL THEN
    RETURN;
  END IF;
  SELECT e.oid INTO ext FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) owner_extension;
  FOR seq IN
    SELECT d.objid::pg_catalog.regclass AS sequence
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid AND c.relkind OPERATOR(pg_catalog.=) 'S'
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) rel
       AND d.deptype OPERATOR(pg_catalog.=) ANY ('{a,i}'::pg_catalog."char"[])
       AND EXISTS (SELECT FROM pg_catalog.pg_depend m
                    WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND m.objid OPERATOR(pg_catalog.=) d.objid
                      AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                      AND m.refobjid OPERATOR(pg_catalog.=) ext
                      AND m.deptype OPERATOR(pg_catalog.=) 'e')
  LOOP
    EXECUTE pg_catalog.format('ALTER EXTENSION %I DROP SEQUENCE %s', owner_extension, seq.sequence);
  END LOOP;
  PERFORM FROM pg_catalog.pg_depend m
   WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
     AND m.objid OPERATOR(pg_catalog.=) rel
     AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
     AND m.refobjid OPERATOR(pg_catalog.=) ext
     AND m.deptype OPERATOR(pg_catalog.=) 'e';
  IF FOUND THEN
    EXECUTE pg_catalog.format('ALTER EXTENSION %I DROP TABLE %s', owner_extension, rel);
  END IF;
  IF drop_copy THEN
    EXECUTE pg_catalog.format('DROP TABLE %s CASCADE', rel);
  END IF;
END
$fn$;
REVOKE ALL ON FUNCTION careguard.citus_release_table(pg_catalog.text, pg_catalog.name, pg_catalog.bool) FROM PUBLIC;
COMMENT ON FUNCTION careguard.citus_release_table(pg_catalog.text, pg_catalog.name, pg_catalog.bool) IS
  'For bookings.distribute_on_citus(): takes a table and its sequences out of their extension (and on a worker drops the copy).';

-- The status history on Citus: the same rows as bookings.record_status_history()
-- writes, one row trigger at a time. On a shard, a statement trigger's
-- transition tables (old_rows, new_rows) are invisible to the INSERT Citus
-- plans for the distributed history table ("could not find named tuplestore");
-- a row's OLD and NEW travel as values. The history row has the
-- appointment's provider_id, so it lands in the co-located shard on the same
-- node. SECURITY DEFINER as the original: nobody else writes the history.
CREATE FUNCTION bookings.record_status_history_row() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  -- The invoker's role, as in bookings.record_status_history().
  actor pg_catalog.text := CASE pg_catalog.current_setting('role')
                             WHEN 'none' THEN SESSION_USER::pg_catalog.text
                             ELSE pg_catalog.current_setting('role') END;
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
    IF NEW.status OPERATOR(pg_catalog.<>) OLD.status THEN
      INSERT INTO bookings.status_history
             (appointment_id, patient_id, provider_id, from_status, to_status, changed_by, changed_by_role)
      VALUES (NEW.id, NEW.patient_id, NEW.provider_id, OLD.status, NEW.status, auth.uid(), actor);
    END IF;
  ELSE
    INSERT INTO bookings.status_history
           (appointment_id, patient_id, provider_id, from_status, to_status, changed_by, changed_by_role)
    VALUES (OLD.id, OLD.patient_id, OLD.provider_id, OLD.status, NULL, auth.uid(), actor);
  END IF;
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.record_status_history_row() FROM PUBLIC;
COMMENT ON FUNCTION bookings.record_status_history_row() IS
  'On Citus, AFTER UPDATE/DELETE row trigger on bookings.appointments in place of bookings.record_status_history().';

-- Checks every worker and lets the request roles log in there (run again
-- after citus_add_node). Citus opens each shard connection as the current
-- user, so the NOLOGIN roles the gateway switches to (patient, provider, ...)
-- must be able to log in on the workers, and on the workers only: pg_hba.conf
-- there must admit them from the coordinator alone (docs/scale-out.md).
-- Every worker must run careguard preloaded, share the coordinator's node
-- secret (a fingerprint is compared, never the secret) and take no gateway
-- claims of its own: identity comes there only from the coordinator's seal.
CREATE FUNCTION bookings.citus_prepare_workers(logins_only pg_catalog.bool DEFAULT false)
  RETURNS pg_catalog.int4
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  w record;
  expected pg_catalog.text;
  workers pg_catalog.int4 := 0;
  logins pg_catalog.bool;
  replaced pg_catalog.bool;
  slot_function pg_catalog.text := 'ALTER FUNCTION bookings.slot_is_available(pg_catalog.uuid, '
    'pg_catalog.timestamptz, pg_catalog.timestamptz) SET citus.allow_nested_distributed_execution = on';
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'bookings.citus_prepare_workers() needs a superuser';
  END IF;
  PERFORM FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus';
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'the citus extension is not installed in this database',
      HINT = 'Run this on a Citus coordinator with citus listed first in shared_preload_libraries.';
  END IF;
  IF NOT pg_catalog.citus_is_coordinator() THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'this is not the Citus coordinator';
  END IF;
  IF pg_catalog.current_setting('careguard.node_secret') OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'careguard.node_secret is not set on the coordinator',
      HINT = 'Without it no identity reaches the workers; set the same secret on every node.';
  END IF;
  expected := pg_catalog.format('preloaded=yes trust_request_claims=off node_secret=%s',
                                pg_catalog.split_part(careguard.citus_node_check(), 'node_secret=', 2));
  FOR w IN EXECUTE $q$
    SELECT r.nodename, r.nodeport, r.success, r.result
      FROM pg_catalog.run_command_on_workers($c$SELECT careguard.citus_node_check()$c$) r
  $q$ LOOP
    IF NOT w.success OR w.result OPERATOR(pg_catalog.<>) expected THEN
      RAISE EXCEPTION USING ERRCODE = '55000',
        MESSAGE = pg_catalog.format('worker %s:%s is not set up for careguard', w.nodename, w.nodeport),
        DETAIL = pg_catalog.format('Expected %s, the worker reports %s.', expected, w.result),
        HINT = 'On every worker: shared_preload_libraries = ''citus,careguard'', the coordinator''s '
               'careguard.node_secret, careguard.trust_request_claims = off; on the coordinator '
               'the same secret.';
    END IF;
    workers := workers OPERATOR(pg_catalog.+) 1;
  END LOOP;
  IF workers OPERATOR(pg_catalog.=) 0 THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'the coordinator has no workers',
      HINT = 'Add them with citus_add_node() first.';
  END IF;
  -- A patient's booking policy asks bookings.slot_is_available(), which reads
  -- providers.availability: on a shard that is a distributed query inside
  -- another. Citus plans none from a SQL function with parameters, and runs
  -- none nested unless allowed. The availability it reads is the co-located
  -- shard on the same node, inside the same transaction, so the nested read
  -- sees what the booking's transaction sees. The function is PL/pgSQL for
  -- this; nesting is allowed for it alone, on every node.
  -- (logins_only: bookings.distribute_on_citus() did this before creating the
  -- shards, whose policies now hold locks on the function in its transaction.)
  IF NOT logins_only THEN
    EXECUTE slot_function;
    EXECUTE 'SELECT pg_catalog.bool_and(r.success) FROM pg_catalog.run_command_on_workers($1) r'
      USING 'SET citus.enable_ddl_propagation = off; ' OPERATOR(pg_catalog.||) slot_function INTO replaced;
    IF replaced IS NOT TRUE THEN
      RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'could not set up bookings.slot_is_available() on every worker';
    END IF;
  END IF;

  -- Citus propagates ALTER ROLE from the coordinator; this one must stay on
  -- the workers.
  EXECUTE $q$
    SELECT pg_catalog.bool_and(r.success) FROM pg_catalog.run_command_on_workers(
      'SET citus.enable_ddl_propagation = off; '
      'ALTER ROLE anon LOGIN; ALTER ROLE authenticated LOGIN; ALTER ROLE service_role LOGIN; '
      'ALTER ROLE patient LOGIN; ALTER ROLE provider LOGIN; ALTER ROLE admin LOGIN; '
      'ALTER ROLE analyst LOGIN') r
  $q$ INTO logins;
  IF logins IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'could not let the request roles log in on every worker';
  END IF;
  -- Citus sends an INSERT to a shard with every column, the defaults it
  -- computed on the coordinator included, so a column-level INSERT grant
  -- (the patient's on appointments, the provider's on availability) refuses
  -- every row there. The coordinator still checks the column grants on the
  -- statement as written; the shards get the table-level INSERT, and their
  -- policies still decide. bookings.distribute_on_citus() creates the shards
  -- with it (logins_only: they are not committed yet); shards a rebalance
  -- creates lack it: run this again after moving shards.
  EXECUTE $q$SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) 2 FROM pg_catalog.pg_dist_partition p
              WHERE p.logicalrelid OPERATOR(pg_catalog.=) ANY ('{bookings.appointments,providers.availability}'::pg_catalog.regclass[])$q$
    INTO logins;
  IF logins AND NOT logins_only THEN
    EXECUTE $q$
      SELECT pg_catalog.bool_and(r.success) FROM (
        SELECT * FROM pg_catalog.run_command_on_shards('bookings.appointments', 'GRANT INSERT ON %s TO patient')
        UNION ALL
        SELECT * FROM pg_catalog.run_command_on_shards('providers.availability', 'GRANT INSERT ON %s TO provider, admin')) r
    $q$ INTO logins;
    IF logins IS NOT TRUE THEN
      RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'could not grant INSERT on the booking shards';
    END IF;
  END IF;
  RETURN workers;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.citus_prepare_workers(pg_catalog.bool) FROM PUBLIC;
COMMENT ON FUNCTION bookings.citus_prepare_workers(pg_catalog.bool) IS
  'On a Citus coordinator: checks every worker''s careguard set-up and lets the request roles log in there. '
  'Run by bookings.distribute_on_citus(), and again after adding a worker.';

-- On a node about to be added as a worker, before citus_add_node: create the
-- extensions here as on the coordinator, then this drops their empty booking
-- tables, which would collide with the shells Citus creates. Refuses (55000)
-- where any of them holds a row or is already a Citus table, so it can never
-- drop data.
CREATE FUNCTION bookings.citus_prepare_new_worker()
  RETURNS pg_catalog.int4
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  t record;
  has_rows pg_catalog.bool;
  dropped pg_catalog.int4 := 0;
BEGIN
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
    EXECUTE 'SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM pg_catalog.pg_dist_partition' INTO has_rows;
    IF has_rows THEN
      RAISE EXCEPTION USING ERRCODE = '55000',
        MESSAGE = 'this node already has Citus tables: it is not a new worker';
    END IF;
  END IF;
  FOR t IN SELECT l.relation::pg_catalog.text AS relation, l.owner_extension FROM bookings.citus_layout() l LOOP
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s)', t.relation) INTO has_rows;
    IF has_rows THEN
      RAISE EXCEPTION USING ERRCODE = '55000',
        MESSAGE = pg_catalog.format('%s holds rows: this node is not a new, empty worker', t.relation);
    END IF;
  END LOOP;
  FOR t IN SELECT l.relation::pg_catalog.text AS relation, l.owner_extension
             FROM bookings.citus_layout() l ORDER BY l.step DESC LOOP
    PERFORM careguard.citus_release_table(t.relation, t.owner_extension, true);
    dropped := dropped OPERATOR(pg_catalog.+) 1;
  END LOOP;
  RETURN dropped;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.citus_prepare_new_worker() FROM PUBLIC;
COMMENT ON FUNCTION bookings.citus_prepare_new_worker() IS
  'On a new, empty node before citus_add_node(): drops the extensions'' empty booking tables, which would collide with '
  'the Citus shells. Refuses where any holds a row.';

CREATE FUNCTION bookings.distribute_on_citus(shard_count pg_catalog.int4 DEFAULT 32)
  RETURNS TABLE (relation pg_catalog.regclass, kind pg_catalog.text, distribution_column pg_catalog.name,
                 shards pg_catalog.int8)
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  t record;
  w record;
  distributed_before pg_catalog.int8;
  dropped pg_catalog.bool;
  fk record;
  foreign_keys pg_catalog.text[] := '{}';
  g record;
  column_grants pg_catalog.text[] := '{}';
  first_distributed pg_catalog.regclass;
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'bookings.distribute_on_citus() needs a superuser';
  END IF;
  PERFORM FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus';
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'bookings.distribute_on_citus() needs the citus extension',
      HINT = 'Run it on a Citus coordinator with citus listed first in shared_preload_libraries.';
  END IF;
  IF NOT pg_catalog.citus_is_coordinator() THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'bookings.distribute_on_citus() runs on the coordinator only';
  END IF;
  EXECUTE 'SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_partition p
            WHERE p.logicalrelid OPERATOR(pg_catalog.=) ANY (SELECT l.relation FROM bookings.citus_layout() l)'
     INTO distributed_before;
  IF distributed_before OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'the booking tables are already Citus tables';
  END IF;
  -- Every worker must run careguard preloaded, share this node's secret (a
  -- fingerprint is compared, never the secret) and take no gateway claims of
  -- its own: there, identity comes only from the coordinator's seal.
  PERFORM bookings.citus_prepare_workers();

  -- Out of the extensions, here and on every worker; the workers' empty
  -- copies go (CASCADE: their foreign keys, policies and triggers).
  FOR t IN SELECT * FROM bookings.citus_layout() l ORDER BY l.step DESC LOOP
    EXECUTE 'SELECT pg_catalog.bool_and(r.success) FROM pg_catalog.run_command_on_workers($1) r'
      USING pg_catalog.format('SELECT careguard.citus_release_table(%L, %L, true)', t.relation, t.owner_extension)
      INTO dropped;
    IF dropped IS NOT TRUE THEN
      RAISE EXCEPTION USING ERRCODE = '55000',
        MESSAGE = pg_catalog.format('could not drop the workers'' copy of %s', t.relation);
    END IF;
    PERFORM careguard.citus_release_table(t.relation::pg_catalog.text, t.owner_extension, false);
  END LOOP;

  -- Foreign keys come off while the tables change hands and go back on at
  -- the end: creating a reference table that local tables still point at
  -- makes Citus convert those into "Citus local" tables on its own.
  FOR fk IN
    SELECT c.conrelid::pg_catalog.regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
      FROM pg_catalog.pg_constraint c
     WHERE c.contype OPERATOR(pg_catalog.=) 'f'
       AND c.conrelid OPERATOR(pg_catalog.=) ANY (SELECT l.relation FROM bookings.citus_layout() l)
     ORDER BY c.conrelid, c.conname
  LOOP
    foreign_keys := foreign_keys OPERATOR(pg_catalog.||)
      pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname, fk.def);
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
  END LOOP;

  -- Unique and exclusion constraints of a distributed table must include its
  -- distribution column: the primary keys become (id, provider_id). An id
  -- stays a random uuid or an identity value, unique in practice, but the
  -- database enforces uniqueness per provider only.
  ALTER TABLE providers.availability DROP CONSTRAINT availability_pkey,
    ADD CONSTRAINT availability_pkey PRIMARY KEY (id, provider_id);
  ALTER TABLE bookings.appointments DROP CONSTRAINT appointments_pkey,
    ADD CONSTRAINT appointments_pkey PRIMARY KEY (id, provider_id);
  ALTER TABLE bookings.status_history DROP CONSTRAINT status_history_pkey,
    ADD CONSTRAINT status_history_pkey PRIMARY KEY (id, provider_id);

  DROP TRIGGER appointments_history_update ON bookings.appointments;
  DROP TRIGGER appointments_history_delete ON bookings.appointments;
  CREATE TRIGGER appointments_history_update AFTER UPDATE ON bookings.appointments
    FOR EACH ROW EXECUTE FUNCTION bookings.record_status_history_row();
  CREATE TRIGGER appointments_history_delete AFTER DELETE ON bookings.appointments
    FOR EACH ROW EXECUTE FUNCTION bookings.record_status_history_row();

  -- The booking tables have row triggers (updated_at, the state machine,
  -- the per-provider booking lock, the history); they run on the shards.
  PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
  -- Column-level INSERT grants become table-level ones for the shards'
  -- sake (bookings.citus_prepare_workers() says why); the statements that
  -- restore them on the coordinator's tables are kept for the end.
  FOR g IN
    SELECT a.attrelid::pg_catalog.regclass AS rel, x.grantee::pg_catalog.regrole AS grantee,
           pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) AS cols
      FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x
     WHERE a.attrelid OPERATOR(pg_catalog.=) ANY ('{bookings.appointments,providers.availability}'::pg_catalog.regclass[])
       AND x.privilege_type OPERATOR(pg_catalog.=) 'INSERT'
     GROUP BY a.attrelid, x.grantee
  LOOP
    EXECUTE pg_catalog.format('GRANT INSERT ON %s TO %s', g.rel, g.grantee);
    column_grants := column_grants OPERATOR(pg_catalog.||) ARRAY[
      pg_catalog.format('REVOKE INSERT ON %s FROM %s', g.rel, g.grantee),
      pg_catalog.format('GRANT INSERT (%s) ON %s TO %s', g.cols, g.rel, g.grantee)];
  END LOOP;
  -- Foreign keys to reference tables are created in the same transaction as
  -- the shards: Citus needs one connection per node for that.
  PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
  FOR t IN SELECT * FROM bookings.citus_layout() l ORDER BY l.step LOOP
    IF t.kind OPERATOR(pg_catalog.=) 'reference' THEN
      EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING t.relation;
    ELSIF first_distributed IS NULL THEN
      EXECUTE 'SELECT pg_catalog.create_distributed_table($1, $2, shard_count => $3, colocate_with => ''none'')'
        USING t.relation, t.distribution_column, shard_count;
      first_distributed := t.relation;
    ELSE
      EXECUTE 'SELECT pg_catalog.create_distributed_table($1, $2, colocate_with => $3)'
        USING t.relation, t.distribution_column, first_distributed::pg_catalog.text;
    END IF;
    -- The rows now live in the shards; the coordinator's copy is dead weight.
    EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING t.relation;
  END LOOP;
  -- Every key points at a reference table, which Citus allows.
  FOR i IN 1 .. pg_catalog.cardinality(foreign_keys) LOOP
    EXECUTE foreign_keys[i];
  END LOOP;
  -- The coordinator's tables get their column-level INSERT grants back; the
  -- shards keep the table-level one (see bookings.citus_prepare_workers()).
  PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
  FOR i IN 1 .. pg_catalog.cardinality(column_grants) LOOP
    EXECUTE column_grants[i];
  END LOOP;
  PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'on', true);
  -- Again: distributing the tables made Citus copy the roles they are
  -- granted to onto the workers as they are on the coordinator (NOLOGIN).
  PERFORM bookings.citus_prepare_workers(logins_only => true);

  RETURN QUERY EXECUTE $q$
    SELECT l.relation, l.kind, l.distribution_column,
           (SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_shard s
             WHERE s.logicalrelid OPERATOR(pg_catalog.=) l.relation)
      FROM bookings.citus_layout() l ORDER BY l.step
  $q$;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.distribute_on_citus(pg_catalog.int4) FROM PUBLIC;
COMMENT ON FUNCTION bookings.distribute_on_citus(pg_catalog.int4) IS
  'On a Citus coordinator: makes the booking tables Citus tables (reference, or distributed by provider_id and '
  'co-located), after checking every worker runs careguard with the cluster''s node secret. See docs/scale-out.md.';
