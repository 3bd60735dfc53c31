-- autobot's PostgreSQL journal: the database and two roles, with the least privilege each needs.
--
--   * the daemon's role (default `autobot`) owns the schema `autobot` in the database (default
--     `autobot`) and nothing else: it creates and migrates the journal's tables there at its first
--     start and writes them; no superuser, no CREATEDB/CREATEROLE, no other schema, CONNECT on
--     this database only;
--   * the operator role (default `autobot_operator`), for the CLI (`autobot status`, `actions`,
--     `incidents`, and the requests `cancel`, `refund`, ...): reads every journal table and may add
--     rows to `requests` only; it cannot change an action or a transaction, nor create anything.
--
-- Run it as a superuser, before the daemon's first start and once more after it (the tables exist
-- only then; the second run grants the operator role INSERT on `requests`). It is idempotent:
--
--   sudo -u postgres psql -f deploy/ha/roles.sql
--   sudo -u postgres psql -c '\password autobot'            # passwords: never in a file
--   sudo -u postgres psql -c '\password autobot_operator'
--   ... start the daemon once (every host's DSN names the same database) ...
--   sudo -u postgres psql -f deploy/ha/roles.sql
--
-- Other names: psql -v database=... -v daemon_role=... -v operator_role=... -f deploy/ha/roles.sql

\set ON_ERROR_STOP on
\if :{?database}
\else
  \set database autobot
\endif
\if :{?daemon_role}
\else
  \set daemon_role autobot
\endif
\if :{?operator_role}
\else
  \set operator_role autobot_operator
\endif

SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION'
              ' NOBYPASSRLS CONNECTION LIMIT 16', :'daemon_role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'daemon_role') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION'
              ' NOBYPASSRLS CONNECTION LIMIT 8', :'operator_role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'operator_role') \gexec
SELECT format('CREATE DATABASE %I ENCODING %L TEMPLATE template0', :'database', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec

REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"daemon_role", :"operator_role";

\connect :"database"
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS autobot AUTHORIZATION :"daemon_role";
REVOKE ALL ON SCHEMA autobot FROM PUBLIC;
ALTER ROLE :"daemon_role" IN DATABASE :"database" SET search_path = autobot;
ALTER ROLE :"operator_role" IN DATABASE :"database" SET search_path = autobot;
GRANT USAGE ON SCHEMA autobot TO :"operator_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"daemon_role" IN SCHEMA autobot
    GRANT SELECT ON TABLES TO :"operator_role";

SELECT to_regclass('autobot.requests') IS NOT NULL AS has_journal \gset
\if :has_journal
  GRANT SELECT ON ALL TABLES IN SCHEMA autobot TO :"operator_role";
  GRANT INSERT ON autobot.requests TO :"operator_role";
  SELECT format('GRANT USAGE ON SEQUENCE %s TO %I',
                pg_get_serial_sequence('autobot.requests', 'id'), :'operator_role') \gexec
  \echo 'autobot roles: done (the operator role may add requests)'
\else
  \echo 'autobot roles: done; start the daemon once (it creates the journal), then run this file again so the operator role may add requests'
\endif
