//! HTTP health probes against small real servers on loopback: timeouts, 5xx, hanging,
//! bodies, headers.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use cutover::core::{Env, EnvPair, Health};
use cutover::signals::SignalSource;
use cutover::signals::health::{HealthPoller, Probe};
use std::time::Duration;

async fn server() -> String {
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/204", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, "12")],
                    "\nslow down\nplease",
                )
            }),
        )
        .route("/moved", get(|| async { StatusCode::FOUND }))
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/json-up",
            get(|| async { r#"{"status":"up","checks":{"db":"ok"}}"# }),
        )
        .route("/json-down", get(|| async { r#"{"status":"down"}"# }))
        .route("/not-json", get(|| async { "<html>" }))
        .route(
            "/host",
            get(|h: HeaderMap| async move {
                if h.get("host").is_some_and(|v| v == "app.internal") {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                }
            }),
        )
        .route(
            "/token",
            get(|h: HeaderMap| async move {
                if h.get("authorization").is_some_and(|v| v == "Bearer s3cret") {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

fn probe(url: String) -> Probe {
    Probe {
        url,
        expect_status: None,
        expect_body: None,
        expect_json: None,
        headers: Vec::new(),
        timeout: Duration::from_millis(300),
        method: reqwest::Method::GET,
    }
}

#[tokio::test]
async fn probe_results_table() {
    let base = server().await;
    let poller = HealthPoller::new(EnvPair::default());
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    let with = |path: &str, f: &dyn Fn(&mut Probe)| {
        let mut p = probe(format!("{base}{path}"));
        f(&mut p);
        p
    };
    let cases: Vec<(Probe, bool, &str)> = vec![
        (with("/ok", &|_| {}), true, "HTTP 200"),
        (
            with("/500", &|_| {}),
            false,
            "HTTP 500 Internal Server Error: boom (expected 2xx)",
        ),
        (
            with("/busy", &|_| {}),
            false,
            "HTTP 429 Too Many Requests (Retry-After 12): slow down (expected 2xx)",
        ),
        (
            with("/moved", &|_| {}),
            false,
            "HTTP 302, a redirect with no Location header (expected 2xx)",
        ),
        (
            with("/204", &|p| p.expect_status = Some(204)),
            true,
            "HTTP 204",
        ),
        (
            with("/ok", &|p| p.expect_status = Some(204)),
            false,
            "HTTP 200 (expected 204)",
        ),
        (with("/hang", &|_| {}), false, "no answer within 0.3 s"),
        (
            with("/ok", &|p| p.expect_body = Some("ok".into())),
            true,
            "HTTP 200",
        ),
        (
            with("/ok", &|p| p.expect_body = Some("ready".into())),
            false,
            "body lacks \"ready\"",
        ),
        (
            with("/json-up", &|p| {
                p.expect_json = Some(("/status".into(), serde_json::json!("up")));
            }),
            true,
            "HTTP 200",
        ),
        (
            with("/json-up", &|p| {
                p.expect_json = Some(("/checks/db".into(), serde_json::json!("ok")));
            }),
            true,
            "HTTP 200",
        ),
        (
            with("/json-down", &|p| {
                p.expect_json = Some(("/status".into(), serde_json::json!("up")));
            }),
            false,
            "/status is \"down\" (expected \"up\")",
        ),
        (
            with("/json-up", &|p| {
                p.expect_json = Some(("/version".into(), serde_json::json!("2")));
            }),
            false,
            "/version missing",
        ),
        (
            with("/not-json", &|p| {
                p.expect_json = Some(("/status".into(), serde_json::json!("up")));
            }),
            false,
            "body is not JSON",
        ),
        (with("/host", &|_| {}), false, "HTTP 404"),
        (
            with("/host", &|p| {
                p.headers = vec![("Host".into(), "app.internal".into())];
            }),
            true,
            "HTTP 200",
        ),
        (with("/token", &|_| {}), false, "HTTP 401"),
        (
            with("/token", &|p| {
                p.headers = vec![("Authorization".into(), "Bearer s3cret".into())];
            }),
            true,
            "HTTP 200",
        ),
        (probe(format!("{closed}/health")), false, "refused"),
    ];
    for (p, ok, detail) in cases {
        let r = poller.probe(&p).await;
        assert_eq!(r.ok, ok, "{}: {r:?}", p.url);
        assert!(
            r.detail.contains(detail),
            "{}: {:?} should contain {detail:?}",
            p.url,
            r.detail
        );
    }
}

#[tokio::test]
async fn env_health_up_degraded_down_and_consecutive_failures() {
    let base = server().await;
    let probes = EnvPair::new(
        vec![
            probe(format!("{base}/ok")),
            probe(format!("{base}/json-up")),
        ],
        vec![probe(format!("{base}/ok")), probe(format!("{base}/hang"))],
    );
    let poller = HealthPoller::new(probes);
    let first = poller.poll().await.unwrap();
    let h = |p: &EnvPair<cutover::signals::EnvPoll>, env| p.get(env).health.clone().unwrap();
    assert_eq!(
        (
            h(&first, Env::Blue).health,
            h(&first, Env::Blue).up,
            h(&first, Env::Blue).total
        ),
        (Health::Up, 2, 2)
    );
    let g = h(&first, Env::Green);
    assert_eq!(
        (g.health, g.up, g.total, g.failures),
        (Health::Degraded, 1, 2, 1)
    );
    assert!(
        g.detail.contains("/hang") && g.detail.contains("no answer"),
        "{g:?}"
    );
    let second = poller.poll().await.unwrap();
    assert_eq!(
        h(&second, Env::Green).failures,
        2,
        "consecutive failures count up"
    );
    assert!(
        first.get(Env::Green).error_rate.is_none(),
        "a health source provides health only"
    );

    let down = HealthPoller::new(EnvPair::new(Vec::new(), vec![probe(format!("{base}/500"))]));
    let p = down.poll().await.unwrap();
    assert!(p.blue.health.is_none(), "no probes, no health claimed");
    assert_eq!(p.green.health.unwrap().health, Health::Down);
}

/// A server on loopback answering `/ok` with 200 and each route's path with its status and
/// `Location` (`{self}` in it is this server's own base URL).
async fn redirecting(routes: Vec<(&'static str, StatusCode, String)>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut app = Router::new().route("/ok", get(|| async { "ok" }));
    for (path, status, location) in routes {
        let location = location.replace("{self}", &base);
        app = app.route(
            path,
            get(move || {
                let location = location.clone();
                async move { (status, [(axum::http::header::LOCATION, location)], "") }
            }),
        );
    }
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

#[tokio::test]
async fn a_cross_origin_redirect_is_a_failure_naming_its_location() {
    // An SSO page elsewhere that answers 200 to anyone: following it would read "up".
    let sso = redirecting(Vec::new()).await;
    let login = format!("{sso}/ok");
    let port = sso.rsplit(':').next().unwrap().to_string();
    let base = redirecting(vec![
        ("/to-sso", StatusCode::FOUND, login.clone()),
        (
            "/to-https",
            StatusCode::MOVED_PERMANENTLY,
            format!("https://127.0.0.1:{port}/ok"),
        ),
        ("/same", StatusCode::FOUND, "/ok".into()),
        (
            "/same-abs",
            StatusCode::TEMPORARY_REDIRECT,
            "{self}/same".into(),
        ),
        ("/loop", StatusCode::FOUND, "/loop".into()),
    ])
    .await;
    let poller = HealthPoller::new(EnvPair::default());
    let cases: Vec<(String, bool, String)> = vec![
        (
            format!("{base}/to-sso"),
            false,
            format!("HTTP 302 redirects to another origin, not followed: Location {login}"),
        ),
        (
            format!("{base}/to-https"),
            false,
            format!("Location https://127.0.0.1:{port}/ok"),
        ),
        (format!("{base}/same"), true, "HTTP 200".into()),
        // Same origin written in full, then again: followed twice, up to the limit.
        (format!("{base}/same-abs"), true, "HTTP 200".into()),
        (
            format!("{base}/loop"),
            false,
            "more than 3 redirects".into(),
        ),
    ];
    for (url, ok, detail) in cases {
        let r = poller.probe(&probe(url.clone())).await;
        assert_eq!(r.ok, ok, "{url}: {r:?}");
        assert!(
            r.detail.contains(&detail),
            "{url}: {:?} should contain {detail:?}",
            r.detail
        );
    }
    // `status` says why green is not up: the probe's URL and the Location it refused.
    let sim = common::SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        &format!(
            "[envs.green]\nhealth = [\"{base}/to-sso\"]\n[envs.blue]\nhealth = [\"{base}/same\"]"
        ),
    );
    let s = tokio::task::spawn_blocking(move || common::status(&cfg))
        .await
        .unwrap();
    assert_eq!(s["envs"]["green"]["health"], "down", "{s:#}");
    let note = s["envs"]["green"]["notes"]["health"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains(&format!("Location {login}")), "{s:#}");
    assert!(s["envs"]["blue"]["notes"]["health"].is_null(), "{s:#}");
}

/// A body of `mb` MB streamed in 64 KB chunks, `tail` at its very end.
fn endless(mb: usize, tail: &'static str) -> axum::body::Body {
    let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = mb * 16;
    axum::body::Body::from_stream(futures::stream::iter(
        std::iter::repeat_n(chunk, chunks)
            .chain(std::iter::once(axum::body::Bytes::from(tail)))
            .map(Ok::<_, std::io::Error>),
    ))
}

/// Hostile HTTP peers of the probes and the webhooks: a 50 MB body, a body that trickles
/// forever, a refusal that is an HTML page or 50 MB, a redirect elsewhere. Each is read
/// bounded (64 KB) and in bounded time, and said in one line; a same-origin 307 is
/// followed with its POST.
#[tokio::test]
async fn hostile_bodies_and_redirects_of_probes_and_webhooks_are_bounded() {
    use axum::routing::post;
    use cutover::app::notify::{Notice, Webhook};
    let elsewhere = redirecting(Vec::new()).await;
    let app = Router::new()
        .route("/huge", get(|| async { endless(50, "needle") }))
        .route(
            "/trickle",
            get(|| async {
                let drip = futures::stream::unfold(0u32, |n| async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    (n < 600)
                        .then(|| (Ok::<_, std::io::Error>(axum::body::Bytes::from("x")), n + 1))
                });
                axum::body::Body::from_stream(drip)
            }),
        )
        .route("/hook-ok", post(|| async { "ok" }))
        .route(
            "/hook-same",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/hook-ok")],
                )
            }),
        )
        .route(
            "/hook-away",
            post(move || {
                let to = format!("{elsewhere}/ok?token=abc");
                async move { (StatusCode::FOUND, [(axum::http::header::LOCATION, to)]) }
            }),
        )
        .route(
            "/hook-html",
            post(|| async {
                (
                    StatusCode::FORBIDDEN,
                    "<html>\n<head><title>Denied</title></head>\n<body>go away</body>\n</html>\n",
                )
            }),
        )
        .route(
            "/hook-huge",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, endless(50, "")) }),
        )
        .route(
            "/hook-echo/T0/xoxb-echoed-secret",
            post(|| async {
                (
                    StatusCode::NOT_FOUND,
                    "Cannot POST /hook-echo/T0/xoxb-echoed-secret",
                )
            }),
        )
        .route(
            "/hook-slack",
            post(|| async {
                (
                    StatusCode::NOT_FOUND,
                    "invalid_token \u{1b}[2J\nsecond line",
                )
            }),
        )
        .route(
            "/hook-busy",
            post(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, "30".to_string())],
                    "rate_limited",
                )
            }),
        )
        .route(
            "/hook-busy-long",
            post(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, "9".repeat(30_000))],
                    "",
                )
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let poller = HealthPoller::new(EnvPair::default());
    let t = std::time::Instant::now();
    let mut p = probe(format!("{base}/huge"));
    p.timeout = Duration::from_secs(5);
    p.expect_body = Some("needle".into());
    let r = poller.probe(&p).await;
    assert!(!r.ok, "only the first 64 KB are read: {r:?}");
    assert!(r.detail.contains("body lacks \"needle\""), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    p.expect_body = Some("xxxx".into());
    assert!(
        poller.probe(&p).await.ok,
        "a match in the first 64 KB is up"
    );
    p.expect_body = None;
    p.expect_json = Some(("/status".into(), serde_json::json!("ok")));
    let r = poller.probe(&p).await;
    assert!(
        !r.ok && r.detail.contains("body over 64 KB: only its start is read"),
        "cut, not 'not JSON': {r:?}"
    );

    let mut p = probe(format!("{base}/trickle"));
    p.expect_body = Some("ok".into());
    let t = std::time::Instant::now();
    let r = poller.probe(&p).await;
    assert!(
        !r.ok && r.detail.contains("body not read within 0.3 s"),
        "{r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    let http = cutover::shared::http_client().build().unwrap();
    let notice = Notice {
        event: "write".into(),
        text: "green 10 %".into(),
        cutover: "t".into(),
        who: "me".into(),
    };
    let cases = [
        ("/hook-ok", None),
        ("/hook-same", None),
        (
            "/hook-away",
            Some("HTTP 302 redirects to another origin, not followed: Location http://127.0.0.1:"),
        ),
        (
            "/hook-html",
            Some("HTTP 403 Forbidden: an HTML page (\"Denied\")"),
        ),
        (
            "/hook-huge",
            // Only the start of an endless answer is read, to say its first line.
            Some("HTTP 500 Internal Server Error: xxxxxxxxxx"),
        ),
        (
            "/hook-slack",
            // Its first line, escaped; not the lines after it.
            Some("HTTP 404 Not Found: invalid_token \\u{1b}[2J"),
        ),
        (
            "/hook-busy",
            Some("HTTP 429 Too Many Requests (Retry-After 30): rate_limited"),
        ),
        (
            "/hook-busy-long",
            Some("HTTP 429 Too Many Requests (Retry-After 999"),
        ),
    ];
    for (path, want) in cases {
        let hook = Webhook {
            name: "HOOK".into(),
            url: format!("{base}{path}"),
            slack: true,
            timeout: Duration::from_secs(5),
        };
        let t = std::time::Instant::now();
        let got = hook.send(&http, &notice).await;
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{path}: {:?}",
            t.elapsed()
        );
        match want {
            None => assert_eq!(got, Ok(()), "{path}"),
            Some(w) => {
                let e = got.unwrap_err();
                assert!(e.contains(w), "{path}: {e:?} should contain {w:?}");
                assert!(
                    !e.contains("token=abc")
                        && !e.contains('\n')
                        && !e.contains("second line")
                        && e.len() < 400,
                    "{path}: {e:.300}"
                );
            }
        }
    }
}
