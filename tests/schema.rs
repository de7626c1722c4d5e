//! The schema guard against a real PostgreSQL: each migration tool's history read with a
//! read-only query, judged for the rollback target, and said by `check`, `status`, the
//! cockpit's rollback line and the journal. The incidents: a contract migration applied
//! during the cutover, a dirty or failed one, one past the old version's `schema-max`, an
//! auto-rollback that would send traffic onto a schema the old version cannot run on, a
//! database that stops answering, and a password that must never be shown.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::postgres::{FLYWAY_TABLE, Postgres, RO_PASSWORD, flyway_row};
use common::*;
use std::path::{Path, PathBuf};

/// A sim config with `[schema]` reading `pg` (the URL from a file), and `extra` on top.
fn config(sim: &SimServe, pg: &Postgres, dir: &Path, schema: &str, extra: &str) -> PathBuf {
    let url_file = dir.join("db-url");
    std::fs::write(&url_file, pg.url()).unwrap();
    sim.config(
        dir,
        &format!(
            "poll-interval = \"500ms\"\n{extra}\n[schema]\nurl-file = \"{}\"\ninterval = \"1s\"\ntimeout = \"3s\"\n{schema}\n",
            url_file.display()
        ),
    )
}

fn safety(cfg: &Path) -> serde_json::Value {
    status(cfg)["rollback_safety"].clone()
}

#[test]
fn an_expand_migration_is_safe_and_a_contract_one_during_the_cutover_is_not() {
    let Some(pg) = Postgres::start() else { return };
    pg.app(FLYWAY_TABLE);
    pg.app(&flyway_row(1, "41", "create orders", true));
    pg.app(&flyway_row(2, "42", "add orders index", true));
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, &pg, dir.path(), "tool = \"flyway\"", "");
    let o = cutover(&cfg, &["check"]);
    let out = stdout(&o);
    assert!(
        out.contains("✓ schema: postgres 127.0.0.1:")
            && out.contains("2 migrations read, newest V42"),
        "{out}{}",
        stderr(&o)
    );
    assert!(out.contains("✓ rollback safety: schema V42"), "{out}");
    // The cutover begins: the record keeps the schema blue served on.
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let rec = sim.record_text().unwrap();
    assert!(rec.contains(" schema=2_42"), "{rec}");
    let s = safety(&cfg);
    assert_eq!(s["state"], "safe", "{s}");
    assert_eq!(s["baseline"], "2_42", "{s}");
    // An expand migration: a nullable column. Blue can still run.
    pg.app(&flyway_row(
        3,
        "43",
        "add nullable column orders note",
        true,
    ));
    let s = safety(&cfg);
    assert_eq!(s["state"], "safe", "{s}");
    assert!(
        s["words"]
            .as_str()
            .unwrap()
            .contains("schema V43 (expand): blue can still run"),
        "{s}"
    );
    // A contract migration during the cutover: blue reads that column.
    pg.app(&flyway_row(4, "44", "drop column orders total", true));
    let s = safety(&cfg);
    assert_eq!(s["state"], "unsafe", "{s}");
    assert_eq!(s["target"], "blue");
    assert_eq!(s["migrations"][0]["version"], "44", "{s}");
    assert_eq!(s["migrations"][0]["why"], "contract", "{s}");
    assert_eq!(s["contract_before_old_env_gone"], true, "{s}");
    let words = s["words"].as_str().unwrap();
    assert!(
        words.starts_with("ROLLBACK MAY BREAK BLUE: V44 'drop column orders total' applied ")
            && words.contains("(contract); blue v1.4.2 last proven on V42"),
        "{words}"
    );
    let o = cutover(&cfg, &["status"]);
    assert!(
        stdout(&o).contains("rollback: ⚠ ROLLBACK MAY BREAK BLUE: V44"),
        "{}",
        stdout(&o)
    );
    let o = cutover(&cfg, &["check"]);
    assert!(!o.status.success(), "check fails on an unsafe rollback");
    assert!(
        stdout(&o).contains("✕ rollback safety: ROLLBACK MAY BREAK BLUE"),
        "{}",
        stdout(&o)
    );
    // Rollback is never blocked by it.
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(status(&cfg)["share"], 0);
}

