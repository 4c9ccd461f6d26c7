-- The disclosure ledger (docs/audit-trail.md): which statement disclosed or
-- changed which patients' rows, written by a background writer from a spool
-- file that survives the statement's transaction, hash-chained, append-only.

-- Tables whose rows belong to one patient each, with the column naming that
-- patient. Registered by whoever owns them (careguard_booking registers its
-- own; builtin rows are re-created by a product's install script and not
-- dumped). Distinct from audit_phi_schemas, which names whole schemas for the
-- policy audit: a PHI table names the patient key the ledger records.
CREATE TABLE careguard.phi_tables (
  relid pg_catalog.regclass PRIMARY KEY,
  patient_column name NOT NULL,
  builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE careguard.phi_tables IS
  'Tables the disclosure ledger watches, with the uuid column naming each row''s patient.';
SELECT pg_catalog.pg_extension_config_dump('careguard.phi_tables', 'WHERE NOT builtin');
ALTER TABLE careguard.phi_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.phi_tables FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.phi_tables FROM PUBLIC;
GRANT SELECT ON careguard.phi_tables TO careguard_auditor;
CREATE POLICY phi_tables_auditor_read ON careguard.phi_tables
  FOR SELECT TO careguard_auditor USING (true);

-- Every backend caches the registry (and audit_phi_schemas); a change tells
-- them at commit through a relcache invalidation of the changed table.
CREATE FUNCTION careguard.phi_registry_changed() RETURNS trigger
  LANGUAGE c VOLATILE PARALLEL UNSAFE
  AS 'MODULE_PATHNAME', 'careguard_phi_registry_changed';
REVOKE ALL ON FUNCTION careguard.phi_registry_changed() FROM PUBLIC;
CREATE TRIGGER phi_tables_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON careguard.phi_tables FOR EACH STATEMENT EXECUTE FUNCTION careguard.phi_registry_changed();
CREATE TRIGGER audit_phi_schemas_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON careguard.audit_phi_schemas FOR EACH STATEMENT EXECUTE FUNCTION careguard.phi_registry_changed();

-- Registers a table and its patient column (a uuid). Idempotent; forgets
-- registrations of tables that no longer exist. Its schema becomes a PHI
-- schema for the audit too, so the two registries never disagree.
CREATE FUNCTION careguard.register_phi(relation pg_catalog.regclass, patient_column name,
                                       builtin boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $register$
BEGIN
  PERFORM FROM pg_catalog.pg_attribute a
    WHERE a.attrelid OPERATOR(pg_catalog.=) relation
      AND a.attname OPERATOR(pg_catalog.=) register_phi.patient_column
      AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0
      AND a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::pg_catalog.regtype;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table % has no uuid column "%"', relation, patient_column
      USING ERRCODE = '42703';
  END IF;
  DELETE FROM careguard.phi_tables t
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.relid);
  INSERT INTO careguard.phi_tables AS t (relid, patient_column, builtin)
  VALUES (relation, register_phi.patient_column, register_phi.builtin)
  ON CONFLICT ON CONSTRAINT phi_tables_pkey
    DO UPDATE SET patient_column = excluded.patient_column, builtin = excluded.builtin;
  PERFORM careguard.register_phi_schema(
    (SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n
       ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) relation),
    register_phi.builtin);
