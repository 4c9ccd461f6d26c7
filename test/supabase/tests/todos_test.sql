-- A pgTAP suite written against Supabase's test helpers (basejump's
-- supabase_test_helpers conventions), as a Supabase project keeps it in
-- supabase/tests/. It runs unchanged on careguard with the profile on.
begin;
select plan(13);

select tests.create_supabase_user('test_owner');
select tests.create_supabase_user('test_other', 'other@example.com');

select tests.rls_enabled('public');
select tests.rls_enabled('public', 'todos');

-- The owner writes and reads its own todo; user_id defaults to auth.uid().
select tests.authenticate_as('test_owner');
select lives_ok($$insert into todos (task) values ('buy oat milk')$$, 'the owner can add a todo');
select results_eq($$select count(*)::int from todos$$, array[1], 'the owner sees exactly its own todo');
select is((select user_id from todos), tests.get_supabase_uid('test_owner'), 'the todo belongs to the owner');
select is(auth.uid(), tests.get_supabase_uid('test_owner'), 'auth.uid() is the authenticated user');

-- Another user sees nothing of it and cannot write as the owner.
select tests.authenticate_as('test_other');
select is_empty($$select * from todos where task = 'buy oat milk'$$, 'another user cannot see it');
select throws_ok(
  format($$insert into todos (user_id, task) values (%L, 'sneaky task')$$, tests.get_supabase_uid('test_owner')),
  '42501', 'new row violates row-level security policy for table "todos"',
  'another user cannot add a todo for the owner');
select results_eq($$with changed as (update todos set task = 'hijacked' returning 1) select count(*)::int from changed$$,
  array[0], 'another user updates none of the owner''s todos');

-- Anonymous visitors read public profiles only.
select tests.clear_authentication();
select is_empty($$select * from todos$$, 'anon sees no todo');
select results_eq($$select count(*)::int from profiles$$, array[2], 'anon reads the public profiles');

-- The service role sees every row.
select tests.authenticate_as_service_role();
select results_eq($$select count(*)::int from todos$$, array[4], 'the service role sees all four todos');

select tests.freeze_time('2024-01-01 00:00:00+00');
select is(now(), '2024-01-01 00:00:00+00'::timestamptz, 'freeze_time freezes now()');
select tests.unfreeze_time();

select * from finish();
rollback;