#[test]
fn a_dirty_golang_migrate_history_or_one_past_schema_max_is_unsafe() {
    let Some(pg) = Postgres::start() else { return };
    pg.app("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (42, false);");
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, &pg, dir.path(), "tool = \"golang-migrate\"", "");
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(safety(&cfg)["state"], "safe");
    // golang-migrate keeps no description: a new version cannot be told expand or
    // contract, and is said as unknown, never as safe.
    pg.app("UPDATE schema_migrations SET version = 43");
    let s = safety(&cfg);
    assert_eq!(s["state"], "unknown", "{s}");
    assert!(s["words"].as_str().unwrap().contains("schema-max"), "{s}");
    // Dirty: the migration failed half-way.
    pg.app("UPDATE schema_migrations SET dirty = true");
    let s = safety(&cfg);
    assert_eq!(s["state"], "unsafe", "{s}");
    assert_eq!(s["migrations"][0]["why"], "failed", "{s}");
    assert!(
        s["words"]
            .as_str()
            .unwrap()
            .contains("FAILED: the history is dirty"),
        "{s}"
    );

    // Flyway, with blue's schema-max read from its own health answer (`/version`, which
    // the simulator's blue says is v1.4.2): a migration past it, applied before the
    // cutover began (at deploy time), still makes the rollback unsafe.
    let pg2 = Postgres::start().unwrap();
    pg2.app(FLYWAY_TABLE);
    pg2.app(&flyway_row(1, "1.4.2", "create orders", true));
    pg2.app(&flyway_row(2, "1.5.0", "add orders note", true));
    let dir2 = tempfile::tempdir().unwrap();
    let sim2 = SimServe::start("happy", &["--no-sleep"]);
    let cfg2 = config(
        &sim2,
        &pg2,
        dir2.path(),
        "tool = \"flyway\"",
        &format!(
            "[envs.blue]\nhealth = [\"http://{}/health\"]\nschema-max-pointer = \"/version\"\n[envs.green]\nhealth = [\"http://{}/health\"]\nschema-max = \"1.5.0\"\n",
            sim2.blue, sim2.green
        ),
    );
    let o = cutover(&cfg2, &["check"]);
    let out = stdout(&o);
    assert!(
        out.contains("✓ schema-max blue: v1.4.2"),
        "{out}{}",
        stderr(&o)
    );
    assert!(out.contains("✓ schema-max green: 1.5.0"), "{out}");
    assert!(
        out.contains("✕ rollback safety: ROLLBACK MAY BREAK BLUE: V1.5.0 'add orders note'")
            && out.contains("(past blue's schema-max v1.4.2)"),
        "{out}"
    );
    let s = safety(&cfg2);
    assert_eq!(s["state"], "unsafe", "{s}");
    assert_eq!(s["migrations"][0]["why"], "past-schema-max", "{s}");
    assert_eq!(s["proven_on"], "v1.4.2", "{s}");
}

