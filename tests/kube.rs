//! The Kubernetes backends against a small API server on loopback (tests/common/kubeapi.rs)
//! that the kube client talks to over real HTTP, loaded with the manifests a user applies
//! (demo/k8s/*.yaml) and driven with the configs a user runs (demo/k8s/*.toml).
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;
#[path = "common/kubeapi.rs"]
mod kubeapi;

use common::*;
use cutover::app::engine::{self, WriteResult};
use cutover::app::journal::{Journal, Phase, Who};
use cutover::backends::kube::{KubeBackend, KubeHealth, KubeSettings};
use cutover::backends::{Backend, Switch};
use cutover::config::{BackendConfig, Config};
use cutover::core::{Env, Health, Weights};
use cutover::signals::SignalSource;
use kubeapi::KubeApi;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const NS: &str = "shop";
const ROUTE: &str = "gateway.networking.k8s.io/v1";
const ISTIO: &str = "networking.istio.io/v1";
const NET: &str = "networking.k8s.io/v1";

fn demo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo/k8s")
        .join(file)
}

/// An emulator loaded with the apps and `manifest`.
fn cluster(manifest: &str) -> KubeApi {
    let api = KubeApi::start();
    api.load(&std::fs::read_to_string(demo("apps.yaml")).unwrap(), NS);
    api.load(&std::fs::read_to_string(demo(manifest)).unwrap(), NS);
    // The pods came up, as the Deployment controller would say.
    for d in ["checkout-blue", "checkout-green"] {
        api.edit(
            "apps/v1",
            "Deployment",
            NS,
            d,
            json!({"status": {"readyReplicas": 2, "updatedReplicas": 2, "replicas": 2}}),
        );
    }
    api
}

/// The settings of a demo config, pointed at the emulator.
fn settings(api: &KubeApi, dir: &Path, toml: &str) -> KubeSettings {
    let c = Config::load(&demo(toml)).unwrap();
    let BackendConfig::Kube(mut k) = c.backend else {
        panic!("{toml} is not a kube config")
    };
    k.kubeconfig = Some(api.kubeconfig(dir, NS));
    k.timeout = Duration::from_secs(3);
    k
}

/// A demo config for the CLI: the same file plus the emulator's kubeconfig and a journal.
fn config_file(api: &KubeApi, dir: &Path, toml: &str) -> PathBuf {
    let text = std::fs::read_to_string(demo(toml)).unwrap();
    let path = dir.join(toml);
    std::fs::write(
        &path,
        format!(
            "journal = {:?}\n{text}\nkubeconfig = {:?}\ntimeout = \"3s\"\n",
            dir.join("journal.jsonl"),
            api.kubeconfig(dir, NS)
        ),
    )
    .unwrap();
    path
}

async fn backend(api: &KubeApi, dir: &Path, toml: &str) -> KubeBackend {
    KubeBackend::connect(settings(api, dir, toml))
        .await
        .unwrap()
}

