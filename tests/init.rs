//! `cutover init`: a template for every backend that the config loader takes, and
//! `--discover` against real peers — HAProxy's runtime API, an nginx file nginx itself
//! accepts, moto for the ALB and Route53, the in-tests Kubernetes API server — each found
//! pair written, then checked.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;
#[path = "common/kubeapi.rs"]
mod kubeapi;

use common::moto::{moto, peers};
use common::*;
use cutover::config::Config;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `cutover --config DIR/cutover.toml init ARGS…`, no terminal, AWS test credentials.
fn init(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--config")
        .arg(dir.join("cutover.toml"))
        .arg("init")
        .args(args)
        .envs(AWS_TEST_ENV)
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn written(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("cutover.toml")).unwrap()
}

#[test]
fn every_template_loads_and_nothing_is_overwritten_without_force() {
    for kind in [
        "sim",
        "haproxy",
        "nginx",
        "alb",
        "route53",
        "elastic-beanstalk",
        "kube-service",
        "kube-gateway",
        "kube-istio",
        "kube-ingress-nginx",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = init(dir.path(), &["--backend", kind]);
        let out = text(&o);
        assert!(out.contains("wrote"), "{kind}: {out}");
        // A template names nothing real: the check fails (1); the file itself loads.
        // (A kube template finds no kubeconfig here: the config does not load, as `check`
        // says, 2.)
        let expected = if kind.starts_with("kube") { 2 } else { 1 };
        assert_eq!(o.status.code(), Some(expected), "{kind}: {out}");
        let c = Config::load(&dir.path().join("cutover.toml"))
            .unwrap_or_else(|e| panic!("{kind}: the template does not load: {e}"));
        assert_eq!(c.backend.kind(), kind, "{kind}");
        if kind != "sim" {
            assert!(
                written(dir.path()).contains("EDIT"),
                "{kind}: what to fill in is marked"
            );
        }
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cutover.toml"), "# mine\n").unwrap();
    let o = init(dir.path(), &["--backend", "haproxy"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(written(dir.path()), "# mine\n", "untouched");
    let o = init(dir.path(), &["--backend", "haproxy", "--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(written(dir.path()).contains("kind = \"haproxy\""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cutover.toml.bak")).unwrap(),
        "# mine\n",
        "the old one is kept"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".init-"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file left: {leftovers:?}");

    // A second --force keeps both older files: nothing is ever replaced unseen.
    std::fs::write(dir.path().join("cutover.toml"), "# edited\n").unwrap();
    let o = init(dir.path(), &["--backend", "haproxy", "--force"]);
    assert!(text(&o).contains("cutover.toml.bak.2"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cutover.toml.bak.2")).unwrap(),
        "# edited\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cutover.toml.bak")).unwrap(),
        "# mine\n"
    );

    // What would not load is not written; a folder, a missing folder, another backend's
    // flag: bad usage, nothing written.
    let fresh = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--name", "a\"b\n[backend]"], "key `name`"),
        (vec!["--name", ""], "key `name`"),
        (
            vec!["--backend", "nginx", "--socket", "127.0.0.1:1"],
            "--socket is not a flag for --backend nginx",
        ),
    ] {
        let o = init(fresh.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
        assert!(!fresh.path().join("cutover.toml").exists(), "{args:?}");
    }
    for (config, says) in [
        (fresh.path().to_path_buf(), "is a folder"),
        (fresh.path().join("no/such/cutover.toml"), "does not exist"),
    ] {
        let o = Command::new(bin())
            .arg("--config")
            .arg(&config)
            .arg("init")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
    // A link, even one pointing nowhere, is something there: kept, and moved aside with
    // --force (the link itself, not what it points to).
    let link = fresh.path().join("cutover.toml");
    std::os::unix::fs::symlink(fresh.path().join("elsewhere.toml"), &link).unwrap();
    let o = init(fresh.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let o = init(fresh.path(), &["--force"]);
    assert!(text(&o).contains("kept as"), "{}", text(&o));
    assert!(
        std::fs::symlink_metadata(fresh.path().join("cutover.toml.bak"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        !fresh.path().join("elsewhere.toml").exists(),
        "nothing written through the link"
    );
    assert!(written(fresh.path()).contains("kind = \"sim\""));

    // Discovery needs its starting point, named after the config key.
    let o = init(
        dir.path(),
        &["--backend", "haproxy", "--discover", "--force"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--socket"), "{}", text(&o));
    let o = init(
        dir.path(),
        &["--backend", "route53", "--discover", "--force"],
    );
    assert!(text(&o).contains("--hosted-zone-id"), "{}", text(&o));
    let o = init(dir.path(), &["--backend", "nginx", "--discover", "--force"]);
    assert!(text(&o).contains("--upstream-file"), "{}", text(&o));
}

/// HAProxy in the foreground on loopback, killed on drop (with the store files cutover
/// keeps beside it).
struct Haproxy(std::process::Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        remove_haproxy_store(self.0.id());
    }
}

#[test]
fn haproxy_backends_with_two_servers_are_found_on_the_runtime_api() {
    if !require("haproxy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (front, admin) = (closed_port(), closed_port());
    let cfg = format!(
        "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\n\
defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind 127.0.0.1:{front}\n  default_backend app\n\
backend app\n  server green 127.0.0.1:{p1} weight 0\n  server blue 127.0.0.1:{p2} weight 100\n\
backend three\n  server a 127.0.0.1:{p1}\n  server b 127.0.0.1:{p2}\n  server c 127.0.0.1:{p2}\n\
backend one\n  server a 127.0.0.1:{p1}\n\
backend web\n  server old 127.0.0.1:{p1} weight 30\n  server new 127.0.0.1:{p2} weight 10\n\
backend hashed\n  balance source\n  server a 127.0.0.1:{p1}\n  server b 127.0.0.1:{p2}\n\
backend maint\n  server blue 127.0.0.1:{p1} weight 50\n  server green 127.0.0.1:{p2} weight 50 disabled\n",
        p1 = closed_port(),
        p2 = closed_port()
    );
    std::fs::write(dir.path().join("haproxy.cfg"), cfg).unwrap();
    let _h = Haproxy(
        Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(dir.path().join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(30, "HAProxy's runtime API", || {
        std::net::TcpStream::connect(("127.0.0.1", admin)).is_ok()
    });
    let socket = format!("127.0.0.1:{admin}");

    // Two found, no terminal to ask, no --pick: listed, nothing written.
    let o = init(
        dir.path(),
        &["--backend", "haproxy", "--discover", "--socket", &socket],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("found 3:"), "{out}");
    assert!(
        out.contains("3) backend maint: blue (100 %) / green (0 %, MAINT)"),
        "a server in maintenance takes nothing, whatever its weight: {out}"
    );
    assert!(
        out.contains("(skipped: backend hashed: `balance source`"),
        "{out}"
    );
    assert!(
        out.contains("1) backend app: blue (100 %) / green (0 %)"),
        "blue by name: {out}"
    );
    assert!(
        out.contains("2) backend web: old (75 %) / new (25 %)"),
        "{out}"
    );
    assert!(
        out.contains("(skipped: backend three: 3 servers")
            && out.contains("(skipped: backend one: 1 server "),
        "what is not a pair is said: {out}"
    );
    assert!(out.contains("--pick"), "{out}");
    assert!(!dir.path().join("cutover.toml").exists());

    let o = init(
        dir.path(),
        &[
            "--backend",
            "haproxy",
            "--discover",
            "--socket",
            &socket,
            "--pick",
            "1",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "written and checked: {out}");
    assert!(out.contains("ready"), "{out}");
    let c = written(dir.path());
    for line in [
        "kind = \"haproxy\"",
        &format!("socket = \"{socket}\""),
        "backend = \"app\"",
        "blue-server = \"blue\"",
        "green-server = \"green\"",
        "name = \"app\"",
    ] {
        assert!(c.contains(line), "{line} missing: {c}");
    }
    // And it drives: status reads what HAProxy has.
    let s = status(&dir.path().join("cutover.toml"));
    assert_eq!(s["weights"]["blue"], 100, "{s}");

    let o = init(
        dir.path(),
        &[
            "--backend",
            "haproxy",
            "--discover",
            "--socket",
            &socket,
            "--pick",
            "4",
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("expected 1 to 3"), "{}", text(&o));

    let dead = format!("127.0.0.1:{}", closed_port());
    let o = init(
        dir.path(),
        &[
            "--backend",
            "haproxy",
            "--discover",
            "--socket",
            &dead,
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("discovery failed") && text(&o).contains(&dead),
        "{}",
        text(&o)
    );
    assert!(
        written(dir.path()).contains("backend = \"app\""),
        "a failed discovery writes nothing"
    );
}

#[test]
fn nginx_upstreams_with_two_settable_servers_are_found_in_the_file() {
    if !require("nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let upstreams = "\
upstream app {\n    server 127.0.0.1:8081 weight=100;\n    server 127.0.0.1:8082 down;\n}\n\
upstream three {\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n    server 127.0.0.1:8083;\n}\n\
upstream sticky {\n    ip_hash;\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n}\n\
# upstream commented { server 127.0.0.1:1; server 127.0.0.1:2; }\n";
    std::fs::write(d.join("upstream.conf"), upstreams).unwrap();
    // The file is real nginx configuration: nginx itself accepts it.
    std::fs::write(
        d.join("nginx.conf"),
        format!(
            "pid {}/nginx.pid;\nerror_log {}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  include {}/upstream.conf;\n  server {{ listen 127.0.0.1:{}; location / {{ proxy_pass http://app; }} }}\n}}\n",
            d.display(),
            d.display(),
            d.display(),
            closed_port()
        ),
    )
    .unwrap();
    let t = Command::new("nginx")
        .args(["-t", "-q", "-p"])
        .arg(d)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .arg("-e")
        .arg(d.join("error.log"))
        .output()
        .unwrap();
    assert!(
        t.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&t.stderr)
    );

    // `check` runs the default `nginx -t`: on this test's nginx.conf, not the machine's.
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v nginx"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let shims = d.join("bin");
    std::fs::create_dir(&shims).unwrap();
    std::fs::write(
        shims.join("nginx"),
        format!(
            "#!/bin/sh\nexec {} \"$@\" -p {} -c {} -e {}\n",
            real.trim(),
            d.display(),
            d.join("nginx.conf").display(),
            d.join("error.log").display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(shims.join("nginx"))
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(bin())
        .current_dir(d)
        .args([
            "init",
            "--backend",
            "nginx",
            "--discover",
            "--upstream-file",
            "upstream.conf",
        ])
        .env("XDG_STATE_HOME", d)
        .env("PATH", &path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert!(out.contains("found 1:"), "{out}");
    assert!(
        out.contains("upstream app: 127.0.0.1:8081 (100 %) / 127.0.0.1:8082 (0 %)"),
        "{out}"
    );
    assert!(out.contains("taking the only one"), "{out}");
    assert!(
        out.contains("(skipped: `upstream three` has 3 servers"),
        "{out}"
    );
    assert!(
        out.contains("(skipped: `upstream sticky` has `ip_hash`"),
        "{out}"
    );
    let c = written(d);
    assert!(
        c.contains(&format!(
            "config = \"{}\"",
            d.join("upstream.conf").display()
        )),
        "an absolute path, whatever the working directory: {c}"
    );
    assert!(c.contains("upstream = \"app\""), "{c}");
    assert!(c.contains("green-server = \"127.0.0.1:8082\""), "{c}");
    // The check ran on it: the weights read from the file.
    assert!(out.contains("checking it"), "{out}");
    let s = status(&d.join("cutover.toml"));
    assert_eq!(s["weights"]["green"], 0, "{s}");
    assert_eq!(s["weights"]["blue"], 100, "{s}");
    assert_eq!(o.status.code(), Some(0), "the check passed: {out}");

    // Two to choose from, at a terminal: asked, a wrong answer asked again, then written.
    std::fs::write(
        d.join("upstream.conf"),
        format!("{upstreams}upstream api {{\n    server 127.0.0.1:9091;\n    server 127.0.0.1:9092;\n}}\n"),
    )
    .unwrap();
    if !require("tmux") {
        return;
    }
    let t = Tmux::new("init-pick");
    t.start(
        120,
        30,
        &format!(
            "cd {} && PATH={path} XDG_STATE_HOME={} {} init --backend nginx --discover --upstream-file upstream.conf --force; echo EXITED:$?; sleep 600",
            d.display(),
            d.display(),
            bin().display()
        ),
    );
    t.wait(20, "the question", |s| {
        s.contains("which one? [1-2, q to quit]")
    });
    assert!(
        t.screen()
            .contains("2) upstream api: 127.0.0.1:9091 (50 %) / 127.0.0.1:9092 (50 %)")
    );
    t.keys(&["7", "Enter"]);
    t.wait(10, "asked again", |s| {
        s.contains("expected a number from 1 to 2")
    });
    t.keys(&["2", "Enter"]);
    let screen = t.wait(30, "the exit", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert!(written(d).contains("upstream = \"api\""), "{}", written(d));
}

#[test]
fn alb_listeners_and_rules_forwarding_to_two_groups_are_found_in_moto() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/alb/setup.py");
    let o = Command::new("python3")
        .args([script, "--endpoint", &m.endpoint])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let args = [
        "--backend",
        "alb",
        "--discover",
        "--region",
        "eu-west-1",
        "--endpoint-url",
        &m.endpoint,
    ];
    let o = init(dir.path(), &args);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("found 2:"),
        "the redirect listener is not one: {out}"
    );
    assert!(
        out.contains(
            "1) checkout :80 default action: checkout-blue (100 %) / checkout-green (0 %)"
        ),
        "{out}"
    );
    assert!(
        out.contains("2) checkout :80 rule 10 (path-pattern /api/*)"),
        "{out}"
    );

    let mut pick = args.to_vec();
    pick.extend(["--pick", "2"]);
    let o = init(dir.path(), &pick);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let c = written(dir.path());
    for line in [
        format!("rule-arn = \"{}\"", r["rule"].as_str().unwrap()),
        format!("blue-target-group = \"{}\"", r["blue"].as_str().unwrap()),
        format!("green-target-group = \"{}\"", r["green"].as_str().unwrap()),
        "region = \"eu-west-1\"".to_string(),
        format!("endpoint-url = \"{}\"", m.endpoint),
    ] {
        assert!(c.contains(&line), "{line} missing: {c}");
    }
    assert!(!c.contains("listener-arn"), "{c}");
}

#[test]
fn route53_weighted_pairs_are_found_in_the_zone() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/route53/setup.py");
    let o = Command::new("python3")
        .args([
            script,
            "--endpoint",
            &m.endpoint,
            "--green-weight",
            "10",
            "--failover-name",
            "api.example.com.",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let zone = r["zone"].as_str().unwrap();
    let o = init(
        dir.path(),
        &[
            "--backend",
            "route53",
            "--discover",
            "--hosted-zone-id",
            zone,
            "--endpoint-url",
            &m.endpoint,
        ],
    );
    let out = text(&o);
    assert!(
        out.contains("found 1:"),
        "the failover pair is not one: {out}"
    );
    assert!(
        out.contains("www.example.com A: blue (90 %) / green (10 %)"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    let c = written(dir.path());
    for line in [
        format!("hosted-zone-id = \"{zone}\""),
        "record-name = \"www.example.com\"".into(),
        "record-type = \"A\"".into(),
        "blue-set-identifier = \"blue\"".into(),
        "green-set-identifier = \"green\"".into(),
    ] {
        assert!(c.contains(&line), "{line} missing: {c}");
    }
    let o = init(
        dir.path(),
        &[
            "--backend",
            "route53",
            "--discover",
            "--hosted-zone-id",
            "ZNOSUCHZONE",
            "--endpoint-url",
            &m.endpoint,
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("ZNOSUCHZONE"), "{}", text(&o));
}

#[test]
fn kube_routes_virtual_services_and_selector_services_are_found_in_the_namespace() {
    let api = kubeapi::KubeApi::start();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/k8s");
    for f in ["apps.yaml", "httproute.yaml", "virtualservice.yaml"] {
        api.load(&std::fs::read_to_string(demo.join(f)).unwrap(), "shop");
    }
    for d in ["checkout-blue", "checkout-green"] {
        api.edit(
            "apps/v1",
            "Deployment",
            "shop",
            d,
            json!({"status": {"readyReplicas": 2, "updatedReplicas": 2, "replicas": 2}}),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kc = api.kubeconfig(dir.path(), "shop");
    let kc = kc.to_str().unwrap();
    let o = init(
        dir.path(),
        &["--backend", "kube", "--discover", "--kubeconfig", kc],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "several, no --pick: {out}");
    assert!(out.contains("found 3:"), "{out}");
    assert!(
        out.contains("HTTPRoute checkout rule 1: checkout-blue (100 %) / checkout-green (0 %)"),
        "the smoke-test rule to green alone is not one: {out}"
    );
    assert!(out.contains("VirtualService checkout route"), "{out}");
    assert!(
        out.contains("Service checkout: selects version=blue (100 %) / version=green (0 %)"),
        "{out}"
    );
    assert!(
        !out.contains("Service checkout-blue"),
        "one env's own Service is no switch: {out}"
    );

    let o = init(
        dir.path(),
        &[
            "--backend",
            "kube-gateway",
            "--discover",
            "--kubeconfig",
            kc,
        ],
    );
    let out = text(&o);
    assert!(out.contains("taking the only one"), "{out}");
    assert_eq!(o.status.code(), Some(0), "{out}");
    let c = written(dir.path());
    for line in [
        "kind = \"kube-gateway\"",
        "namespace = \"shop\"",
        "http-route = \"checkout\"",
        "blue-service = \"checkout-blue\"",
        "green-service = \"checkout-green\"",
    ] {
        assert!(c.contains(line), "{line} missing: {c}");
    }
    let o = init(
        dir.path(),
        &[
            "--backend",
            "kube-service",
            "--discover",
            "--kubeconfig",
            kc,
            "--force",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let c = written(dir.path());
    assert!(
        c.contains("service = \"checkout\"") && c.contains("selector-key = \"version\""),
        "{c}"
    );
    assert!(c.contains("plan = [100]"), "a flip: {c}");

    // RBAC that refuses a list: said, and the rest still looked at.
    api.deny("list", "virtualservices");
    let o = init(
        dir.path(),
        &[
            "--backend",
            "kube",
            "--discover",
            "--kubeconfig",
            kc,
            "--pick",
            "1",
            "--force",
        ],
    );
    let out = text(&o);
    assert!(
        out.contains("not looked at: virtualservices.networking.istio.io"),
        "{out}"
    );
    assert!(out.contains("found 2:"), "{out}");

    api.allow_all();
    let o = init(
        dir.path(),
        &[
            "--backend",
            "kube",
            "--discover",
            "--kubeconfig",
            kc,
            "--pick",
            "2",
            "--force",
        ],
    );
    let out = text(&o);
    assert!(
        out.contains("found 3:") && !out.contains("not looked at"),
        "{out}"
    );
    assert!(
        written(dir.path()).contains("kind = \"kube-istio\""),
        "{}",
        written(dir.path())
    );
}
