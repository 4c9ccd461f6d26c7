-- careguard_booking 0.4.0 -> 0.3.0: removes the Citus functions. A database
-- whose tables bookings.distribute_on_citus() has already distributed cannot
-- go back: its tables left the extension and live in Citus's shards.
DROP FUNCTION bookings.distribute_on_citus(pg_catalog.int4);
DROP FUNCTION bookings.citus_prepare_workers(pg_catalog.bool);
DROP FUNCTION bookings.citus_prepare_new_worker();
DROP FUNCTION bookings.record_status_history_row();
DROP FUNCTION careguard.citus_release_table(pg_catalog.text, pg_catalog.name, pg_catalog.bool);
DROP FUNCTION careguard.citus_node_check();
DROP FUNCTION bookings.citus_layout();