#[test]
fn the_other_tools_histories_are_read() {
    let Some(pg) = Postgres::start() else { return };
    pg.app("CREATE SCHEMA lb; CREATE TABLE lb.databasechangelog (id varchar(255) NOT NULL, author varchar(255) NOT NULL, filename varchar(255) NOT NULL, dateexecuted timestamp NOT NULL, orderexecuted int NOT NULL, exectype varchar(10) NOT NULL, md5sum varchar(35), description varchar(255), comments varchar(255), tag varchar(255), liquibase varchar(20), contexts varchar(255), labels varchar(255), deployment_id varchar(10)); GRANT USAGE ON SCHEMA lb TO cutover_ro; GRANT SELECT ON lb.databasechangelog TO cutover_ro;");
    pg.app("INSERT INTO lb.databasechangelog (id, author, filename, dateexecuted, orderexecuted, exectype, description) VALUES ('1', 'ana', 'db/changelog.xml', now(), 1, 'EXECUTED', 'createTable tableName=orders'), ('2', 'ana', 'db/changelog.xml', now(), 2, 'EXECUTED', 'dropColumn columnName=total, tableName=orders');");
    pg.app("CREATE TABLE rails_migrations (version varchar NOT NULL PRIMARY KEY); INSERT INTO rails_migrations VALUES ('20261101000000'), ('20261120000000');");
    pg.app("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('ae1027a6acf');");
    pg.app("CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL DEFAULT now()); INSERT INTO django_migrations (app, name) VALUES ('orders', '0001_initial'), ('orders', '0002_rename_total_amount');");
    let sim = SimServe::start("happy", &["--no-sleep"]);
    for (schema, newest, n) in [
        (
            "tool = \"liquibase\"\ntable = \"lb.databasechangelog\"",
            "newest V2",
            2,
        ),
        (
            "tool = \"rails\"\ntable = \"rails_migrations\"",
            "newest V20261120000000",
            2,
        ),
        ("tool = \"alembic\"", "newest ae1027a6acf", 1),
        (
            "tool = \"django\"",
            "newest orders.0002_rename_total_amount",
            2,
        ),
        (
            "query = 'SELECT installed_rank AS rank, version, description FROM q_history ORDER BY installed_rank'",
            "newest V7",
            1,
        ),
    ] {
        if schema.starts_with("query") {
            pg.app("CREATE TABLE IF NOT EXISTS q_history (installed_rank int, version text, description text); INSERT INTO q_history VALUES (1, '7', 'create things');");
        }
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&sim, &pg, dir.path(), schema, "");
        let o = cutover(&cfg, &["check"]);
        let out = stdout(&o);
        let read = format!(
            "{n} migration{} read, {newest}",
            if n == 1 { "" } else { "s" }
        );
        assert!(
            out.contains(&read),
            "{schema}: wanted {read:?} in {out}{}",
            stderr(&o)
        );
    }
    // The session is read-only: a query that writes is refused by the server, and said.
    pg.app("CREATE SEQUENCE q_seq; GRANT USAGE, UPDATE ON SEQUENCE q_seq TO cutover_ro;");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &sim,
        &pg,
        dir.path(),
        "query = \"SELECT nextval('q_seq')::text AS version\"",
        "",
    );
    let o = cutover(&cfg, &["check"]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("✕ schema:") && out.contains("read-only"),
        "{out}"
    );
    assert_eq!(pg.app("SELECT last_value FROM q_seq").trim(), "1");
    assert_eq!(
        pg.app("SELECT is_called FROM q_seq").trim(),
        "f",
        "nothing was written"
    );
}

