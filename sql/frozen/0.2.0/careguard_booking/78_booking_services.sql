-- Booking services (issue 14): free slots, provider matching and analytics
-- as database functions, replacing Edge Functions that held the service-role
-- key (BYPASSRLS). Each function discloses a fixed, documented shape of
-- data (docs/data-model.md, "Booking services"); the only code that reads
-- rows past RLS is bookings.busy_time() and the analytics aggregates, all
-- SECURITY DEFINER with search_path pinned and every name and operator
-- qualified. Nothing here is inlinable, so every function pins search_path.

-- The analyst role is made in 10_roles.sql.

-- ---------------------------------------------------------------------------
-- Free slots

-- The one part of slot finding that needs rows RLS hides: when the given
-- providers are busy. It returns the union of live (pending, confirmed)
-- appointments clipped to the window, per provider: adjacent appointments
-- merge, so not even their number shows; never a patient, an id, a reason
-- or a status. SECURITY DEFINER because a patient sees only its own
-- appointments; callable by signed-in users only (free_slots and match run
-- as the caller and call it), and bounded like them: a window of at most
-- 31 days, so at most a month of live appointments is read.
CREATE FUNCTION bookings.busy_time(provider_ids pg_catalog.uuid[], "from" pg_catalog.timestamptz,
                                   "to" pg_catalog.timestamptz)
  RETURNS TABLE (provider_id pg_catalog.uuid, busy pg_catalog.tstzmultirange)
  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  -- The role alone is not an identity (docs/security-model.md).
  IF auth.uid() IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'busy time is for signed-in users: no sub claim';
  END IF;
  IF provider_ids IS NULL OR "from" IS NULL OR "to" IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'provider_ids, from and to must not be NULL';
  END IF;
  PERFORM bookings.check_window("from", "to");
  -- One probe of appointments_no_overlap's GiST index per provider (GiST
  -- takes no = ANY); the status test is that index's predicate, the same
  -- live set.
  RETURN QUERY
  SELECT a.provider_id,
         pg_catalog.range_agg(a.during OPERATOR(pg_catalog.*) pg_catalog.tstzrange("from", "to", '[)'))
    FROM (SELECT DISTINCT u.id FROM pg_catalog.unnest(provider_ids) AS u(id)) AS pid
    JOIN bookings.appointments a ON a.provider_id OPERATOR(pg_catalog.=) pid.id
   WHERE a.during OPERATOR(pg_catalog.&&) pg_catalog.tstzrange("from", "to", '[)')
     AND a.status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'confirmed']::bookings.appointment_status[])
   GROUP BY a.provider_id;
END
$fn$;

-- What every window must be, slots' (timestamptz) or analytics' (date):
-- both ends given and finite, the end after the start. STABLE, not
-- IMMUTABLE: its messages render the ends in the session's TimeZone/DateStyle.
CREATE FUNCTION bookings.check_period("from" anyelement, "to" anyelement)
  RETURNS void
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF "from" IS NULL OR "to" IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'from and to must not be NULL';
  END IF;
  IF pg_catalog.isfinite("from") IS NOT TRUE OR pg_catalog.isfinite("to") IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'from and to must be finite';
  END IF;
  IF "to" OPERATOR(pg_catalog.<=) "from" THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = pg_catalog.format('empty window: to (%s) is not after from (%s)', "to", "from");
  END IF;
END
$fn$;

-- Shared checks of a slot search window.
CREATE FUNCTION bookings.check_window("from" pg_catalog.timestamptz, "to" pg_catalog.timestamptz)
  RETURNS void
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  PERFORM bookings.check_period("from", "to");
  IF "to" OPERATOR(pg_catalog.>) ("from" OPERATOR(pg_catalog.+) '31 days'::pg_catalog.interval) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'window too large: at most 31 days',
      HINT = 'Page through longer periods window by window.';
  END IF;
END
$fn$;