/// The blue and green weights as they sit in the stored object, read without cutover.
fn stored(api: &KubeApi, toml: &str) -> (u64, u64) {
    let w = |v: &Value| v.as_u64().unwrap();
    match toml {
        "gateway.toml" => {
            let r = api.get(ROUTE, "HTTPRoute", NS, "checkout");
            let refs = &r["spec"]["rules"][1]["backendRefs"];
            (w(&refs[0]["weight"]), w(&refs[1]["weight"]))
        }
        "istio.toml" => {
            let v = api.get(ISTIO, "VirtualService", NS, "checkout");
            let r = &v["spec"]["http"][1]["route"];
            (w(&r[0]["weight"]), w(&r[1]["weight"]))
        }
        "ingress-nginx.toml" => {
            let g = api.get(NET, "Ingress", NS, "checkout-green");
            let cw: u64 = g["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (100 - cw, cw)
        }
        _ => unreachable!(),
    }
}

/// What must not change when the weights do.
fn the_rest(api: &KubeApi, toml: &str) -> Value {
    match toml {
        "gateway.toml" => {
            let mut r = api.get(ROUTE, "HTTPRoute", NS, "checkout");
            r["spec"]["rules"][1]["backendRefs"][0]["weight"] = Value::Null;
            r["spec"]["rules"][1]["backendRefs"][1]["weight"] = Value::Null;
            r["spec"].clone()
        }
        "istio.toml" => {
            let mut v = api.get(ISTIO, "VirtualService", NS, "checkout");
            v["spec"]["http"][1]["route"][0]["weight"] = Value::Null;
            v["spec"]["http"][1]["route"][1]["weight"] = Value::Null;
            v["spec"].clone()
        }
        _ => {
            let mut g = api.get(NET, "Ingress", NS, "checkout-green");
            g["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] = Value::Null;
            json!([
                g["spec"],
                g["metadata"]["annotations"],
                api.get(NET, "Ingress", NS, "checkout-blue")["spec"]
            ])
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn weighted_kinds_step_with_read_back_and_leave_the_rest_alone() {
    for (toml, manifest) in [
        ("gateway.toml", "httproute.yaml"),
        ("ingress-nginx.toml", "ingress.yaml"),
        ("istio.toml", "virtualservice.yaml"),
    ] {
        let api = cluster(manifest);
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
        let b = backend(&api, dir.path(), toml).await;
        assert_eq!(
            b.read().await.unwrap().share_of(Env::Green),
            Some(0),
            "{toml}"
        );
        let rest = the_rest(&api, toml);
        for (i, share) in [10u8, 50, 100, 0].into_iter().enumerate() {
            let r = engine::apply(&b, &journal, &Who::current(), &order(i as u64, share))
                .await
                .result;
            let WriteResult::Verified { after, .. } = r else {
                panic!("{toml} {share}: {r:?}")
            };
            assert_eq!(after.share_of(Env::Green), Some(share), "{toml}");
            let share = u64::from(share);
            assert_eq!(stored(&api, toml), (100 - share, share), "{toml}");
            assert_eq!(
                the_rest(&api, toml),
                rest,
                "{toml}: only the weights change"
            );
        }
        // Every write was a merge patch that named the resourceVersion it was based on.
        let patches = api
            .store()
            .requests
            .iter()
            .filter(|r| r.starts_with("patch"))
            .count();
        // Each write: one patch of the weights (the record's annotation is patched around it).
        let weights_patches = api
            .store()
            .requests
            .iter()
            .filter(|r| r.starts_with("spec-patch"))
            .count();
        assert_eq!(weights_patches, 4, "{toml}: one weights patch per write");
        assert!(
            patches > weights_patches,
            "{toml}: and the record's around them"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_flips_its_selector_and_refuses_splits() {
    let api = cluster("apps.yaml");
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let b = backend(&api, dir.path(), "service.toml").await;
    assert!(!b.capabilities().weighted);
    assert_eq!(b.read().await.unwrap(), Weights::new(1, 0));
    let selector = || api.get("v1", "Service", NS, "checkout")["spec"]["selector"].clone();
    for (i, share) in [100u8, 0].into_iter().enumerate() {
        let r = engine::apply(&b, &journal, &Who::current(), &order(i as u64, share))
            .await
            .result;
        assert!(matches!(r, WriteResult::Verified { .. }), "{share}: {r:?}");
        let want = if share == 100 { "green" } else { "blue" };
        assert_eq!(selector(), json!({"app": "checkout", "version": want}));
    }
    let e = b.write(Weights::new(1, 1)).await.unwrap_err().to_string();
    assert!(e.contains("can only flip its selector"), "{e}");
    assert_eq!(
        selector()["version"],
        "blue",
        "a refused split changes nothing"
    );

    // The CLI: no partial steps; promote and rollback work.
    let cfg = config_file(&api, dir.path(), "service.toml");
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("kube-service switches all traffic at once"),
        "{}",
        stderr(&o)
    );
    assert_eq!(selector()["version"], "blue");
    let o = cutover(&cfg, &["step"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "promotion asks for --yes: {}",
        stderr(&o)
    );
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(selector()["version"], "green");
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(selector()["version"], "blue");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_by_someone_else_shows_through_the_watch() {
    for (toml, manifest) in [
        ("gateway.toml", "httproute.yaml"),
        ("service.toml", "apps.yaml"),
        ("ingress-nginx.toml", "ingress.yaml"),
        ("istio.toml", "virtualservice.yaml"),
    ] {
        let api = cluster(manifest);
        let dir = tempfile::tempdir().unwrap();
        let b = backend(&api, dir.path(), toml).await;
        // The first wake-up is the watch's initial list.
        tokio::time::timeout(Duration::from_secs(10), b.changed())
            .await
            .unwrap_or_else(|_| panic!("{toml}: the watch starts"));
        let reads = || {
            api.store()
                .requests
                .iter()
                .filter(|r| r.starts_with("get "))
                .count()
        };
        let before = reads();
        match toml {
            "gateway.toml" => api.edit(
                ROUTE,
                "HTTPRoute",
                NS,
                "checkout",
                json!({"spec": {"rules": [
                    {"backendRefs": [{"name": "checkout-green", "port": 80}]},
                    {"backendRefs": [{"name": "checkout-blue", "port": 80, "weight": 70},
                                     {"name": "checkout-green", "port": 80, "weight": 30}]}
                ]}}),
            ),
            "service.toml" => api.edit(
                "v1",
                "Service",
                NS,
                "checkout",
                json!({"spec": {"selector": {"version": "green"}}}),
            ),
            "ingress-nginx.toml" => api.edit(
                NET,
                "Ingress",
                NS,
                "checkout-green",
                json!({"metadata": {"annotations": {"nginx.ingress.kubernetes.io/canary-weight": "30"}}}),
            ),
            _ => {
                let mut v = api.get(ISTIO, "VirtualService", NS, "checkout");
                v["spec"]["http"][1]["route"][0]["weight"] = json!(70);
                v["spec"]["http"][1]["route"][1]["weight"] = json!(30);
                api.put(v);
            }
        }
        tokio::time::timeout(Duration::from_secs(10), b.changed())
            .await
            .unwrap_or_else(|_| panic!("{toml}: the watch reports the edit"));
        // Woken by the watch stream, not by a poll: no request was made in between.
        assert_eq!(reads(), before, "{toml}");
        let want = if toml == "service.toml" { 100 } else { 30 };
        assert_eq!(
            b.read().await.unwrap().share_of(Env::Green),
            Some(want),
            "{toml}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_write_names_verb_and_resource_and_the_state_is_reread() {
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let b = backend(&api, dir.path(), "gateway.toml").await;
    api.deny("patch", "httproutes");
    // A step fails closed: the cutover record cannot be written, so nothing is.
    let r = engine::apply(&b, &journal, &Who::current(), &order(1, 10))
        .await
        .result;
    let WriteResult::Refused { reason } = r else {
        panic!("{r:?}")
    };
    assert!(reason.contains("RBAC denied `patch`"), "{reason}");
    assert_eq!(stored(&api, "gateway.toml"), (100, 0));
    assert_eq!(
        Journal::read_all(journal.path())
            .unwrap()
            .last()
            .unwrap()
            .phase,
        Phase::Refused
    );
    // A rollback fails open: it tries the write, which says what RBAC denied.
    let r = engine::apply(&b, &journal, &Who::current(), &order(2, 0))
        .await
        .result;
    let WriteResult::Failed { error, after } = r else {
        panic!("{r:?}")
    };
    assert!(
        error.contains("RBAC denied `patch` on httproutes.gateway.networking.k8s.io shop/checkout"),
        "{error}"
    );
    assert!(
        error.contains("cannot patch resource"),
        "the server's words: {error}"
    );
    assert_eq!(
        after,
        Some(Weights::new(100, 0)),
        "re-read after the failure"
    );
    assert_eq!(stored(&api, "gateway.toml"), (100, 0));
    let entries = Journal::read_all(journal.path()).unwrap();
    assert_eq!(entries.last().unwrap().phase, Phase::Failed);

    // A denied read says so too, for Deployments as for the route.
    api.deny("get", "httproutes");
    let e = b.read().await.unwrap_err().to_string();
    assert!(e.contains("RBAC denied `get` on httproutes"), "{e}");
    api.deny("list", "deployments");
    let e = KubeHealth(backend(&api, dir.path(), "gateway.toml").await)
        .poll()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("RBAC denied"), "{e}");

    // The CLI exits 1 and says the same.
    api.allow_all();
    api.deny("patch", "httproutes");
    let cfg = config_file(&api, dir.path(), "gateway.toml");
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("RBAC denied `patch`"), "{}", stderr(&o));

    // `check` proves the write side with a SelfSubjectAccessReview, without writing.
    let patches = |api: &KubeApi| {
        api.store()
            .requests
            .iter()
            .filter(|r| r.starts_with("patch"))
            .count()
    };
    let before = patches(&api);
    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "✕ write side: RBAC does not allow `patch` on httproutes.gateway.networking.k8s.io shop/checkout"
        ),
        "{}",
        stdout(&o)
    );
    api.allow_all();
    let o = cutover(&cfg, &["check"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✓ write side: RBAC allows patch httproutes"),
        "{}",
        stdout(&o)
    );
    assert_eq!(patches(&api), before, "check never writes");
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_are_reread_and_retried_and_a_rollback_tries_harder() {
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let b = backend(&api, dir.path(), "gateway.toml").await;
    api.store().conflicts_to_inject = 2;
    let r = engine::apply(&b, &journal, &Who::current(), &order(1, 10))
        .await
        .result;
    assert!(matches!(r, WriteResult::Verified { .. }), "{r:?}");
    assert_eq!(stored(&api, "gateway.toml"), (90, 10));
    // Someone else's change survived: each retry re-read before patching.
    let labels = api.get(ROUTE, "HTTPRoute", NS, "checkout")["metadata"]["labels"].clone();
    assert_eq!(labels["touched-by"], "someone-else");

    api.store().conflicts_to_inject = 3;
    let r = engine::apply(&b, &journal, &Who::current(), &order(2, 50))
        .await
        .result;
    let WriteResult::Failed { error, after } = r else {
        panic!("{r:?}")
    };
    assert!(error.contains("conflict"), "{error}");
    assert_eq!(after, Some(Weights::new(90, 10)));

    api.store().conflicts_to_inject = 6;
    let r = engine::apply(&b, &journal, &Who::current(), &order(3, 0))
        .await
        .result;
    assert!(matches!(r, WriteResult::Verified { .. }), "rollback: {r:?}");
    assert_eq!(stored(&api, "gateway.toml"), (100, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_that_do_not_match_the_config_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A route whose split rule lost green.
    let api = cluster("httproute.yaml");
    let mut r = api.get(ROUTE, "HTTPRoute", NS, "checkout");
    r["spec"]["rules"][1]["backendRefs"][1]["name"] = json!("checkout-canary");
    api.put(r.clone());
    let b = backend(&api, dir.path(), "gateway.toml").await;
    let e = b.read().await.unwrap_err().to_string();
    assert!(
        e.contains("no rule whose backendRefs name both Services checkout-blue and checkout-green"),
        "{e}"
    );
    assert!(e.contains("rule 1 → checkout-blue, checkout-canary"), "{e}");
    let e = b.write(Weights::new(90, 10)).await.unwrap_err().to_string();
    assert!(e.contains("refusing to touch it"), "{e}");
    assert_eq!(
        api.get(ROUTE, "HTTPRoute", NS, "checkout")["spec"],
        r["spec"]
    );

    // A Service selecting something else.
    let api = cluster("apps.yaml");
    api.edit(
        "v1",
        "Service",
        NS,
        "checkout",
        json!({"spec": {"selector": {"version": "canary"}}}),
    );
    let b = backend(&api, dir.path(), "service.toml").await;
    let e = b.read().await.unwrap_err().to_string();
    assert!(e.contains("version=canary, which is neither blue"), "{e}");

    // No canary Ingress at all; a missing object.
    let api = cluster("ingress.yaml");
    api.edit(
        NET,
        "Ingress",
        NS,
        "checkout-green",
        json!({"metadata": {"annotations": null}}),
    );
    let b = backend(&api, dir.path(), "ingress-nginx.toml").await;
    let e = b.read().await.unwrap_err().to_string();
    assert!(
        e.contains("neither Ingress checkout-blue nor checkout-green"),
        "{e}"
    );
    let api = cluster("apps.yaml");
    let b = backend(&api, dir.path(), "istio.toml").await;
    let e = b.read().await.unwrap_err().to_string();
    assert!(e.contains("VirtualService shop/checkout not found"), "{e}");

    // The CLI's check says it and exits 1.
    let api = cluster("httproute.yaml");
    api.put(r);
    let cfg = config_file(&api, dir.path(), "gateway.toml");
    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("✕ backend"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn deployment_readiness_is_each_envs_health() {
    for (toml, manifest) in [
        ("gateway.toml", "httproute.yaml"),
        ("service.toml", "apps.yaml"),
        ("ingress-nginx.toml", "ingress.yaml"),
        ("istio.toml", "virtualservice.yaml"),
    ] {
        let api = cluster(manifest);
        let dir = tempfile::tempdir().unwrap();
        let ready = |name: &str, n: u64| {
            api.edit(
                "apps/v1",
                "Deployment",
                NS,
                name,
                json!({"status": {"readyReplicas": n, "updatedReplicas": 2, "replicas": 2}}),
            );
        };
        ready("checkout-blue", 2);
        ready("checkout-green", 1);
        let h = KubeHealth(backend(&api, dir.path(), toml).await);
        let p = h.poll().await.unwrap();
        let blue = p.blue.health.clone().unwrap();
        let green = p.green.health.clone().unwrap();
        assert_eq!(
            (blue.health, blue.up, blue.total),
            (Health::Up, 2, 2),
            "{toml}"
        );
        assert_eq!(
            (green.health, green.up, green.total),
            (Health::Degraded, 1, 2),
            "{toml}"
        );
        assert_eq!(
            green.detail, "Deployment checkout-green: 1/2 ready",
            "{toml}"
        );
        // Blue scaled to zero: down, and said so.
        api.edit(
            "apps/v1",
            "Deployment",
            NS,
            "checkout-blue",
            json!({"spec": {"replicas": 0}, "status": {"readyReplicas": 0}}),
        );
        let p = h.poll().await.unwrap();
        let blue = p.blue.health.unwrap();
        assert_eq!((blue.health, blue.total), (Health::Down, 0), "{toml}");
        assert_eq!(blue.detail, "Deployment checkout-blue scaled to 0");
    }
}

#[test]
fn cli_status_and_config_errors() {
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&api, dir.path(), "gateway.toml");
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status(&cfg);
    assert_eq!(s["backend"], "kube-gateway", "{s}");
    assert_eq!(s["share"], 10, "{s}");
    assert_eq!(stored(&api, "gateway.toml"), (90, 10));

    for (extra, words) in [
        (
            "service = \"x\"\n",
            "key `backend.service`: not used by kind \"kube-gateway\"",
        ),
        ("namespace = \"Shop_1\"\n", "key `backend.namespace`"),
    ] {
        let text = std::fs::read_to_string(&cfg).unwrap() + extra;
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text.replace("namespace = \"shop\"\n", "")).unwrap();
        let o = cutover(&bad, &["status"]);
        assert_eq!(o.status.code(), Some(2), "{extra}");
        assert!(stderr(&o).contains(words), "{}", stderr(&o));
    }
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("http-route = \"checkout\"\n", "");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let o = cutover(&bad, &["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("key `backend.http-route`: missing: kube-gateway needs it"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(bin())
        .args(["--config"])
        .arg(demo("gateway.toml"))
        .arg("status")
        .env("KUBECONFIG", dir.path().join("nope"))
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("kubeconfig"), "{}", stderr(&o));
}

/// The cockpit in tmux against the emulator, polling only every 30 s: a key step lands and
/// is read back; an edit by someone else shows within seconds (so through the watch) and
/// is journaled as external; a denied write is said on screen and traffic stays put.
#[test]
fn cockpit_steps_sees_external_edits_at_once_and_says_denials() {
    if !require("tmux") {
        return;
    }
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config_file(&api, dir.path(), "gateway.toml")).unwrap();
    let cfg = dir.path().join("slow-poll.toml");
    std::fs::write(
        &cfg,
        format!(
            "live = \"blue\"\n{}",
            text.replace("poll-interval = \"1s\"", "poll-interval = \"30s\"")
        ),
    )
    .unwrap();
    let t = Tmux::new("kube");
    t.start(120, 32, &cockpit_cmd(&cfg));
    let s = t.wait(20, "the cockpit at 0 %", |s| s.contains("[0]"));
    assert!(s.contains("kube-gateway"), "{s}");
    assert!(s.contains("HTTPRoute shop/checkout"), "{s}");

    // Deployment readiness is all kube says: nothing would judge green's errors or latency,
    // so the first step is a confirmed, journaled override of the pre-flight.
    t.keys(&["Right"]);
    t.wait(20, "the pre-flight names the missing data", |s| {
        s.contains("PRE-FLIGHT failed") && s.contains("no source for error-rate or p99")
    });
    t.keys(&["y"]);
    t.wait(20, "10 % verified", |s| {
        s.contains("[10]") && s.contains("→ 10 % applied")
    });
    assert_eq!(stored(&api, "gateway.toml"), (90, 10));

    let mut r = api.get(ROUTE, "HTTPRoute", NS, "checkout");
    r["spec"]["rules"][1]["backendRefs"][0]["weight"] = json!(60);
    r["spec"]["rules"][1]["backendRefs"][1]["weight"] = json!(40);
    api.put(r);
    // The poll interval is 30 s: seeing it within 10 s means the watch carried it.
    t.wait(10, "the external edit", |s| {
        s.contains("[40]") && s.contains("external change")
    });
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"external\""), "{journal}");

    api.deny("patch", "httproutes");
    t.keys(&["Right"]);
    let s = t.wait(20, "the denial", |s| s.contains("RBAC denied `patch`"));
    assert!(s.contains("[40]"), "{s}");
    assert_eq!(stored(&api, "gateway.toml"), (60, 40));

    // Rollback still goes through once the permission is back.
    api.allow_all();
    t.keys(&["r"]);
    t.wait(20, "rolled back", |s| {
        s.contains("[0]") && s.contains("→ 0 % applied")
    });
    assert_eq!(stored(&api, "gateway.toml"), (100, 0));
    t.keys(&["q"]);
    t.wait(10, "exit", |s| s.contains("EXITED:0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_driver_lease_is_an_annotation_swapped_with_resource_versions() {
    use cutover::app::lease::{self, Me, Standing};
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&api, dir.path(), "gateway.toml").await;
    let (alice, bob) = (Me::new("alice@h", 15_000), Me::new("bob@h", 15_000));
    let Standing::Mine(l) = lease::acquire(&b, &alice, 1_000).await.unwrap() else {
        panic!("alice drives")
    };
    let stored = api.get(ROUTE, "HTTPRoute", NS, "checkout")["metadata"]["annotations"]
        ["cutover/driver-lease"]
        .clone();
    assert_eq!(stored, json!(l.encode()));
    assert!(
        b.lease_place()
            .contains("annotation cutover/driver-lease on HTTPRoute shop/checkout")
    );
    // Someone edits the route meanwhile: the renewal's stale resourceVersion gets a 409,
    // is re-read and goes through.
    api.store().conflicts_to_inject = 1;
    assert!(matches!(
        lease::acquire(&b, &alice, 2_000).await.unwrap(),
        Standing::Mine(_)
    ));
    assert!(matches!(
        lease::acquire(&b, &bob, 3_000).await.unwrap(),
        Standing::Theirs(_)
    ));
    // The weights are untouched by lease writes.
    assert_eq!(stored_weights(&api), (100, 0));
    assert!(lease::release(&b, &alice).await.unwrap());
    assert_eq!(
        api.get(ROUTE, "HTTPRoute", NS, "checkout")["metadata"]["annotations"]
            .get("cutover/driver-lease"),
        None,
        "released: the annotation is gone"
    );
    // Denied: said plainly.
    api.deny("patch", "httproutes");
    let e = lease::acquire(&b, &bob, 4_000)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("RBAC denied `patch`"), "{e}");
}

fn stored_weights(api: &KubeApi) -> (u64, u64) {
    stored(api, "gateway.toml")
}

/// A server on loopback that is not a Kubernetes API: every request gets `status` and
/// `body` (at most 200 requests, then it stops answering).
fn not_an_api(status: u16, content_type: &str, body: &str) -> String {
    not_an_api_with(status, content_type, "", body)
}

/// [`not_an_api`] with more header lines (each ending in `\r\n`).
fn not_an_api_with(status: u16, content_type: &str, headers: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 {status} Whatever\r\ncontent-type: {content_type}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for s in l.incoming().take(200) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer.as_bytes());
        }
    });
    url
}

/// Any kube client error on stdout or stderr is one readable line: a proxy's HTML page, an
/// API `Status` whose message holds newlines and escape codes, a refused connection and no
/// kubeconfig at all. No debug dump (`Status {`, `ServiceError`), no page, no escape code,
/// and the kubeconfig's token never shown.
#[test]
fn kube_errors_are_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    let status_body = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
        "reason": "InternalError",
        "message": "etcdserver: request timed out\n\u{1b}[2J\u{1b}]0;pwned\u{7}retry later",
    })
    .to_string();
    let cases = [
        (
            not_an_api(
                404,
                "text/html",
                "<!DOCTYPE HTML>\n<html>\n<head><title>Error response</title></head>\n<body>\n<h1>404</h1>\n</body>\n</html>\n",
            ),
            "HTTP 404 that is not a Kubernetes API answer (an HTML page (\"Error response\")): is the kubeconfig's `server` the API server?",
        ),
        (
            not_an_api(500, "application/json", &status_body),
            "500 InternalError: etcdserver: request timed out \\u{1b}[2J\\u{1b}]0;pwned\\u{7}retry later",
        ),
        (
            format!("http://127.0.0.1:{}", closed_port()),
            "get services shop/checkout: Connection refused",
        ),
        // A redirect (not followed by the client): where it pointed, the query masked.
        (
            not_an_api_with(
                302,
                "text/plain",
                "location: https://sso.example/login?ticket=kube-s3cret-token\r\n",
                "",
            ),
            "302 Redirect: HTTP 302 to https://sso.example/login?*** (not followed: the kubeconfig's `server` must be the API server itself)",
        ),
        // A 200 page that is no object.
        (
            not_an_api(200, "text/plain", "hello"),
            "the answer is not a Kubernetes object (expected value at line 1 column 1): not the API server?",
        ),
        // Throttled, with the server's own Status body and its Retry-After: the wait said.
        (
            not_an_api_with(
                429,
                "application/json",
                "retry-after: 7\r\n",
                r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":429,"reason":"TooManyRequests","message":"Too many requests, please try again later."}"#,
            ),
            "429 TooManyRequests: the API server is throttling this client: retry after 7 (Retry-After)",
        ),
        // JSON that is no Kubernetes Status: said so, never as `0 : …`.
        (
            not_an_api(
                401,
                "application/json",
                r#"{"message":"credentials refused"}"#,
            ),
            "an error answer that is not a Kubernetes Status (credentials refused)",
        ),
        // A proxy that echoes the request's credentials (a token an exec plugin gave).
        (
            not_an_api(
                401,
                "application/json",
                r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":401,"reason":"Unauthorized","message":"refused Authorization: Bearer exec-plugin-t0ken"}"#,
            ),
            "credentials were refused: refused Authorization: Bearer ***",
        ),
        (
            not_an_api_with(503, "text/plain", "retry-after: 30\r\n", "unavailable"),
            "503 ServiceUnavailable: the API server is unavailable: retry after 30 (Retry-After)",
        ),
        // 50 MB of one line: cut at 8 MB, never read whole.
        (
            not_an_api(200, "application/json", &"x".repeat(50 << 20)),
            "answer over 8 MB without a line break: not read",
        ),
    ];
    for (i, (server, said)) in cases.iter().enumerate() {
        let kc = dir.path().join(format!("kc{i}"));
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\nusers:\n- name: u\n  user:\n    token: kube-s3cret-token\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
            ),
        )
        .unwrap();
        let cfg = dir.path().join(format!("c{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "{}\nkubeconfig = {kc:?}\ntimeout = \"3s\"\n",
                std::fs::read_to_string(demo("service.toml")).unwrap()
            )
            .replace(
                "name = ",
                &format!("journal = {:?}\nname = ", dir.path().join("j")),
            ),
        )
        .unwrap();
        for args in [&["check"][..], &["status"][..]] {
            let o = cutover(&cfg, args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            let all = format!("{}{}", stdout(&o), stderr(&o));
            assert!(all.contains(said), "{args:?} should say {said:?}:\n{all}");
            for bad in [
                "<h1>",
                "Status {",
                "ServiceError",
                "\u{1b}",
                "kube-s3cret-token",
                "exec-plugin-t0ken",
            ] {
                assert!(!all.contains(bad), "{args:?}: {bad:?} in\n{all}");
            }
            // One line per finding: `check` has six, `status` eight.
            assert!(all.lines().count() <= 8, "{args:?}:\n{all}");
            assert!(all.lines().all(|l| l.chars().count() < 400), "{all}");
        }
    }
    // No kubeconfig and not in a pod: one line, what to set.
    let o = Command::new(bin())
        .args(["--config"])
        .arg(demo("service.toml"))
        .arg("check")
        .env("KUBECONFIG", "")
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("no usable kubeconfig and not in a pod")
            && err.contains("set $KUBECONFIG, or `kubeconfig` in [backend]"),
        "{err}"
    );
}

