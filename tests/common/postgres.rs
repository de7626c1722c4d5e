//! A real PostgreSQL (Debian's `postgresql`) for the schema guard's tests: `initdb` and
//! `pg_ctl` in a temp folder, as the `postgres` user when the tests run as root (initdb
//! refuses root), on a loopback port picked at run time, with password (SCRAM) auth over
//! TCP; stopped with its own `pg_ctl stop` and removed on drop. SQL is run with `psql`
//! over the folder's Unix socket.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The password of the read-only role the tests give cutover.
pub const RO_PASSWORD: &str = "Tr0ub4dor-schema-9x";

pub struct Postgres {
    pub port: u16,
    /// Extra server options (`-c ssl=on …`).
    opts: String,
    dir: tempfile::TempDir,
    bindir: PathBuf,
    root: bool,
}

/// Where the server's programs are: on the PATH, else the package's own bin folder
/// (`/usr/lib/postgresql/<major>/bin` on Debian), newest major first.
fn bindir() -> Option<PathBuf> {
    let on_path = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(p) = on_path {
        let p = std::fs::canonicalize(p).ok()?;
        return p.parent().map(Path::to_path_buf);
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, b)| b)
}

impl Postgres {
    /// A running server, or `None` (SKIPPED, said) when PostgreSQL is not installed, unless
    /// `CUTOVER_PEERS=required`.
    pub fn start() -> Option<Postgres> {
        Postgres::start_with(|_| String::new())
    }

    /// A server that also speaks TLS, with a certificate for 127.0.0.1 signed by a test CA
    /// (made with `openssl`); returns it and the CA's PEM file.
    pub fn start_tls() -> Option<(Postgres, PathBuf)> {
        let mut ca = None;
        let pg = Postgres::start_with(|dir| {
            let sh = |cmd: &str| {
                let out = Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .current_dir(dir)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{cmd}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
            sh(&format!(
                "openssl req -x509 {ec} -keyout ca.key -out ca.crt -days 2 -subj /CN=cutover-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
            ));
            sh(&format!(
                "openssl req {ec} -keyout server.key -out server.csr -subj /CN=127.0.0.1"
            ));
            std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
            sh(
                "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext",
            );
            sh("chmod 600 server.key");
            ca = Some(dir.join("ca.crt"));
            format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.display()
            )
        })?;
        Some((pg, ca.unwrap()))
    }

    fn start_with(prepare: impl FnOnce(&Path) -> String) -> Option<Postgres> {
        let Some(bindir) = bindir() else {
            assert!(
                std::env::var("CUTOVER_PEERS").as_deref() != Ok("required"),
                "PostgreSQL is required (CUTOVER_PEERS=required) but not installed"
            );
            eprintln!("SKIPPED: PostgreSQL (initdb) is not installed");
            return None;
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap();
        let opts = prepare(dir.path());
        let pg = Postgres {
            opts,
            port: super::closed_port(),
            dir,
            bindir,
            root,
        };
        let pwfile = pg.dir.path().join("pw");
        std::fs::write(&pwfile, "admin-secret\n").unwrap();
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the data folder to postgres");
        }
        let data = pg.data();
        let out = pg
            .tool("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.pg_ctl_start();
        pg.psql(&format!(
            "CREATE ROLE cutover_ro LOGIN PASSWORD '{RO_PASSWORD}'"
        ));
        pg.psql("CREATE DATABASE app");
        pg.psql_in("app", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO cutover_ro; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO cutover_ro;");
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str) -> Command {
        let exe = self.bindir.join(name);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn pg_ctl_start(&self) {
        let out = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1{}",
                self.port,
                self.dir.path().display(),
                self.opts
            ))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// TCP connections only over TLS from now on (`hostssl` in `pg_hba.conf`, reloaded).
    pub fn hostssl_only(&self) {
        std::fs::write(
            self.data().join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        self.psql("SELECT pg_reload_conf()");
    }

    /// Stops the server (the database goes away under a running cockpit).
    pub fn stop(&self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// The URL cutover is given: the read-only role, its password, this server.
    pub fn url(&self) -> String {
        format!(
            "postgres://cutover_ro:{RO_PASSWORD}@127.0.0.1:{}/app",
            self.port
        )
    }

    /// Runs `sql` as the superuser in database `postgres`.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs `sql` as the superuser in `db`; panics with psql's words when it fails.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bindir.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `sql` in the app database.
    pub fn app(&self, sql: &str) -> String {
        self.psql_in("app", sql)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Flyway's own history table, as Flyway creates it.
pub const FLYWAY_TABLE: &str = "CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, success BOOLEAN NOT NULL);";

/// One Flyway history row: `V{version}__{description with _}.sql`.
pub fn flyway_row(rank: u32, version: &str, description: &str, success: bool) -> String {
    format!(
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ({rank}, '{version}', '{description}', 'SQL', 'V{version}__{}.sql', 0, 'deploy', 12, {success});",
        description.replace(' ', "_")
    )
}