-- A bookable length: what appointments_time_check accepts (0 < length <=
-- 8 hours), as pure clock time (a "day" is 23 or 25 hours across a DST
-- change), and at least 5 minutes, which bounds a 31-day answer to 8,928
-- slots. STABLE: the message renders the interval in the session's IntervalStyle.
CREATE FUNCTION bookings.check_duration(duration pg_catalog.interval)
  RETURNS void
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF duration IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'duration must not be NULL';
  END IF;
  IF pg_catalog.date_part('month', duration) OPERATOR(pg_catalog.<>) 0
     OR pg_catalog.date_part('year', duration) OPERATOR(pg_catalog.<>) 0
     OR pg_catalog.date_part('day', duration) OPERATOR(pg_catalog.<>) 0
     OR duration OPERATOR(pg_catalog.<) '5 minutes'::pg_catalog.interval
     OR duration OPERATOR(pg_catalog.>) '8 hours'::pg_catalog.interval THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = pg_catalog.format('invalid duration %s: between 5 minutes and 8 hours, in hours and minutes', duration);
  END IF;
END
$fn$;

-- Slots: for each availability range, a grid of duration-long slots from
-- the range's start (lower + k*duration); a slot is returned when it lies in
-- [max(from, now()), to), inside the range (so inside one range, as
-- slot_is_available demands), and overlaps no live appointment (as
-- appointments_no_overlap demands). Computed per free part of each range,
-- not per candidate: the first grid point of a part is found in integer
-- microseconds, so a long range costs no more than a short one.
-- Runs as the caller: availability is the caller's to read (policy
-- availability_select_signed_in); busy_time() is the definer part.
CREATE FUNCTION bookings.free_slots(provider_id pg_catalog.uuid, "from" pg_catalog.timestamptz,
                                    "to" pg_catalog.timestamptz, duration pg_catalog.interval)
  RETURNS TABLE (starts_at pg_catalog.timestamptz, ends_at pg_catalog.timestamptz)
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  lo pg_catalog.timestamptz;
BEGIN
  IF free_slots.provider_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'provider_id must not be NULL';
  END IF;
  PERFORM bookings.check_window("from", "to");
  PERFORM bookings.check_duration(duration);
  -- The directory is public: saying that an id is no provider discloses nothing.
  PERFORM FROM providers.profiles p WHERE p.id OPERATOR(pg_catalog.=) free_slots.provider_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = pg_catalog.format('no provider with id %s', free_slots.provider_id);
  END IF;
  -- Slots in the past are not offered (the INSERT policy does not refuse them).
  lo := GREATEST("from", pg_catalog.now());
  IF lo OPERATOR(pg_catalog.>=) "to" THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT g.s, g.s OPERATOR(pg_catalog.+) duration
    FROM bookings.free_parts(ARRAY[free_slots.provider_id], lo, "to", duration) AS f
   CROSS JOIN LATERAL pg_catalog.generate_series(f.first_start, f.part_end OPERATOR(pg_catalog.-) duration,
                                                 duration) AS g(s)
   ORDER BY 1;
END
$fn$;