/// A kubeconfig token written as a YAML block (`token: |`, so it ends in a line break) or
/// in a `tokenFile` that ends in one: trimmed as client-go does, never a crash (the client
/// panicked building the header, even for a rollback). A token with a control character
/// inside is a usage error. The API server that echoes the header it refused shows `***`
/// for the token and for a user's basic-auth.
#[test]
fn a_kubeconfig_token_with_a_line_break_is_trimmed_never_a_crash() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(200) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 16384];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let auth = req
                .lines()
                .find_map(|l| l.strip_prefix("authorization: "))
                .unwrap_or("none")
                .to_string();
            let body = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401,
                "reason": "Unauthorized", "message": format!("denied for {auth}"),
            })
            .to_string();
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "KubeFileToken123\n").unwrap();
    let users = [
        (
            "    token: |\n      KubeBlockToken77\n".to_string(),
            "KubeBlockToken77",
        ),
        (
            format!("    tokenFile: {}\n", token_file.display()),
            "KubeFileToken123",
        ),
        (
            "    username: kubeadmin\n    password: KubeBasicPass55\n".to_string(),
            "KubeBasicPass55",
        ),
    ];
    for (i, (user, secret)) in users.iter().enumerate() {
        let kc = dir.path().join(format!("kc{i}"));
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user:\n{user}contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
            ),
        )
        .unwrap();
        let cfg = dir.path().join(format!("c{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "{}\nkubeconfig = {kc:?}\ntimeout = \"3s\"\n",
                std::fs::read_to_string(demo("service.toml")).unwrap()
            )
            .replace(
                "name = ",
                &format!("journal = {:?}\nname = ", dir.path().join("j")),
            ),
        )
        .unwrap();
        for args in [&["status"][..], &["rollback", "--to", "blue"][..]] {
            let o = cutover(&cfg, args);
            let all = format!("{}{}", stdout(&o), stderr(&o));
            assert_eq!(o.status.code(), Some(1), "{i} {args:?}: {all}");
            assert!(!all.contains("panicked"), "{all}");
            assert!(all.contains("denied for"), "{i} {args:?}: {all}");
            assert!(
                !all.contains(secret),
                "{i} {args:?}: {secret} leaked: {all}"
            );
            // kubeadmin:KubeBasicPass55 as a basic-auth header.
            assert!(!all.contains("a3ViZWFkbWlu"), "{all}");
        }
    }
    // A control character inside the token: a usage error, not a crash.
    let kc = dir.path().join("kc-bad");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user:\n    token: \"ab\\u0007cd\"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let cfg = dir.path().join("c-bad.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\nkubeconfig = {kc:?}\n",
            std::fs::read_to_string(demo("service.toml")).unwrap()
        ),
    )
    .unwrap();
    let o = cutover(&cfg, &["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("key `backend.kubeconfig`") && stderr(&o).contains("control character"),
        "{}",
        stderr(&o)
    );
}