#[test]
fn a_database_that_stops_answering_is_unknown_never_safe_and_its_password_is_never_shown() {
    if !require("tmux") {
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    pg.app(FLYWAY_TABLE);
    pg.app(&flyway_row(1, "42", "create orders", true));
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, &pg, dir.path(), "tool = \"flyway\"", "");
    let mut seen = String::new();
    let t = Tmux::new("schema-db-down");
    t.start(130, 34, &cockpit_cmd(&cfg));
    let s = t.wait(20, "the rollback line", |s| {
        s.contains("rollback ✓ schema V42")
    });
    seen.push_str(&s);
    t.keys(&["Right"]);
    t.wait(20, "the step", |s| s.contains("[10]"));
    pg.stop();
    let s = t.wait(20, "the schema said unknown", |s| {
        s.contains("? schema UNKNOWN for a rollback to blue: the database did not answer")
    });
    seen.push_str(&s);
    let o = cutover(&cfg, &["status", "--json"]);
    assert!(
        !o.status.success(),
        "an unreachable database is not a clean status"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rollback_safety"]["state"], "unknown", "{v}");
    assert!(
        v["errors"]["schema"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{v}"
    );
    seen.push_str(&stdout(&o));
    seen.push_str(&stderr(&o));
    for args in [&["status"][..], &["check"][..]] {
        let o = cutover(&cfg, args);
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    // `r` still rolls back.
    t.keys(&["r"]);
    let s = t.wait(20, "the rollback", |s| {
        s.contains("[0]") && s.contains("verified")
    });
    seen.push_str(&s);
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:"));
    // A wrong password: said, and neither password shown.
    std::fs::write(
        dir.path().join("db-url"),
        pg.url().replace(RO_PASSWORD, "Wr0ng-pass-7q"),
    )
    .unwrap();
    let o = cutover(&cfg, &["check"]);
    seen.push_str(&stdout(&o));
    seen.push_str(&stderr(&o));
    seen.push_str(&std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap_or_default());
    assert!(
        !seen.contains(RO_PASSWORD),
        "the password was shown: {seen}"
    );
    assert!(
        !seen.contains("Wr0ng-pass-7q"),
        "the password was shown: {seen}"
    );
    assert!(seen.contains("unknown"), "{seen}");
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(
        journal
            .lines()
            .any(|l| l.contains("\"rollback-safety\"") && l.contains("unknown: schema UNKNOWN")),
        "{journal}"
    );
}

/// A contract migration lands while green (failing under load) carries half the traffic:
/// the cockpit's rollback line turns red and the driver journals why; when the
/// auto-rollback's time comes it does not write — it asks — and `r` still rolls back.
#[test]
fn an_auto_rollback_onto_an_unsafe_schema_asks_a_human_instead_of_writing() {
    if !require("tmux") {
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    pg.app(FLYWAY_TABLE);
    pg.app(&flyway_row(1, "42", "create orders", true));
    let sim = SimServe::start("bad-release", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &sim,
        &pg,
        dir.path(),
        "tool = \"flyway\"",
        "[guardrails]\nauto-rollback = \"4s\"\n",
    );
    // The cutover begins from the CLI: the record keeps V42 (rank 1) as the baseline.
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(sim.record_text().unwrap().contains(" schema=1_42"));
    // The release's migration runs its contract step too early.
    pg.app(&flyway_row(2, "43", "drop column orders total", true));
    let t = Tmux::new("schema-auto");
    t.start(150, 34, &cockpit_cmd(&cfg));
    t.wait(20, "the red rollback line", |s| {
        s.contains("⚠ ROLLBACK MAY BREAK BLUE: V43 'drop column orders total' applied")
    });
    let s = t.wait(60, "the auto-rollback held", |s| {
        s.contains("AUTO-ROLLBACK HELD: the schema makes a rollback unsafe")
    });
    assert!(s.contains("[50]"), "{s}");
    // Nothing was written: the traffic stays where it was until a human decides.
    assert_eq!(status(&cfg)["share"], 50);
    let s = safety(&cfg);
    assert_eq!(s["state"], "unsafe", "{s}");
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(
        journal.lines().any(|l| l.contains("\"rollback-safety\"")
            && l.contains("unsafe: ROLLBACK MAY BREAK BLUE: V43")),
        "{journal}"
    );
    assert!(
        journal
            .lines()
            .any(|l| l.contains("\"auto-rollback-held\"")),
        "{journal}"
    );
    assert!(
        !journal
            .lines()
            .any(|l| l.contains("\"action\":\"auto-rollback\"")),
        "no auto-rollback was written: {journal}"
    );
    // A human decides: `r` rolls back at once.
    t.keys(&["r"]);
    t.wait(20, "the rollback", |s| s.contains("[0]"));
    assert_eq!(status(&cfg)["share"], 0);
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:"));
}

/// `sslmode=require`: the connection is TLS (rustls), the server's certificate checked
/// against the system's roots and `ca-file`; one no root vouches for is refused, and said.
#[test]
fn a_tls_database_is_read_only_with_a_certificate_it_can_check() {
    let Some((pg, ca)) = Postgres::start_tls() else {
        return;
    };
    pg.app(FLYWAY_TABLE);
    pg.app(&flyway_row(1, "42", "create orders", true));
    // Only TLS connections from now on: a plain one is refused by the server.
    pg.hostssl_only();
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("db-url");
    let cfg = config(
        &sim,
        &pg,
        dir.path(),
        &format!("tool = \"flyway\"\nca-file = \"{}\"", ca.display()),
        "",
    );
    std::fs::write(&url_file, format!("{}?sslmode=require", pg.url())).unwrap();
    let o = cutover(&cfg, &["check"]);
    let out = stdout(&o);
    assert!(
        out.contains("✓ schema: postgres 127.0.0.1:"),
        "{out}{}",
        stderr(&o)
    );
    // The same URL without `sslmode=require` is refused: the ✓ above went over TLS.
    std::fs::write(&url_file, pg.url()).unwrap();
    let o = cutover(&cfg, &["check"]);
    assert!(
        stdout(&o).contains("✕ schema:") && stdout(&o).contains("no encryption"),
        "{}",
        stdout(&o)
    );
    std::fs::write(&url_file, format!("{}?sslmode=require", pg.url())).unwrap();
    // Without the CA, nothing vouches for the certificate: refused, and said.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(&format!("ca-file = \"{}\"", ca.display()), ""),
    )
    .unwrap();
    let o = cutover(&cfg, &["check"]);
    let out = stdout(&o);
    assert!(!o.status.success());
    assert!(
        out.contains("✕ schema:") && out.to_lowercase().contains("certificate"),
        "{out}"
    );
    assert!(!out.contains(RO_PASSWORD), "{out}");
}