-- The free parts of the providers' availability ranges in [lo, hi): each
-- range clipped to the window, minus busy time, with the first point of the
-- range's slot grid (lower(during) + k*step, k >= 0) in the part. k is found
-- in exact integer microseconds (numeric epochs; dividing intervals would
-- round), and step * k is exact for a pure-time step. Runs as the caller.
CREATE FUNCTION bookings.free_parts(provider_ids pg_catalog.uuid[], lo pg_catalog.timestamptz,
                                    hi pg_catalog.timestamptz, step pg_catalog.interval)
  RETURNS TABLE (provider_id pg_catalog.uuid, first_start pg_catalog.timestamptz, part_end pg_catalog.timestamptz)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT av.provider_id,
         pg_catalog.lower(av.during) OPERATOR(pg_catalog.+) (step OPERATOR(pg_catalog.*)
           ((GREATEST(g.delta, 0::pg_catalog.int8) OPERATOR(pg_catalog.+) g.us OPERATOR(pg_catalog.-) 1::pg_catalog.int8)
            OPERATOR(pg_catalog./) g.us)::pg_catalog.float8),
         pg_catalog.upper(part)
    FROM (SELECT DISTINCT u.id FROM pg_catalog.unnest(provider_ids) AS u(id)) AS pid
    JOIN providers.availability av ON av.provider_id OPERATOR(pg_catalog.=) pid.id
    LEFT JOIN bookings.busy_time(provider_ids, lo, hi) AS b
      ON b.provider_id OPERATOR(pg_catalog.=) av.provider_id
   CROSS JOIN LATERAL pg_catalog.unnest(
           pg_catalog.tstzmultirange(av.during OPERATOR(pg_catalog.*) pg_catalog.tstzrange(lo, hi, '[)'))
           OPERATOR(pg_catalog.-) COALESCE(b.busy, '{}'::pg_catalog.tstzmultirange)) AS part
   CROSS JOIN LATERAL (
     SELECT ((pg_catalog.extract('epoch', pg_catalog.lower(part)) OPERATOR(pg_catalog.-)
              pg_catalog.extract('epoch', pg_catalog.lower(av.during)))
             OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 AS delta,
            (pg_catalog.extract('epoch', step) OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric)::pg_catalog.int8 AS us) AS g
   WHERE av.during OPERATOR(pg_catalog.&&) pg_catalog.tstzrange(lo, hi, '[)')
$fn$;


-- ---------------------------------------------------------------------------
-- Provider matching

-- Providers with a free slot in the window, earliest first slot first, then
-- category fit (0: the category itself, 1: a descendant of it), then
-- location fit (0: that location, 1: same region, 2: same country; other
-- countries are left out), then name and id (a total, patient-free order).
-- NULL category or location means any (fit 0). Returns directory data and
-- the first slot (on free_slots' grid, so free_slots would list it too).
-- The window is searched in growing chunks from its start: a provider whose
-- first slot fits in [lo, hi) starts at or before hi - duration, and every
-- provider not yet found starts after that, so once "limit" providers are
-- found the rest of the window cannot change the answer. Most schedules
-- have a free slot within a day; the full window is read only when not.
CREATE FUNCTION providers.match(category pg_catalog.uuid, location pg_catalog.uuid,
                                "from" pg_catalog.timestamptz, "to" pg_catalog.timestamptz,
                                duration pg_catalog.interval, "limit" pg_catalog.int4 DEFAULT 10)
  RETURNS TABLE (provider_id pg_catalog.uuid, display_name pg_catalog.text, category_id pg_catalog.uuid,
                 location_id pg_catalog.uuid, languages pg_catalog.text[],
                 accepting_new_patients pg_catalog.bool, category_fit pg_catalog.int4,
                 location_fit pg_catalog.int4, first_slot_starts_at pg_catalog.timestamptz,
                 first_slot_ends_at pg_catalog.timestamptz)
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  lo pg_catalog.timestamptz;
  hi pg_catalog.timestamptz;
  chunk pg_catalog.interval := '1 day';
  ids pg_catalog.uuid[];
  cfits pg_catalog.int4[];
  lfits pg_catalog.int4[];
  remaining pg_catalog.uuid[];
  found_ids pg_catalog.uuid[] := '{}';
  found_starts pg_catalog.timestamptz[] := '{}';
  new_ids pg_catalog.uuid[];
  new_starts pg_catalog.timestamptz[];
BEGIN
  PERFORM bookings.check_window("from", "to");
  PERFORM bookings.check_duration(duration);
  IF "limit" IS NULL OR "limit" OPERATOR(pg_catalog.<) 1 OR "limit" OPERATOR(pg_catalog.>) 100 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('invalid limit %s: 1 to 100', "limit");
  END IF;
  IF category IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.categories c WHERE c.id OPERATOR(pg_catalog.=) category) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('no category with id %s', category);
  END IF;
  IF location IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.locations l WHERE l.id OPERATOR(pg_catalog.=) location) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('no location with id %s', location);
  END IF;
  lo := GREATEST("from", pg_catalog.now());
  IF lo OPERATOR(pg_catalog.>=) "to" THEN
    RETURN;
  END IF;

  WITH RECURSIVE wanted_categories AS (
    SELECT c.id, 0 AS depth FROM public.categories c WHERE c.id OPERATOR(pg_catalog.=) category
    UNION ALL
    SELECT c.id, 1 FROM public.categories c JOIN wanted_categories w ON c.parent_id OPERATOR(pg_catalog.=) w.id
  ), fits AS (
    SELECT p.id,
           CASE WHEN category IS NULL THEN 0 ELSE (SELECT pg_catalog.min(w.depth) FROM wanted_categories w
                                                    WHERE w.id OPERATOR(pg_catalog.=) p.category_id) END AS cfit,
           CASE WHEN location IS NULL OR p.location_id OPERATOR(pg_catalog.=) location THEN 0
                WHEN l.region OPERATOR(pg_catalog.=) wl.region AND l.country OPERATOR(pg_catalog.=) wl.country THEN 1
                WHEN l.country OPERATOR(pg_catalog.=) wl.country THEN 2 END AS lfit
      FROM providers.profiles p
      JOIN public.locations l ON l.id OPERATOR(pg_catalog.=) p.location_id
      LEFT JOIN public.locations wl ON wl.id OPERATOR(pg_catalog.=) location
  )
  SELECT pg_catalog.array_agg(f.id), pg_catalog.array_agg(f.cfit), pg_catalog.array_agg(f.lfit)
    INTO ids, cfits, lfits
    FROM fits f WHERE f.cfit IS NOT NULL AND f.lfit IS NOT NULL;
  remaining := ids;

  WHILE pg_catalog.cardinality(remaining) OPERATOR(pg_catalog.>) 0 LOOP
    hi := LEAST("to", lo OPERATOR(pg_catalog.+) chunk);
    SELECT pg_catalog.array_agg(f.id), pg_catalog.array_agg(f.first_start) INTO new_ids, new_starts
      FROM (SELECT fp.provider_id AS id, pg_catalog.min(fp.first_start) AS first_start
              FROM bookings.free_parts(remaining, lo, hi, duration) AS fp
             WHERE fp.first_start OPERATOR(pg_catalog.+) duration OPERATOR(pg_catalog.<=) fp.part_end
             GROUP BY fp.provider_id) AS f;
    found_ids := found_ids OPERATOR(pg_catalog.||) COALESCE(new_ids, '{}');
    found_starts := found_starts OPERATOR(pg_catalog.||) COALESCE(new_starts, '{}');
    EXIT WHEN hi OPERATOR(pg_catalog.=) "to" OR pg_catalog.cardinality(found_ids) OPERATOR(pg_catalog.>=) "limit";
    remaining := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) AS r
                        WHERE r OPERATOR(pg_catalog.<>) ALL (found_ids));
    chunk := chunk OPERATOR(pg_catalog.*) 4::pg_catalog.float8;
  END LOOP;

  RETURN QUERY
  SELECT p.id, p.display_name, p.category_id, p.location_id, p.languages, p.accepting_new_patients,
         c.cfit, c.lfit, f.first_start, f.first_start OPERATOR(pg_catalog.+) duration
    FROM ROWS FROM (pg_catalog.unnest(found_ids), pg_catalog.unnest(found_starts)) AS f(id, first_start)
    JOIN ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(cfits), pg_catalog.unnest(lfits)) AS c(id, cfit, lfit) ON c.id OPERATOR(pg_catalog.=) f.id
    JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) f.id
   ORDER BY f.first_start, c.cfit, c.lfit, p.display_name, p.id
   LIMIT "limit";