/// A kubeconfig that is not YAML, its mistake on a `client-key-data` line: the error names
/// the line and column and what is wrong, never the text around it (the parser quotes the
/// key's base64), whether named by `kubeconfig` or found through `$KUBECONFIG` and
/// `context`.
#[test]
fn a_kubeconfig_yaml_error_does_not_quote_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND";
    let kc = dir.path().join("kc");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    client-key-data: {key}: [\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let base = std::fs::read_to_string(demo("service.toml")).unwrap();
    let named = dir.path().join("named.toml");
    std::fs::write(
        &named,
        base.replace("[backend]", &format!("[backend]\nkubeconfig = {kc:?}")),
    )
    .unwrap();
    let by_context = dir.path().join("ctx.toml");
    std::fs::write(
        &by_context,
        base.replace("[backend]", "[backend]\ncontext = \"c\""),
    )
    .unwrap();
    for (cfg, key_named) in [
        (&named, "backend.kubeconfig"),
        (&by_context, "backend.context"),
    ] {
        let o = Command::new(bin())
            .arg("--config")
            .arg(cfg)
            .arg("check")
            .env("KUBECONFIG", &kc)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("key `{key_named}`"))
                && err.contains("line 10 column")
                && err.contains("mapping values are not allowed"),
            "{err}"
        );
        for part in key.as_bytes().chunks(12) {
            let part = std::str::from_utf8(part).unwrap();
            assert!(!err.contains(part), "{part:?} of the key in {err}");
        }
    }
}