END
$register$;
REVOKE ALL ON FUNCTION careguard.register_phi(pg_catalog.regclass, name, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.register_phi(pg_catalog.regclass, name, boolean) IS
  'Puts a table under the disclosure ledger: every statement reading or changing it is recorded with the patient ids in patient_column.';

-- The ledger. One row per record, in the writer's order (seq); partitioned by
-- month of the writer's clock (ingested_at), so that retention drops whole
-- months. `record` is the exact JSON text the hash covers; kind and
-- patient_ids are derived from it for indexing, and verify_ledger checks that
-- they still agree with it.
CREATE TABLE careguard.ledger (
  seq bigint NOT NULL,
  ingested_at timestamptz NOT NULL,
  kind text NOT NULL,
  patient_ids uuid[] NOT NULL,
  record text NOT NULL,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL
) PARTITION BY RANGE (ingested_at);
-- No key or index on the partitioned table: each month has a unique index
-- on seq and a GIN index on patient_ids (ledger_ensure_month). One on the
-- parent would be restored twice for a month (pg_dump re-creates a
-- non-member partition's, and ATTACH has already copied the extension's),
-- and the restore would fail.
-- A record that lists many patients passes the 2 kB TOAST threshold: lz4
-- compresses it at a fraction of pglz's cost to the writer (measured in
-- bench/ledger.sh's dashboard); a server built without lz4 keeps pglz.
DO $compression$
BEGIN
  ALTER TABLE careguard.ledger ALTER COLUMN record SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'careguard.ledger.record keeps the default compression: this server has no lz4';
END
$compression$;
COMMENT ON TABLE careguard.ledger IS
  'Disclosure ledger: append-only, SHA-256 chained (hash = sha256(prev_hash || be64(seq) || record)).';
SELECT pg_catalog.pg_extension_config_dump('careguard.ledger', '');
ALTER TABLE careguard.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.ledger FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.ledger FROM PUBLIC;
GRANT SELECT ON careguard.ledger TO careguard_auditor;
CREATE POLICY ledger_auditor_read ON careguard.ledger FOR SELECT TO careguard_auditor USING (true);

-- Where the writer stands in this cluster's spool, and the chain's head; one
-- row, made and changed only by the writer (in the same transaction as the
-- rows it adds). Not dumped: a spool position means nothing in another
-- cluster; a restored ledger's chain continues from its last row.
CREATE TABLE careguard.ledger_writer_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  segment bigint NOT NULL,
  spool_offset bigint NOT NULL,
  last_seq bigint NOT NULL,
  last_hash bytea NOT NULL,
  purge_anchor_seq bigint NOT NULL DEFAULT 0,
  purge_anchor_hash bytea
);
-- Registered so that pg_dump knows it, with no rows to dump.
SELECT pg_catalog.pg_extension_config_dump('careguard.ledger_writer_state', 'WHERE false');
ALTER TABLE careguard.ledger_writer_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.ledger_writer_state FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.ledger_writer_state FROM PUBLIC;

-- Append-only: no UPDATE, DELETE or TRUNCATE, for the owner too, except
-- while careguard.ledger_purge() drops expired months.
CREATE FUNCTION careguard.ledger_refuse_change() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $refuse$
BEGIN
  RAISE EXCEPTION 'the disclosure ledger is append-only: % refused', TG_OP
    USING ERRCODE = '42501',
          HINT = 'Expired months are removed only by careguard.ledger_purge(), which is itself recorded.';
END
$refuse$;
REVOKE ALL ON FUNCTION careguard.ledger_refuse_change() FROM PUBLIC;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON careguard.ledger
  FOR EACH ROW EXECUTE FUNCTION careguard.ledger_refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON careguard.ledger
  FOR EACH STATEMENT EXECUTE FUNCTION careguard.ledger_refuse_change();