END
$fn$;

-- ---------------------------------------------------------------------------
-- Analytics: aggregates only, for analyst and admin

CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS 'Aggregates without PHI, small cells suppressed: for analyst and admin';
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
GRANT USAGE ON SCHEMA analytics TO analyst, admin;

-- The gate of every aggregate: EXECUTE is granted to analyst and admin only,
-- and the caller must also carry that role claim (the database role alone
-- is not an identity). Returns k, the small-cell threshold, read strictly:
-- a missing setting is an error, never a silent default.
CREATE FUNCTION analytics.caller_threshold()
  RETURNS pg_catalog.int4
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF auth.role() IS DISTINCT FROM 'analyst' AND auth.role() IS DISTINCT FROM 'admin' THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = 'analytics needs the analyst or admin role claim';
  END IF;
  RETURN pg_catalog.current_setting('careguard.small_cell_threshold')::pg_catalog.int4;
END
$fn$;

-- Weeks are ISO weeks (Monday) in the provider's local time. A window
-- [from, to) selects whole weeks, every week that starts on or after the
-- Monday of from and before to, and only weeks that have ended: a cell's
-- value then never depends on the window (no differencing between
-- overlapping windows) and changes only by late status corrections.
-- STABLE: the message renders dates in the session's DateStyle.
CREATE FUNCTION analytics.check_weeks("from" pg_catalog.date, "to" pg_catalog.date)
  RETURNS pg_catalog.date
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  PERFORM bookings.check_period("from", "to");
  IF "to" OPERATOR(pg_catalog.-) "from" OPERATOR(pg_catalog.>) 1096 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'window too large: at most 1096 days (3 years)';
  END IF;
  RETURN pg_catalog.date_trunc('week', "from"::pg_catalog.timestamp)::pg_catalog.date;
