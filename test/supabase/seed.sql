-- A Supabase-style seed.sql: users inserted straight into auth.users with
-- the columns Supabase's own seeds and dashboard exports use.
insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
                        email_confirmed_at, recovery_sent_at, last_sign_in_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
                        confirmation_token, email_change, email_change_token_new, recovery_token)
values
  ('00000000-0000-0000-0000-000000000000', '5f1f0b7e-0000-4000-8000-00000000a11c', 'authenticated',
   'authenticated', 'alice@example.com', extensions.crypt('password123', extensions.gen_salt('bf')),
   now(), now(), now(), '{"provider":"email","providers":["email"]}', '{"name":"Alice"}',
   now(), now(), '', '', '', ''),
  ('00000000-0000-0000-0000-000000000000', '5f1f0b7e-0000-4000-8000-0000000000b0', 'authenticated',
   'authenticated', 'bob@example.com', extensions.crypt('password123', extensions.gen_salt('bf')),
   now(), now(), now(), '{"provider":"email","providers":["email"]}', '{"name":"Bob"}',
   now(), now(), '', '', '', '');

insert into profiles (id, username) values
  ('5f1f0b7e-0000-4000-8000-00000000a11c', 'alice'),
  ('5f1f0b7e-0000-4000-8000-0000000000b0', 'bob');
insert into todos (user_id, task) values
  ('5f1f0b7e-0000-4000-8000-00000000a11c', 'water the plants'),
  ('5f1f0b7e-0000-4000-8000-00000000a11c', 'call the dentist'),
  ('5f1f0b7e-0000-4000-8000-0000000000b0', 'file the taxes');
insert into notes (owner_id, body) values ('5f1f0b7e-0000-4000-8000-0000000000b0', 'private');
