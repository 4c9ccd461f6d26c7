-- Demo data: careguard.seed_demo() and careguard.demo_users().
-- Both are for the superuser (the demo, the tests, the benchmark): EXECUTE is
-- revoked from PUBLIC and granted to nobody. seed_demo runs as its caller,
-- a superuser, so it bypasses RLS; it needs no SECURITY DEFINER.

-- Deterministic ids. The first two patients, providers (user and profile)
-- and admins have well-known ids, whatever the seed, so that demos and tests
-- can name them; every other id is md5(seed:kind:n) as a uuid.
-- Inlinable on purpose (the seed calls it once per row): no SET clause,
-- every name and operator schema-qualified (no simple CASE, whose implicit
-- = would be looked up through the caller's search_path).
CREATE FUNCTION careguard.demo_uuid(seed pg_catalog.int4, kind pg_catalog.text, n pg_catalog.int8)
  RETURNS pg_catalog.uuid
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $fn$
  SELECT CASE
    WHEN n OPERATOR(pg_catalog.<=) 2
         AND kind OPERATOR(pg_catalog.=) ANY ('{patient,provider_user,provider,admin}'::pg_catalog.text[])
    THEN pg_catalog.format('%s-0000-4000-8000-%s',
           CASE WHEN kind OPERATOR(pg_catalog.=) 'patient' THEN 'aaaaaaaa'
                WHEN kind OPERATOR(pg_catalog.=) 'provider_user' THEN 'bbbbbbbb'
                WHEN kind OPERATOR(pg_catalog.=) 'provider' THEN 'cccccccc' ELSE 'dddddddd' END,
           pg_catalog.lpad(n::pg_catalog.text, 12, '0'))::pg_catalog.uuid
    ELSE pg_catalog.md5(pg_catalog.format('%s:%s:%s', seed, kind, n))::pg_catalog.uuid
  END
$fn$;
REVOKE ALL ON FUNCTION careguard.demo_uuid(pg_catalog.int4, pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
COMMENT ON FUNCTION careguard.demo_uuid(pg_catalog.int4, pg_catalog.text, pg_catalog.int8) IS
  'Demo data: the deterministic id of the n-th object of a kind for a seed (well-known ids for n <= 2).';

-- Pseudo-random draws from an md5 hex digest: characters [pos, pos+len) as
-- a non-negative integer. Inlinable on purpose (once per row in the seed):
-- no SET clause, every name schema-qualified.
CREATE FUNCTION careguard.demo_hex(digest pg_catalog.text, pos pg_catalog.int4, len pg_catalog.int4)
  RETURNS pg_catalog.int8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $fn$
  SELECT pg_catalog.concat('x', pg_catalog.lpad(pg_catalog.substr(digest, pos, len), 16, '0'))
           ::pg_catalog.bit(64)::pg_catalog.int8
$fn$;
REVOKE ALL ON FUNCTION careguard.demo_hex(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) FROM PUBLIC;
COMMENT ON FUNCTION careguard.demo_hex(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) IS
  'Demo data: len (<= 15) hex digits of an md5 digest from position pos, as a non-negative bigint.';

CREATE FUNCTION careguard.seed_demo(patients pg_catalog.int4, providers pg_catalog.int4,
                                    appointments pg_catalog.int4, seed pg_catalog.int4,
                                    anchor pg_catalog.date DEFAULT NULL)
  RETURNS pg_catalog.jsonb
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  n_patients pg_catalog.int4 := $1;
  n_providers pg_catalog.int4 := $2;
  n_appointments pg_catalog.int4 := $3;
  v_seed pg_catalog.int4 := $4;
  -- Times are relative to a Monday: the current week's unless given, so an
  -- explicit anchor makes the data set identical run after run.
  v_anchor pg_catalog.date := COALESCE($5, pg_catalog.date_trunc('week', pg_catalog.now())::pg_catalog.date);
  per_provider pg_catalog.int4;
  working_days pg_catalog.int4;
  first_day pg_catalog.date;
  first_names pg_catalog.text[] := '{Olivia,Liam,Emma,Noah,Ava,Oliver,Sophia,Elijah,Isabella,Lucas,Mia,Mateo,Amelia,Levi,Harper,Ethan,Evelyn,James,Aria,Benjamin,Chloe,Daniel,Layla,Henry,Nora,Samuel,Zoe,David,Priya,Arjun,Mei,Hiroshi,Fatima,Omar,Sofia,Diego,Ingrid,Lars,Amara,Kwame}';
  last_names pg_catalog.text[] := '{Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Hernandez,Lopez,Gonzalez,Wilson,Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,Perez,Thompson,White,Harris,Sanchez,Clark,Ramirez,Lewis,Robinson,Walker,Young,Allen,King,Wright,Scott,Nguyen,Patel,Kim,Okafor}';
  reasons pg_catalog.text[] := '{"Annual check-up","Follow-up visit","Persistent headaches","Back pain","Anxiety and sleep problems","Medication review","Skin rash","Knee injury rehabilitation","Nutrition plan","Blood pressure follow-up","Low mood","Sports injury","Prenatal visit","Allergy symptoms","Post-surgery physiotherapy","Weight management","Chest discomfort review","Couples counselling session"}';
  insurers pg_catalog.text[] := '{Aetna,"Blue Cross","Cigna",Humana,Kaiser,UnitedHealthcare,Medicare,Medicaid,"Self-pay"}';
  allergy_list pg_catalog.text[] := '{penicillin,peanuts,latex,shellfish,sulfa,pollen,"bee stings",ibuprofen}';
  streets pg_catalog.text[] := '{"Oak St","Maple Ave","Cedar Rd","Pine St","Elm St","Lakeview Dr","Hillcrest Ave","Main St","Park Ave","River Rd"}';
  -- Progress: a full-size seed runs for a minute or more, so each phase
  -- reports its rows and the time since the start (clock_timestamp(): now()
  -- is fixed for the transaction).
  started pg_catalog.timestamptz := pg_catalog.clock_timestamp();
  done pg_catalog.int8;
BEGIN
  IF n_patients OPERATOR(pg_catalog.<) 2 OR n_providers OPERATOR(pg_catalog.<) 2
     OR n_appointments OPERATOR(pg_catalog.<) 0 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'careguard.seed_demo needs at least 2 patients, 2 providers and 0 appointments';
  END IF;
  IF EXISTS (SELECT 1 FROM auth.users) OR EXISTS (SELECT 1 FROM public.categories)
     OR EXISTS (SELECT 1 FROM public.locations) THEN
    RAISE EXCEPTION USING ERRCODE = '55000',
      MESSAGE = 'careguard.seed_demo loads an empty database only: auth.users, public.categories or public.locations has rows';
  END IF;

  -- Reference data: a two-level specialty tree and cities in several zones.
  INSERT INTO public.categories (id, parent_id, slug, name, description)
  SELECT pg_catalog.md5(pg_catalog.concat('category:', c.slug))::pg_catalog.uuid,
         CASE WHEN c.parent IS NOT NULL THEN pg_catalog.md5(pg_catalog.concat('category:', c.parent))::pg_catalog.uuid END,
         c.slug, c.name, c.description
    FROM (VALUES
      ('primary-care', NULL, 'Primary care', 'First contact and continuing care'),
      ('family-medicine', 'primary-care', 'Family medicine', 'Care for every age'),
      ('internal-medicine', 'primary-care', 'Internal medicine', 'Adult medicine'),
      ('pediatrics', 'primary-care', 'Pediatrics', 'Children and adolescents'),
      ('mental-health', NULL, 'Mental health', 'Therapy and psychiatric care'),
      ('psychotherapy', 'mental-health', 'Psychotherapy', 'Talking therapies'),
      ('psychiatry', 'mental-health', 'Psychiatry', 'Diagnosis and medication'),
      ('counseling', 'mental-health', 'Counseling', 'Individual and couples counseling'),
      ('rehabilitation', NULL, 'Rehabilitation', 'Recovery of function'),
      ('physical-therapy', 'rehabilitation', 'Physical therapy', 'Movement and pain'),
      ('occupational-therapy', 'rehabilitation', 'Occupational therapy', 'Daily-living skills'),
      ('wellness', NULL, 'Nutrition and wellness', 'Diet, fitness and prevention'),
      ('nutrition', 'wellness', 'Nutrition', 'Dietitians and nutritionists'),
      ('personal-training', 'wellness', 'Personal training', 'Supervised exercise'),
      ('specialty-care', NULL, 'Specialty care', 'Specialist consultations'),
      ('dermatology', 'specialty-care', 'Dermatology', 'Skin, hair and nails'),
      ('cardiology', 'specialty-care', 'Cardiology', 'Heart and circulation'),
      ('womens-health', 'specialty-care', 'Women''s health', 'Gynecology and prenatal care')
    ) AS c(slug, parent, name, description);
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % categories after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  INSERT INTO public.locations (id, city, region, country, timezone)
  SELECT pg_catalog.md5(pg_catalog.concat('location:', l.country, ':', l.city))::pg_catalog.uuid,
         l.city, l.region, l.country, l.tz
    FROM (VALUES
      ('New York', 'New York', 'US', 'America/New_York'), ('Boston', 'Massachusetts', 'US', 'America/New_York'),
      ('Miami', 'Florida', 'US', 'America/New_York'), ('Chicago', 'Illinois', 'US', 'America/Chicago'),
      ('Austin', 'Texas', 'US', 'America/Chicago'), ('Denver', 'Colorado', 'US', 'America/Denver'),
      ('Phoenix', 'Arizona', 'US', 'America/Phoenix'), ('Seattle', 'Washington', 'US', 'America/Los_Angeles'),
      ('San Francisco', 'California', 'US', 'America/Los_Angeles'),
      ('Los Angeles', 'California', 'US', 'America/Los_Angeles'),
      ('Toronto', 'Ontario', 'CA', 'America/Toronto'), ('Vancouver', 'British Columbia', 'CA', 'America/Vancouver'),
      ('London', 'England', 'GB', 'Europe/London'), ('Madrid', 'Madrid', 'ES', 'Europe/Madrid'),
      ('Berlin', 'Berlin', 'DE', 'Europe/Berlin'), ('Sydney', 'New South Wales', 'AU', 'Australia/Sydney')
    ) AS l(city, region, country, tz);
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % locations after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  -- Users: patients, provider users and three admins.
  CREATE TEMPORARY TABLE demo_people ON COMMIT DROP AS
  SELECT k.kind, g.n,
         careguard.demo_uuid(v_seed, CASE k.kind WHEN 'provider' THEN 'provider_user' ELSE k.kind END, g.n) AS user_id,
         first_names[pg_catalog.mod(careguard.demo_hex(h.d, 1, 6), pg_catalog.array_length(first_names, 1)) OPERATOR(pg_catalog.+) 1] AS first_name,
         last_names[pg_catalog.mod(careguard.demo_hex(h.d, 7, 6), pg_catalog.array_length(last_names, 1)) OPERATOR(pg_catalog.+) 1] AS last_name,
         h.d AS digest
    FROM (VALUES ('patient', n_patients), ('provider', n_providers), ('admin', 3)) AS k(kind, how_many)
   CROSS JOIN LATERAL pg_catalog.generate_series(1::pg_catalog.int8, k.how_many::pg_catalog.int8) AS g(n)
   CROSS JOIN LATERAL (SELECT pg_catalog.md5(pg_catalog.format('%s:person:%s:%s', v_seed, k.kind, g.n)) AS d) AS h;

  INSERT INTO auth.users (id, email, phone, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  SELECT p.user_id,
         pg_catalog.format('%s%s@demo.careguard.test', p.kind, p.n),
         pg_catalog.format('+1%s%s', CASE p.kind WHEN 'patient' THEN '555' WHEN 'provider' THEN '556' ELSE '557' END,
                           pg_catalog.lpad(p.n::pg_catalog.text, 7, '0')),
         pg_catalog.jsonb_build_object('provider', 'email', 'providers', pg_catalog.jsonb_build_array('email'),
                                       'role', p.kind),
         pg_catalog.jsonb_build_object('full_name', pg_catalog.concat(p.first_name, ' ', p.last_name)),
         t.created, t.created
    FROM demo_people p
   CROSS JOIN LATERAL (SELECT (v_anchor::pg_catalog.timestamptz OPERATOR(pg_catalog.-)
                               pg_catalog.make_interval(days => (400 OPERATOR(pg_catalog.+) pg_catalog.mod(careguard.demo_hex(p.digest, 13, 4), 700))::pg_catalog.int4))
                              AS created) AS t;
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % users after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  -- Provider profiles: specialty (a leaf category) and city by hash.
  INSERT INTO providers.profiles (id, user_id, display_name, category_id, location_id, bio, languages,
                                  accepting_new_patients, created_at, updated_at)
  SELECT careguard.demo_uuid(v_seed, 'provider', p.n), p.user_id,
         pg_catalog.concat(CASE WHEN c.slug OPERATOR(pg_catalog.=) ANY ('{personal-training,nutrition,counseling,psychotherapy}'::pg_catalog.text[])
                                THEN '' ELSE 'Dr. ' END, p.first_name, ' ', p.last_name),
         c.id, l.id,
         pg_catalog.format('%s %s practises %s in %s, with %s years of experience.', p.first_name, p.last_name,
                           pg_catalog.lower(c.name), l.city, 3 OPERATOR(pg_catalog.+) pg_catalog.mod(careguard.demo_hex(p.digest, 17, 4), 30)),
         CASE pg_catalog.mod(careguard.demo_hex(p.digest, 21, 2), 4) WHEN 0 THEN '{en,es}'::pg_catalog.text[]
              WHEN 1 THEN '{en,fr}'::pg_catalog.text[] ELSE '{en}'::pg_catalog.text[] END,
         pg_catalog.mod(careguard.demo_hex(p.digest, 23, 2), 10) OPERATOR(pg_catalog.<>) 0,
         u.created_at, u.created_at
    FROM demo_people p
    JOIN auth.users u ON u.id OPERATOR(pg_catalog.=) p.user_id
    JOIN (SELECT c1.id, c1.slug, c1.name, (pg_catalog.row_number() OVER (ORDER BY c1.slug)) OPERATOR(pg_catalog.-) 1 AS i
            FROM public.categories c1 WHERE c1.parent_id IS NOT NULL) AS c
      ON c.i OPERATOR(pg_catalog.=) pg_catalog.mod(careguard.demo_hex(p.digest, 25, 4),
                                                   (SELECT pg_catalog.count(*) FROM public.categories WHERE parent_id IS NOT NULL))
    JOIN (SELECT l1.id, l1.city, (pg_catalog.row_number() OVER (ORDER BY l1.country, l1.city)) OPERATOR(pg_catalog.-) 1 AS i
            FROM public.locations l1) AS l
      ON l.i OPERATOR(pg_catalog.=) pg_catalog.mod(careguard.demo_hex(p.digest, 29, 4), (SELECT pg_catalog.count(*) FROM public.locations))
   WHERE p.kind OPERATOR(pg_catalog.=) 'provider';
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % provider profiles after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  INSERT INTO patients.profiles (id, full_name, date_of_birth, preferred_language, allergies, phone, address_line,
                                 city, postal_code, country, insurance_provider, insurance_member_id,
                                 emergency_contact_name, emergency_contact_phone, notes, created_at, updated_at)
  SELECT p.user_id, pg_catalog.concat(p.first_name, ' ', p.last_name),
         '1940-01-01'::pg_catalog.date OPERATOR(pg_catalog.+) pg_catalog.mod(careguard.demo_hex(p.digest, 13, 6), 25000)::pg_catalog.int4,
         CASE pg_catalog.mod(careguard.demo_hex(p.digest, 19, 2), 10) WHEN 0 THEN 'es' WHEN 1 THEN 'fr' ELSE 'en' END,
         CASE WHEN pg_catalog.mod(careguard.demo_hex(p.digest, 21, 2), 4) OPERATOR(pg_catalog.=) 0
              THEN ARRAY[allergy_list[pg_catalog.mod(careguard.demo_hex(p.digest, 23, 2), pg_catalog.array_length(allergy_list, 1)) OPERATOR(pg_catalog.+) 1]]
              ELSE '{}'::pg_catalog.text[] END,
         u.phone,
         pg_catalog.format('%s %s', 1 OPERATOR(pg_catalog.+) pg_catalog.mod(careguard.demo_hex(p.digest, 25, 4), 9000),
                           streets[pg_catalog.mod(careguard.demo_hex(p.digest, 29, 2), pg_catalog.array_length(streets, 1)) OPERATOR(pg_catalog.+) 1]),
         l.city, pg_catalog.lpad(pg_catalog.mod(careguard.demo_hex(p.digest, 31, 2) OPERATOR(pg_catalog.*) 397, 99999)::pg_catalog.text, 5, '0'),
         l.country,
         insurers[pg_catalog.mod(careguard.demo_hex(p.digest, 1, 3), pg_catalog.array_length(insurers, 1)) OPERATOR(pg_catalog.+) 1],
         pg_catalog.upper(pg_catalog.substr(p.digest, 20, 10)),
         pg_catalog.concat(first_names[pg_catalog.mod(careguard.demo_hex(p.digest, 4, 3), pg_catalog.array_length(first_names, 1)) OPERATOR(pg_catalog.+) 1], ' ', p.last_name),
         pg_catalog.format('+1555%s', pg_catalog.lpad(pg_catalog.mod(careguard.demo_hex(p.digest, 7, 6), 10000000)::pg_catalog.text, 7, '0')),
         NULL, u.created_at, u.created_at
    FROM demo_people p
    JOIN auth.users u ON u.id OPERATOR(pg_catalog.=) p.user_id
    JOIN (SELECT l1.city, l1.country, (pg_catalog.row_number() OVER (ORDER BY l1.country, l1.city)) OPERATOR(pg_catalog.-) 1 AS i
            FROM public.locations l1) AS l
      ON l.i OPERATOR(pg_catalog.=) pg_catalog.mod(careguard.demo_hex(p.digest, 9, 4), (SELECT pg_catalog.count(*) FROM public.locations))
   WHERE p.kind OPERATOR(pg_catalog.=) 'patient';
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % patient profiles after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  INSERT INTO patients.preferences (patient_id, contact_channel, reminders_enabled, reminder_before,
                                    share_with_family, marketing_opt_in, updated_at)
  SELECT p.user_id,
         ('{email,sms,phone}'::pg_catalog.text[])[pg_catalog.mod(careguard.demo_hex(p.digest, 2, 2), 3) OPERATOR(pg_catalog.+) 1],
         pg_catalog.mod(careguard.demo_hex(p.digest, 5, 2), 5) OPERATOR(pg_catalog.<>) 0,
         ('{01:00,02:00,1 day,2 days}'::pg_catalog.interval[])[pg_catalog.mod(careguard.demo_hex(p.digest, 8, 2), 4) OPERATOR(pg_catalog.+) 1],
         pg_catalog.mod(careguard.demo_hex(p.digest, 11, 2), 7) OPERATOR(pg_catalog.=) 0,
         pg_catalog.mod(careguard.demo_hex(p.digest, 14, 2), 3) OPERATOR(pg_catalog.=) 0,
         u.created_at
    FROM demo_people p
    JOIN auth.users u ON u.id OPERATOR(pg_catalog.=) p.user_id
   WHERE p.kind OPERATOR(pg_catalog.=) 'patient';
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % patient preferences after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  -- Availability: 09:00-17:00 local time on working days, enough days for
  -- about three in four of the 16 half-hour slots a day to be booked; half
  -- of the weeks before the anchor, half after.
  per_provider := (n_appointments OPERATOR(pg_catalog.+) n_providers OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) n_providers;
  -- At least two weeks, so that there is a past and a future.
  -- (OPERATOR() syntax binds left to right at one precedence: parenthesize.)
  working_days := GREATEST(10, ((((per_provider OPERATOR(pg_catalog.+) (per_provider OPERATOR(pg_catalog./) 3))
                                  OPERATOR(pg_catalog./) 16) OPERATOR(pg_catalog.+) 5) OPERATOR(pg_catalog./) 5) OPERATOR(pg_catalog.*) 5);
  IF 16 OPERATOR(pg_catalog.*) working_days OPERATOR(pg_catalog.<) per_provider THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'careguard.seed_demo: too few slots for the appointments';
  END IF;
  first_day := v_anchor OPERATOR(pg_catalog.-) (7 OPERATOR(pg_catalog.*) ((working_days OPERATOR(pg_catalog./) 5) OPERATOR(pg_catalog./) 2));

  CREATE TEMPORARY TABLE demo_providers ON COMMIT DROP AS
  SELECT g.n OPERATOR(pg_catalog.-) 1 AS i, careguard.demo_uuid(v_seed, 'provider', g.n) AS provider_id,
         pr.user_id, l.timezone
    FROM pg_catalog.generate_series(1::pg_catalog.int8, n_providers::pg_catalog.int8) AS g(n)
    JOIN providers.profiles pr ON pr.id OPERATOR(pg_catalog.=) careguard.demo_uuid(v_seed, 'provider', g.n)
    JOIN public.locations l ON l.id OPERATOR(pg_catalog.=) pr.location_id;

  INSERT INTO providers.availability (id, provider_id, during, created_at)
  SELECT pg_catalog.md5(pg_catalog.format('%s:availability:%s:%s', v_seed, p.i, d.d))::pg_catalog.uuid, p.provider_id,
         pg_catalog.tstzrange(pg_catalog.timezone(p.timezone, d.day OPERATOR(pg_catalog.+) '09:00'::pg_catalog.time),
                              pg_catalog.timezone(p.timezone, d.day OPERATOR(pg_catalog.+) '17:00'::pg_catalog.time), '[)'),
         first_day::pg_catalog.timestamptz OPERATOR(pg_catalog.-) '14 days'::pg_catalog.interval
    FROM demo_providers p
   CROSS JOIN LATERAL (
     SELECT s.d, first_day OPERATOR(pg_catalog.+) ((s.d OPERATOR(pg_catalog./) 5) OPERATOR(pg_catalog.*) 7
                                                   OPERATOR(pg_catalog.+) pg_catalog.mod(s.d, 5)) AS day
       FROM pg_catalog.generate_series(0, working_days OPERATOR(pg_catalog.-) 1) AS s(d)) AS d;
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % availability ranges after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  -- Appointments: the j-th of a provider's per_provider appointments takes
  -- half-hour slot j * slots / per_provider of its working days (spread
  -- evenly, never overlapping, by construction); the patient, the
  -- status and the reason are drawn from md5(seed:appointment:k).
  INSERT INTO bookings.appointments (id, patient_id, provider_id, starts_at, ends_at, status, reason,
                                     created_at, updated_at)
  SELECT careguard.demo_uuid(v_seed, 'appointment', a.k),
         careguard.demo_uuid(v_seed, 'patient', pg_catalog.mod(careguard.demo_hex(a.digest, 1, 8), n_patients) OPERATOR(pg_catalog.+) 1),
         a.provider_id, a.starts_at, a.starts_at OPERATOR(pg_catalog.+) '30 minutes'::pg_catalog.interval,
         (CASE
            WHEN a.starts_at OPERATOR(pg_catalog.<) v_anchor::pg_catalog.timestamptz THEN
              CASE WHEN a.roll OPERATOR(pg_catalog.<) 80 THEN 'completed' WHEN a.roll OPERATOR(pg_catalog.<) 87 THEN 'no_show' ELSE 'cancelled' END
            ELSE
              CASE WHEN a.roll OPERATOR(pg_catalog.<) 55 THEN 'confirmed' WHEN a.roll OPERATOR(pg_catalog.<) 88 THEN 'pending' ELSE 'cancelled' END
          END)::bookings.appointment_status,
         reasons[pg_catalog.mod(careguard.demo_hex(a.digest, 13, 4), pg_catalog.array_length(reasons, 1)) OPERATOR(pg_catalog.+) 1],
         a.created_at, GREATEST(a.created_at, LEAST(a.starts_at, v_anchor::pg_catalog.timestamptz))
    FROM (
      SELECT s.k, s.digest, p.provider_id, s.roll, t.starts_at,
             LEAST(t.starts_at, v_anchor::pg_catalog.timestamptz) OPERATOR(pg_catalog.-)
               pg_catalog.make_interval(days => (1 OPERATOR(pg_catalog.+) pg_catalog.mod(careguard.demo_hex(s.digest, 17, 4), 28))::pg_catalog.int4) AS created_at
        FROM (SELECT g.k, d.digest,
                     pg_catalog.mod(g.k, n_providers) AS i,
                     g.k OPERATOR(pg_catalog./) n_providers AS j,
                     pg_catalog.mod(careguard.demo_hex(d.digest, 9, 4), 100) AS roll
                FROM pg_catalog.generate_series(0, n_appointments OPERATOR(pg_catalog.-) 1) AS g(k)
               CROSS JOIN LATERAL (SELECT pg_catalog.md5(pg_catalog.format('%s:appointment:%s', v_seed, g.k)) AS digest) AS d) AS s
        JOIN demo_providers p ON p.i OPERATOR(pg_catalog.=) s.i
       CROSS JOIN LATERAL (SELECT (s.j OPERATOR(pg_catalog.*) (16 OPERATOR(pg_catalog.*) working_days)::pg_catalog.int8) OPERATOR(pg_catalog./) per_provider AS slot) AS sl
       CROSS JOIN LATERAL (
         SELECT pg_catalog.timezone(p.timezone,
                  (first_day OPERATOR(pg_catalog.+) (((sl.slot OPERATOR(pg_catalog./) 16) OPERATOR(pg_catalog./) 5) OPERATOR(pg_catalog.*) 7
                                                     OPERATOR(pg_catalog.+) pg_catalog.mod(sl.slot OPERATOR(pg_catalog./) 16, 5))::pg_catalog.int4)
                  OPERATOR(pg_catalog.+) '09:00'::pg_catalog.time
                  OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins => (30 OPERATOR(pg_catalog.*) pg_catalog.mod(sl.slot, 16))::pg_catalog.int4)) AS starts_at) AS t
    ) AS a;
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % appointments after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  -- The status history these appointments would have: confirmations,
  -- outcomes (by the provider's user) and cancellations (by the patient),
  -- as the trigger records them when they happen one by one.
  INSERT INTO bookings.status_history (appointment_id, patient_id, provider_id, from_status, to_status, changed_by,
                                       changed_by_role, changed_at)
  SELECT a.id, a.patient_id, a.provider_id, st.from_status::bookings.appointment_status,
         st.to_status::bookings.appointment_status,
         CASE st.by_role WHEN 'patient' THEN a.patient_id ELSE p.user_id END, st.by_role, st.at
    FROM bookings.appointments a
    JOIN demo_providers p ON p.provider_id OPERATOR(pg_catalog.=) a.provider_id
   CROSS JOIN LATERAL (VALUES
     (1, 'pending', 'confirmed', 'provider',
      LEAST(a.created_at OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval, a.starts_at)),
     (2, 'confirmed', a.status::pg_catalog.text, 'provider', a.ends_at),
     (3, 'pending', 'cancelled', 'patient', a.updated_at)
   ) AS st(step, from_status, to_status, by_role, at)
   WHERE (st.step OPERATOR(pg_catalog.=) 1
          AND a.status OPERATOR(pg_catalog.=) ANY ('{confirmed,completed,no_show}'::bookings.appointment_status[]))
      OR (st.step OPERATOR(pg_catalog.=) 2
          AND a.status OPERATOR(pg_catalog.=) ANY ('{completed,no_show}'::bookings.appointment_status[]))
      OR (st.step OPERATOR(pg_catalog.=) 3 AND a.status OPERATOR(pg_catalog.=) 'cancelled'::bookings.appointment_status)
   ORDER BY a.id, st.step;
  GET DIAGNOSTICS done = ROW_COUNT;
  RAISE NOTICE 'seed_demo: % status history rows after % s', done,
    pg_catalog.round(pg_catalog.extract('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started), 1);

  RETURN pg_catalog.jsonb_build_object(
    'seed', v_seed, 'anchor', v_anchor,
    'users', (SELECT pg_catalog.count(*) FROM auth.users),
    'patients', (SELECT pg_catalog.count(*) FROM patients.profiles),
    'providers', (SELECT pg_catalog.count(*) FROM providers.profiles),
    'availability', (SELECT pg_catalog.count(*) FROM providers.availability),
    'appointments', (SELECT pg_catalog.count(*) FROM bookings.appointments),
    'status_history', (SELECT pg_catalog.count(*) FROM bookings.status_history));
END
$fn$;
REVOKE ALL ON FUNCTION careguard.seed_demo(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4, pg_catalog.date)
  FROM PUBLIC;
COMMENT ON FUNCTION careguard.seed_demo(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4, pg_catalog.date) IS
  'Loads a realistic demo data set into an empty database, deterministic for (seed, anchor); anchor defaults to this '
  'week''s Monday. Superuser only. Returns the row counts.';

-- One representative user per context of the demo and the tests, with the
-- claims its token would carry.
CREATE FUNCTION careguard.demo_users()
  RETURNS TABLE (label pg_catalog.text, app_role pg_catalog.text, user_id pg_catalog.uuid,
                 provider_id pg_catalog.uuid, email pg_catalog.text, claims pg_catalog.jsonb)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT d.label, d.app_role, u.id, d.provider_id, u.email,
         pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'sub', u.id, 'role', d.app_role, 'email', u.email, 'aud', 'authenticated',
           'provider_id', d.provider_id))
    FROM (VALUES
      (1, 'patient A', 'patient', careguard.demo_uuid(0, 'patient', 1), NULL::pg_catalog.uuid),
      (2, 'patient B', 'patient', careguard.demo_uuid(0, 'patient', 2), NULL),
      (3, 'provider X', 'provider', careguard.demo_uuid(0, 'provider_user', 1), careguard.demo_uuid(0, 'provider', 1)),
      (4, 'provider Y', 'provider', careguard.demo_uuid(0, 'provider_user', 2), careguard.demo_uuid(0, 'provider', 2)),
      (5, 'admin', 'admin', careguard.demo_uuid(0, 'admin', 1), NULL)
    ) AS d(ord, label, app_role, user_id, provider_id)
    JOIN auth.users u ON u.id OPERATOR(pg_catalog.=) d.user_id
   ORDER BY d.ord
$fn$;
REVOKE ALL ON FUNCTION careguard.demo_users() FROM PUBLIC;
COMMENT ON FUNCTION careguard.demo_users() IS
  'The well-known demo users (patients A and B, providers X and Y, an admin) with the JWT claims each would carry. '
  'Superuser only.';