END
$fn$;

-- Bookings per (category, location, week): all appointments starting that
-- week, of which cancelled and no_show. A cell of fewer than k distinct
-- patients keeps its row (the group exists: providers' calendars are not
-- secret) with its counts NULL and suppressed = true.
CREATE FUNCTION analytics.bookings_by_week("from" pg_catalog.date, "to" pg_catalog.date)
  RETURNS TABLE (category_id pg_catalog.uuid, category pg_catalog.text, location_id pg_catalog.uuid,
                 location pg_catalog.text, week pg_catalog.date, bookings pg_catalog.int8,
                 cancellations pg_catalog.int8, no_shows pg_catalog.int8, suppressed pg_catalog.bool)
  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  k pg_catalog.int4 := analytics.caller_threshold();
  first_week pg_catalog.date := analytics.check_weeks("from", "to");
BEGIN
  RETURN QUERY
  WITH cells AS (
    SELECT p.category_id, p.location_id, w.week,
           pg_catalog.count(*) AS bookings,
           pg_catalog.count(*) FILTER (WHERE a.status OPERATOR(pg_catalog.=) 'cancelled') AS cancellations,
           pg_catalog.count(*) FILTER (WHERE a.status OPERATOR(pg_catalog.=) 'no_show') AS no_shows,
           pg_catalog.count(DISTINCT a.patient_id) AS patients
      FROM bookings.appointments a
      JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) a.provider_id
      JOIN public.locations l ON l.id OPERATOR(pg_catalog.=) p.location_id
     CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('week', pg_catalog.timezone(l.timezone, a.starts_at))::pg_catalog.date AS week) AS w
     -- UTC offsets are within a day: the starts_at bounds only narrow the scan.
     WHERE a.starts_at OPERATOR(pg_catalog.>=) (first_week OPERATOR(pg_catalog.-) 1)::pg_catalog.timestamptz
       AND a.starts_at OPERATOR(pg_catalog.<) ("to" OPERATOR(pg_catalog.+) 8)::pg_catalog.timestamptz
       AND w.week OPERATOR(pg_catalog.>=) first_week AND w.week OPERATOR(pg_catalog.<) "to"
       AND pg_catalog.timezone(l.timezone, (w.week OPERATOR(pg_catalog.+) 7)::pg_catalog.timestamp)
           OPERATOR(pg_catalog.<=) pg_catalog.now()
     GROUP BY p.category_id, p.location_id, w.week
  )
  SELECT c.category_id, cat.name, c.location_id, loc.city, c.week,
         CASE WHEN c.patients OPERATOR(pg_catalog.>=) k THEN c.bookings END,
         CASE WHEN c.patients OPERATOR(pg_catalog.>=) k THEN c.cancellations END,
         CASE WHEN c.patients OPERATOR(pg_catalog.>=) k THEN c.no_shows END,
         c.patients OPERATOR(pg_catalog.<) k
    FROM cells c
    JOIN public.categories cat ON cat.id OPERATOR(pg_catalog.=) c.category_id
    JOIN public.locations loc ON loc.id OPERATOR(pg_catalog.=) c.location_id
   ORDER BY c.week, cat.name, loc.city, c.category_id, c.location_id;
