-- A Flyway history as Flyway keeps it, and a read-only role for cutover.
CREATE TABLE flyway_schema_history (
  installed_rank INT PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL,
  type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT,
  installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(),
  execution_time INT NOT NULL, success BOOLEAN NOT NULL);
INSERT INTO flyway_schema_history VALUES
  (1, '1.4.0', 'create orders', 'SQL', 'V1.4.0__create_orders.sql', 0, 'deploy', now(), 12, true),
  (2, '1.4.2', 'add orders index', 'SQL', 'V1.4.2__add_orders_index.sql', 0, 'deploy', now(), 8, true);
CREATE ROLE cutover_ro LOGIN PASSWORD 'change-me';
GRANT SELECT ON flyway_schema_history TO cutover_ro;
