-- The seeded users (seed.sql) sign in through the gateway the way
-- PostgREST does and see only what the policies give them.
begin;
select plan(6);

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"5f1f0b7e-0000-4000-8000-00000000a11c","role":"authenticated","email":"alice@example.com"}', true);
select results_eq($$select count(*)::int from todos$$, array[2], 'Alice sees her two todos');
select is_empty($$select * from notes$$, 'Alice sees none of Bob''s notes');
select lives_ok($$update profiles set avatar_url = 'https://example.com/a.png' where username = 'alice'$$,
  'Alice updates her own profile');
select results_eq($$with changed as (update profiles set avatar_url = 'x' where username = 'bob' returning 1)
                    select count(*)::int from changed$$, array[0], 'Alice cannot update Bob''s profile');
reset role;

select is((select count(*)::int from auth.users where instance_id = '00000000-0000-0000-0000-000000000000'),
  2, 'the seed''s users, with Supabase''s columns, are there');
select ok((select encrypted_password = extensions.crypt('password123', encrypted_password)
           from auth.users where email = 'alice@example.com'), 'their passwords were hashed with pgcrypto in extensions');

select * from finish();
rollback;