END
$fn$;

-- Per provider and week: bookings, cancellations, no-shows and their rates
-- (cancelled / booked; no_show / (completed + no_show)), and utilisation:
-- booked hours (appointments not cancelled) over available hours (the
-- provider's availability starting that week). One function for all of
-- them so that one suppression decision covers every figure of a cell:
-- primary (fewer than k distinct patients) and complementary. A provider
-- cell sums into its (category, location, week) cell of bookings_by_week,
-- so when a group has exactly one small cell with patients, the group's
-- shown cell with the fewest patients is suppressed too: the difference
-- between bookings_by_week and the shown cells is then the sum of two.
-- Available hours come from availability, readable by every signed-in
-- user, and are always shown.
CREATE FUNCTION analytics.provider_weeks("from" pg_catalog.date, "to" pg_catalog.date)
  RETURNS TABLE (provider_id pg_catalog.uuid, display_name pg_catalog.text, category_id pg_catalog.uuid,
                 location_id pg_catalog.uuid, week pg_catalog.date, bookings pg_catalog.int8,
                 cancellations pg_catalog.int8, no_shows pg_catalog.int8,
                 cancellation_rate pg_catalog.numeric, no_show_rate pg_catalog.numeric,
                 available_hours pg_catalog.numeric, booked_hours pg_catalog.numeric,
                 utilisation pg_catalog.numeric, suppressed pg_catalog.bool)
  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  k pg_catalog.int4 := analytics.caller_threshold();
  first_week pg_catalog.date := analytics.check_weeks("from", "to");
BEGIN
  RETURN QUERY
  WITH booked AS (
    SELECT a.provider_id, w.week,
           pg_catalog.count(*) AS bookings,
           pg_catalog.count(*) FILTER (WHERE a.status OPERATOR(pg_catalog.=) 'cancelled') AS cancellations,
           pg_catalog.count(*) FILTER (WHERE a.status OPERATOR(pg_catalog.=) 'no_show') AS no_shows,
           pg_catalog.count(*) FILTER (WHERE a.status OPERATOR(pg_catalog.=) 'completed') AS completed,
           pg_catalog.sum(pg_catalog.extract('epoch', a.ends_at OPERATOR(pg_catalog.-) a.starts_at))
             FILTER (WHERE a.status OPERATOR(pg_catalog.<>) 'cancelled') AS booked_seconds,
           pg_catalog.count(DISTINCT a.patient_id) AS patients
      FROM bookings.appointments a
      JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) a.provider_id
      JOIN public.locations l ON l.id OPERATOR(pg_catalog.=) p.location_id
     CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('week', pg_catalog.timezone(l.timezone, a.starts_at))::pg_catalog.date AS week) AS w
     WHERE a.starts_at OPERATOR(pg_catalog.>=) (first_week OPERATOR(pg_catalog.-) 1)::pg_catalog.timestamptz
       AND a.starts_at OPERATOR(pg_catalog.<) ("to" OPERATOR(pg_catalog.+) 8)::pg_catalog.timestamptz
       AND w.week OPERATOR(pg_catalog.>=) first_week AND w.week OPERATOR(pg_catalog.<) "to"
       AND pg_catalog.timezone(l.timezone, (w.week OPERATOR(pg_catalog.+) 7)::pg_catalog.timestamp)
           OPERATOR(pg_catalog.<=) pg_catalog.now()
     GROUP BY a.provider_id, w.week
  ), available AS (
    SELECT av.provider_id, w.week,
           pg_catalog.sum(pg_catalog.extract('epoch', pg_catalog.upper(av.during) OPERATOR(pg_catalog.-) pg_catalog.lower(av.during))) AS seconds
      FROM providers.availability av
      JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) av.provider_id
      JOIN public.locations l ON l.id OPERATOR(pg_catalog.=) p.location_id
     CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('week', pg_catalog.timezone(l.timezone, pg_catalog.lower(av.during)))::pg_catalog.date AS week) AS w
     WHERE w.week OPERATOR(pg_catalog.>=) first_week AND w.week OPERATOR(pg_catalog.<) "to"
       AND pg_catalog.timezone(l.timezone, (w.week OPERATOR(pg_catalog.+) 7)::pg_catalog.timestamp)
           OPERATOR(pg_catalog.<=) pg_catalog.now()
     GROUP BY av.provider_id, w.week
  ), cells AS (
    SELECT COALESCE(b.provider_id, v.provider_id) AS provider_id, COALESCE(b.week, v.week) AS week,
           COALESCE(b.bookings, 0) AS bookings, COALESCE(b.cancellations, 0) AS cancellations,
           COALESCE(b.no_shows, 0) AS no_shows, COALESCE(b.completed, 0) AS completed,
           COALESCE(b.booked_seconds, 0) AS booked_seconds, COALESCE(v.seconds, 0) AS available_seconds,
           COALESCE(b.patients, 0) AS patients
      FROM booked b FULL JOIN available v
        ON v.provider_id OPERATOR(pg_catalog.=) b.provider_id AND v.week OPERATOR(pg_catalog.=) b.week
  ), grouped AS (
    SELECT c.*, p.display_name, p.category_id, p.location_id,
           pg_catalog.count(*) FILTER (WHERE c.patients OPERATOR(pg_catalog.>) 0 AND c.patients OPERATOR(pg_catalog.<) k)
             OVER (PARTITION BY p.category_id, p.location_id, c.week) AS small_cells,
           pg_catalog.row_number() OVER (PARTITION BY p.category_id, p.location_id, c.week,
                                                      c.patients OPERATOR(pg_catalog.>=) k
                                         ORDER BY c.patients, c.provider_id) AS rank_in_kind
      FROM cells c JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) c.provider_id
  ), decided AS (
    SELECT g.*, (g.patients OPERATOR(pg_catalog.<) k
                 OR (g.small_cells OPERATOR(pg_catalog.=) 1 AND g.rank_in_kind OPERATOR(pg_catalog.=) 1)) AS hide
      FROM grouped g
  )
  SELECT d.provider_id, d.display_name, d.category_id, d.location_id, d.week,
         CASE WHEN NOT d.hide THEN d.bookings END,
         CASE WHEN NOT d.hide THEN d.cancellations END,
         CASE WHEN NOT d.hide THEN d.no_shows END,
         CASE WHEN NOT d.hide THEN pg_catalog.round(d.cancellations::pg_catalog.numeric
                OPERATOR(pg_catalog./) NULLIF(d.bookings, 0), 4) END,
         CASE WHEN NOT d.hide THEN pg_catalog.round(d.no_shows::pg_catalog.numeric
                OPERATOR(pg_catalog./) NULLIF(d.completed OPERATOR(pg_catalog.+) d.no_shows, 0), 4) END,
         pg_catalog.round(d.available_seconds OPERATOR(pg_catalog./) 3600, 2),
         CASE WHEN NOT d.hide THEN pg_catalog.round(d.booked_seconds OPERATOR(pg_catalog./) 3600, 2) END,
         CASE WHEN NOT d.hide THEN pg_catalog.round(d.booked_seconds
                OPERATOR(pg_catalog./) NULLIF(d.available_seconds, 0), 4) END,
         d.hide
    FROM decided d
   ORDER BY d.week, d.display_name, d.provider_id;
