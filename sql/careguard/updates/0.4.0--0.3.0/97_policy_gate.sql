-- 0.4.0 -> 0.3.0: 0.3.0 has no policy gate record. Its rows are an audit
-- trail: a downgrade that would lose them refuses.
DO $keep_exceptions$
DECLARE
  recorded bigint := 0;
BEGIN
  IF pg_catalog.to_regclass('careguard.policy_gap_exceptions') IS NOT NULL THEN
    EXECUTE 'SELECT pg_catalog.count(*) FROM careguard.policy_gap_exceptions' INTO recorded;
  END IF;
  IF recorded OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION 'downgrading careguard to 0.3.0 would drop % recorded policy gap exceptions', recorded
      USING ERRCODE = '2BP01',
            HINT = 'Copy careguard.policy_gap_exceptions elsewhere and empty it first.';
  END IF;
END
$keep_exceptions$;
-- Taken out of the extension first: that is what removes them from
-- pg_extension.extconfig (a plain DROP TABLE leaves their oids there).
ALTER EXTENSION careguard DROP SEQUENCE careguard.policy_gap_exceptions_id_seq;
ALTER EXTENSION careguard DROP TABLE careguard.policy_gap_exceptions;
-- Empty (refused above otherwise):
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.policy_gap_exceptions;