-- Dropping a month (or the ledger) outside the purge is undone. A dropped
-- table leaves the registry (its oid could be a new table's one day);
-- SECURITY DEFINER so that the owner of a registered table may drop it.
CREATE FUNCTION careguard.ledger_guard_drop() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $guard$
BEGIN
  IF pg_catalog.current_setting('careguard.ledger_purging', true) OPERATOR(pg_catalog.=) 'on' THEN
    RETURN;
  END IF;
  PERFORM FROM pg_catalog.pg_event_trigger_dropped_objects() d
    WHERE d.object_type OPERATOR(pg_catalog.=) 'table' AND d.schema_name OPERATOR(pg_catalog.=) 'careguard'
      AND d.object_name OPERATOR(pg_catalog.~) '^ledger(_y[0-9]{4}m[0-9]{2})?$';
  -- DROP EXTENSION careguard takes the ledger with it (its row is gone by now).
  IF FOUND AND EXISTS (SELECT FROM pg_catalog.pg_extension e
                         WHERE e.extname OPERATOR(pg_catalog.=) 'careguard') THEN
    RAISE EXCEPTION 'the disclosure ledger''s months are dropped only by careguard.ledger_purge()'
      USING ERRCODE = '42501';
  END IF;
  IF pg_catalog.to_regclass('careguard.phi_tables') IS NULL THEN
    RETURN;
  END IF;
  -- Only when a registered table went: a DELETE invalidates every backend's registry.
  PERFORM FROM careguard.phi_tables p JOIN pg_catalog.pg_event_trigger_dropped_objects() d
      ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
     AND d.objsubid OPERATOR(pg_catalog.=) 0 AND p.relid::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
  IF FOUND THEN
    DELETE FROM careguard.phi_tables p USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND p.relid::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
  END IF;
END
$guard$;
REVOKE ALL ON FUNCTION careguard.ledger_guard_drop() FROM PUBLIC;
CREATE EVENT TRIGGER careguard_ledger_guard_drop ON sql_drop
  EXECUTE FUNCTION careguard.ledger_guard_drop();

-- One link of the chain, computed by the core (OpenSSL SHA-256).
CREATE FUNCTION careguard.ledger_link(prev_hash bytea, seq bigint, record text) RETURNS bytea
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'careguard_ledger_link';
REVOKE ALL ON FUNCTION careguard.ledger_link(bytea, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.ledger_link(bytea, bigint, text) TO careguard_auditor;

-- Appends an event of careguard's own (break-glass, purge) to the spool:
-- it outlives the caller's transaction like every other record.
CREATE FUNCTION careguard.ledger_append(kind text, detail jsonb, patient_id uuid DEFAULT NULL)
  RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE
  AS 'MODULE_PATHNAME', 'careguard_ledger_append';
REVOKE ALL ON FUNCTION careguard.ledger_append(text, jsonb, uuid) FROM PUBLIC;

-- Waits until every record spooled so far is in careguard.ledger (or the
-- timeout passes: 57014). For reviews and tests that must see the latest.
CREATE FUNCTION careguard.ledger_flush(timeout_ms integer DEFAULT 10000) RETURNS bigint
  LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
  AS 'MODULE_PATHNAME', 'careguard_ledger_flush';
REVOKE ALL ON FUNCTION careguard.ledger_flush(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.ledger_flush(integer) TO careguard_auditor;

-- The head of the chain: publish it outside the database (a ticket, a
-- notary, a printed report); verify_ledger() checks a later ledger against it.
CREATE FUNCTION careguard.ledger_head(OUT seq bigint, OUT hash text, OUT ingested_at timestamptz)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $head$
  SELECT l.seq, pg_catalog.encode(l.hash, 'hex'), l.ingested_at
    FROM careguard.ledger l ORDER BY l.seq DESC LIMIT 1
$head$;
REVOKE ALL ON FUNCTION careguard.ledger_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.ledger_head() TO careguard_auditor;

-- The partitions of the month of `at` and of the next one, made by the
-- writer ahead of need. Created apart and attached (ATTACH takes SHARE
-- UPDATE EXCLUSIVE on the ledger, so readers never hold the writer up, as
-- CREATE TABLE ... PARTITION OF's ACCESS EXCLUSIVE would).
CREATE FUNCTION careguard.ledger_ensure_month(at timestamptz) RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $month$
DECLARE
  first_day timestamp;
  name text;
BEGIN
  FOR step IN 0..1 LOOP
    first_day := pg_catalog.date_trunc('month', at AT TIME ZONE 'UTC')
                 OPERATOR(pg_catalog.+) pg_catalog.make_interval(months => step);
    name := pg_catalog.to_char(first_day, '"ledger_y"YYYY"m"MM');
    CONTINUE WHEN pg_catalog.to_regclass('careguard.' OPERATOR(pg_catalog.||) name) IS NOT NULL;
    EXECUTE pg_catalog.format('CREATE TABLE careguard.%I (LIKE careguard.ledger INCLUDING COMPRESSION)', name);
    EXECUTE pg_catalog.format('CREATE UNIQUE INDEX %I ON careguard.%I (seq)',
                              name OPERATOR(pg_catalog.||) '_seq_key', name);
    EXECUTE pg_catalog.format('CREATE INDEX %I ON careguard.%I USING gin (patient_ids)',
                              name OPERATOR(pg_catalog.||) '_patient_ids_idx', name);
    -- careguard's own events (break-glass, reviews, purges), which reviews look up by kind.
    EXECUTE pg_catalog.format('CREATE INDEX %I ON careguard.%I (kind) WHERE kind OPERATOR(pg_catalog.<>) ''access''',
                              name OPERATOR(pg_catalog.||) '_events_idx', name);
    EXECUTE pg_catalog.format('REVOKE ALL ON careguard.%I FROM PUBLIC', name);
    EXECUTE pg_catalog.format('ALTER TABLE careguard.%I ENABLE ROW LEVEL SECURITY', name);
    EXECUTE pg_catalog.format('ALTER TABLE careguard.%I FORCE ROW LEVEL SECURITY', name);
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON careguard.%I '
      'FOR EACH STATEMENT EXECUTE FUNCTION careguard.ledger_refuse_change()', name);
    EXECUTE pg_catalog.format(
      'ALTER TABLE careguard.ledger ATTACH PARTITION careguard.%I FOR VALUES FROM (%L) TO (%L)',
      name, first_day::pg_catalog.text OPERATOR(pg_catalog.||) '+00',
      (first_day OPERATOR(pg_catalog.+) '1 month'::pg_catalog.interval)::pg_catalog.text
        OPERATOR(pg_catalog.||) '+00');
  END LOOP;
END
$month$;
REVOKE ALL ON FUNCTION careguard.ledger_ensure_month(timestamptz) FROM PUBLIC;

-- Walks the chain in seq order and reports the first bad position:
--   deleted  (a seq is missing, or the ledger starts after 1 without a purge anchor),
--   relinked (prev_hash is not the previous row's hash: rows moved or replaced),
--   edited   (the record, its seq or its hash changed, or the indexed columns
--             disagree with the record),
--   malformed (a record that is not JSON, or lists an id that is not a uuid),
--   truncated / head mismatch (against a head published earlier).
CREATE FUNCTION careguard.verify_ledger(published_seq bigint DEFAULT NULL,
                                        published_hash text DEFAULT NULL)
  RETURNS TABLE (ok boolean, checked bigint, first_bad_seq bigint, problem text)
  -- PARALLEL UNSAFE: its exception block is a subtransaction, which parallel
  -- mode forbids.
  LANGUAGE plpgsql STABLE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $verify$
DECLARE
  r record;
  prev bytea;
  expected bigint;
  n bigint := 0;
  anchor_seq bigint;
  anchor bytea;
  head_hash bytea;
BEGIN
  SELECT (l.record::jsonb OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'through_seq')::bigint,
         pg_catalog.decode(l.record::jsonb OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'anchor_hash', 'hex')
    INTO anchor_seq, anchor
    FROM careguard.ledger l WHERE l.kind OPERATOR(pg_catalog.=) 'purge'
    ORDER BY l.seq DESC LIMIT 1;
  -- One block around the whole loop (not one per row, each a subtransaction):
  -- a record that is not JSON, or lists a patient id that is not a uuid,
  -- ends the check there.
  BEGIN
    FOR r IN SELECT l.seq, l.kind, l.patient_ids, l.record, l.prev_hash, l.hash
               FROM careguard.ledger l ORDER BY l.seq LOOP
      IF expected IS NULL THEN
        IF r.seq OPERATOR(pg_catalog.=) 1 THEN
          prev := pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex');
        ELSIF anchor_seq IS NOT NULL AND r.seq OPERATOR(pg_catalog.=) (anchor_seq OPERATOR(pg_catalog.+) 1) THEN
          prev := anchor;
        ELSE
          RETURN QUERY SELECT false, n, COALESCE(anchor_seq OPERATOR(pg_catalog.+) 1, 1::bigint),
            pg_catalog.format('deleted: the ledger starts at seq %s', r.seq);
          RETURN;
        END IF;
        expected := r.seq;
      END IF;
      IF r.seq OPERATOR(pg_catalog.<>) expected THEN
        RETURN QUERY SELECT false, n, expected, pg_catalog.format('deleted: seq %s is missing', expected);
        RETURN;
      END IF;
      IF r.prev_hash OPERATOR(pg_catalog.<>) prev THEN
        RETURN QUERY SELECT false, n, r.seq,
          pg_catalog.format('relinked: seq %s does not follow seq %s', r.seq, r.seq OPERATOR(pg_catalog.-) 1);
        RETURN;
      END IF;
      IF careguard.ledger_link(prev, r.seq, r.record) OPERATOR(pg_catalog.<>) r.hash THEN
        RETURN QUERY SELECT false, n, r.seq, pg_catalog.format('edited: seq %s does not hash to its stored value', r.seq);
        RETURN;
      END IF;
      IF r.kind OPERATOR(pg_catalog.<>) COALESCE(r.record::jsonb OPERATOR(pg_catalog.->>) 'kind', 'unknown')
         OR r.patient_ids OPERATOR(pg_catalog.<>) COALESCE(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(
              r.record::jsonb OPERATOR(pg_catalog.->) 'patient_ids'))::uuid[], '{}') THEN
        RETURN QUERY SELECT false, n, r.seq,
          pg_catalog.format('edited: the kind or patient_ids of seq %s disagree with its record', r.seq);
        RETURN;
      END IF;
      prev := r.hash;
      expected := expected OPERATOR(pg_catalog.+) 1;
      n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;
  EXCEPTION WHEN invalid_text_representation THEN
    RETURN QUERY SELECT false, n, r.seq, pg_catalog.format('malformed: seq %s is not a well-formed record', r.seq);
    RETURN;
  END;
  IF published_seq IS NOT NULL THEN
    IF expected IS NULL OR published_seq OPERATOR(pg_catalog.>=) expected THEN
      RETURN QUERY SELECT false, n, COALESCE(expected, 1::bigint),
        pg_catalog.format('truncated: the published head seq %s is not in the ledger', published_seq);
      RETURN;
    END IF;
    SELECT l.hash INTO head_hash FROM careguard.ledger l WHERE l.seq OPERATOR(pg_catalog.=) published_seq;
    IF head_hash IS NULL OR pg_catalog.encode(head_hash, 'hex') OPERATOR(pg_catalog.<>) published_hash THEN
      RETURN QUERY SELECT false, n, published_seq,
        pg_catalog.format('head mismatch: seq %s no longer has the published hash', published_seq);
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT true, n, NULL::bigint, NULL::text;
END
$verify$;
REVOKE ALL ON FUNCTION careguard.verify_ledger(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.verify_ledger(bigint, text) TO careguard_auditor;

-- Retention: drops the months that ended more than
-- careguard.ledger_retention_months ago (default 72: HIPAA's six years) and
-- records the purge, with the hash of the last dropped row as the anchor
-- verify_ledger() starts from. The only path that removes ledger rows.
CREATE FUNCTION careguard.ledger_purge() RETURNS integer
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $purge$
DECLARE
  keep_from timestamp := pg_catalog.date_trunc('month',
    (pg_catalog.now() AT TIME ZONE 'UTC') OPERATOR(pg_catalog.-)
    pg_catalog.make_interval(months => pg_catalog.current_setting('careguard.ledger_retention_months')::integer));
  month record;
  dropped text[] := '{}';
  through bigint;
  anchor bytea;
BEGIN
  PERFORM pg_catalog.set_config('careguard.ledger_purging', 'on', true);
  FOR month IN
    SELECT c.relname FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
     WHERE i.inhparent OPERATOR(pg_catalog.=) 'careguard.ledger'::pg_catalog.regclass
       AND c.relname OPERATOR(pg_catalog.~) '^ledger_y[0-9]{4}m[0-9]{2}$'
       AND pg_catalog.to_timestamp(pg_catalog.substr(c.relname, 9, 4) OPERATOR(pg_catalog.||)
             pg_catalog.substr(c.relname, 14, 2), 'YYYYMM')::timestamp
           OPERATOR(pg_catalog.+) '1 month'::pg_catalog.interval OPERATOR(pg_catalog.<=) keep_from
     ORDER BY c.relname
  LOOP
    EXECUTE pg_catalog.format('SELECT l.seq, l.hash FROM careguard.%I l ORDER BY l.seq DESC LIMIT 1',
                              month.relname) INTO through, anchor;
    EXECUTE pg_catalog.format('DROP TABLE careguard.%I', month.relname);
    dropped := dropped OPERATOR(pg_catalog.||) month.relname::text;
  END LOOP;
  PERFORM pg_catalog.set_config('careguard.ledger_purging', 'off', true);
  IF pg_catalog.cardinality(dropped) OPERATOR(pg_catalog.>) 0 THEN
    PERFORM careguard.ledger_append('purge', pg_catalog.jsonb_build_object(
      'months', dropped, 'through_seq', through, 'anchor_hash', pg_catalog.encode(anchor, 'hex'),
      'retention_months', pg_catalog.current_setting('careguard.ledger_retention_months')::integer));
  END IF;
  RETURN pg_catalog.cardinality(dropped);
END
$purge$;
REVOKE ALL ON FUNCTION careguard.ledger_purge() FROM PUBLIC;
COMMENT ON FUNCTION careguard.ledger_purge() IS
  'Drops ledger months older than careguard.ledger_retention_months (default 72) and records the purge.';