END
$fn$;

-- ---------------------------------------------------------------------------
-- Privileges. anon gets nothing here: free time is derived from
-- availability, which only signed-in users read, and the gateway's anon has
-- no identity to bound (busy_time() demands a sub claim).
REVOKE ALL ON FUNCTION bookings.busy_time(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz),
  bookings.check_period(anyelement, anyelement),
  bookings.check_window(pg_catalog.timestamptz, pg_catalog.timestamptz),
  bookings.check_duration(pg_catalog.interval),
  bookings.free_slots(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.interval),
  bookings.free_parts(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.interval),
  providers.match(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz,
                  pg_catalog.interval, pg_catalog.int4),
  analytics.caller_threshold(), analytics.check_weeks(pg_catalog.date, pg_catalog.date),
  analytics.bookings_by_week(pg_catalog.date, pg_catalog.date),
  analytics.provider_weeks(pg_catalog.date, pg_catalog.date)
  FROM PUBLIC;
-- The slot functions run as the caller, so the caller needs their helpers.
GRANT EXECUTE ON FUNCTION
  bookings.busy_time(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz),
  bookings.check_period(anyelement, anyelement),
  bookings.check_window(pg_catalog.timestamptz, pg_catalog.timestamptz),
  bookings.check_duration(pg_catalog.interval),
  bookings.free_slots(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.interval),
  bookings.free_parts(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.interval),
  providers.match(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz,
                  pg_catalog.interval, pg_catalog.int4)
  TO authenticated;