/// A cold standby is not flooded: blue's Deployment has 2 of 6 replicas ready, and with
/// `cold-rollback = "ramp"` the screen says before the key what `r` will do; `r` gives
/// blue half the traffic, reads it back, waits, then the rest. `r` again during a ramp
/// sends everything back at once.
#[test]
fn a_cold_blue_deployment_gets_the_traffic_back_in_steps_and_r_again_goes_at_once() {
    if !require("tmux") {
        return;
    }
    let api = cluster("httproute.yaml");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config_file(&api, dir.path(), "gateway.toml")).unwrap();
    let cfg = dir.path().join("cold.toml");
    std::fs::write(
        &cfg,
        format!(
            "live = \"blue\"\ncold-rollback = \"ramp\"\ncold-rollback-steps = [50, 0]\ncold-rollback-wait = \"3s\"\n{text}"
        ),
    )
    .unwrap();
    api.edit(
        "apps/v1",
        "Deployment",
        NS,
        "checkout-blue",
        json!({"spec": {"replicas": 6}, "status": {"readyReplicas": 2, "updatedReplicas": 6, "replicas": 6}}),
    );
    let all_green = |api: &KubeApi| {
        let mut r = api.get(ROUTE, "HTTPRoute", NS, "checkout");
        r["spec"]["rules"][1]["backendRefs"][0]["weight"] = json!(0);
        r["spec"]["rules"][1]["backendRefs"][1]["weight"] = json!(100);
        api.put(r);
    };
    all_green(&api);
    let t = Tmux::new("kube-cold");
    t.start(130, 34, &cockpit_cmd(&cfg));
    let s = t.wait(20, "what r will do, before it is pressed", |s| {
        s.contains("[100]") && s.contains("r: ramp 50 → 0, blue is cold: DEGRADED 2/6")
    });
    assert!(s.contains("rollback"), "{s}");
    t.keys(&["r"]);
    wait_until(10, "half the traffic back on blue first", || {
        stored(&api, "gateway.toml") == (50, 50)
    });
    let s = t.wait(10, "the ramp said", |s| s.contains("ROLLBACK RAMP"));
    assert!(s.contains("→ 50 % applied"), "{s}");
    // The wait between the steps: still 50/50 a second later.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(stored(&api, "gateway.toml"), (50, 50));
    wait_until(15, "the rest, after the wait", || {
        stored(&api, "gateway.toml") == (100, 0)
    });
    t.wait(10, "the last step read back", |s| {
        s.contains("→ 0 % applied")
    });
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    let targets: Vec<u64> = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["phase"] == "result" && v["action"] == "rollback")
        .filter_map(|v| v["share_target"].as_u64())
        .collect();
    assert_eq!(targets, [50, 0], "{journal}");

    // Again, and r again at once: no second step of 50, all back now.
    all_green(&api);
    t.wait(20, "green at 100 again", |s| {
        s.contains("[100]") && s.contains("r: ramp 50 → 0")
    });
    t.keys(&["r"]);
    t.wait(10, "the ramp under way", |s| s.contains("ROLLBACK RAMP"));
    t.keys(&["r"]);
    wait_until(10, "all back on blue", || {
        stored(&api, "gateway.toml") == (100, 0)
    });
    // Said as it goes out; the plan shows 0 once that write has read back.
    t.wait(10, "cut short, said", |s| {
        s.contains("the ramp is cut short")
    });
    t.wait(10, "the cut-short rollback read back", |s| {
        s.contains("[0]") && s.contains("→ 0 % applied")
    });
    t.keys(&["q"]);
    t.wait(10, "exit", |s| s.contains("EXITED:0"));
}