-- The analytics gate and window check run inside the SECURITY DEFINER
-- aggregates, as their owner: no grant needed.
GRANT EXECUTE ON FUNCTION analytics.bookings_by_week(pg_catalog.date, pg_catalog.date),
  analytics.provider_weeks(pg_catalog.date, pg_catalog.date)
  TO analyst, admin;

COMMENT ON FUNCTION bookings.busy_time(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'SECURITY DEFINER: per provider, the union of live appointments within [from, to) (at most 31 days); '
  'no patient, id, reason or status. Signed-in users only.';
COMMENT ON FUNCTION bookings.check_period(anyelement, anyelement) IS
  'Raises 22004/22023 unless from and to are given, finite, and to is after from (timestamptz or date).';
COMMENT ON FUNCTION bookings.check_window(pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'Raises 22004/22023 unless [from, to) is a finite, non-empty window of at most 31 days.';
COMMENT ON FUNCTION bookings.check_duration(pg_catalog.interval) IS
  'Raises 22004/22023 unless duration is 5 minutes to 8 hours of pure clock time.';
COMMENT ON FUNCTION bookings.free_slots(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz,
                                        pg_catalog.interval) IS
  'Bookable slots of a provider in [max(from, now()), to): a duration grid from the start of each availability '
  'range, minus live appointments. Each can be booked by a patient barring a concurrent booking.';
COMMENT ON FUNCTION bookings.free_parts(pg_catalog.uuid[], pg_catalog.timestamptz, pg_catalog.timestamptz,
                                        pg_catalog.interval) IS
  'Slot internals: the providers'' availability in [lo, hi) minus busy time, with the first slot-grid point of each part.';
COMMENT ON FUNCTION providers.match(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz,
                                    pg_catalog.interval, pg_catalog.int4) IS
  'Providers with a free slot in the window (NULL category/location: any), by first free slot, category fit, '
  'location fit: directory data and the first slot only.';
COMMENT ON FUNCTION analytics.caller_threshold() IS
  'Analytics internals: refuses callers without the analyst or admin claim (42501); returns careguard.small_cell_threshold.';
COMMENT ON FUNCTION analytics.check_weeks(pg_catalog.date, pg_catalog.date) IS
  'Analytics internals: validates a date window (at most 3 years) and returns the Monday of its first week.';
COMMENT ON FUNCTION analytics.bookings_by_week(pg_catalog.date, pg_catalog.date) IS
  'Per (category, location, ended local week): bookings, cancellations, no-shows; NULL counts and suppressed = true '
  'for cells of fewer than careguard.small_cell_threshold distinct patients.';
COMMENT ON FUNCTION analytics.provider_weeks(pg_catalog.date, pg_catalog.date) IS
  'Per (provider, ended local week): bookings, cancellation and no-show rates, utilisation; small cells and their '
  'complement suppressed (NULL figures, suppressed = true).';
