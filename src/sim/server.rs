//! `cutover sim serve`: the simulator as real HTTP servers on loopback, one per env
//! (`/health`, `/`, `/metrics`) and a control server the `sim` backend drives.

use super::{EnvStats, SimHandle, Simulator};
use crate::core::{Env, EnvPair, Weights};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// Where the simulator's servers listen and how it behaves.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub scenario: super::Scenario,
    pub seed: Option<u64>,
    pub control: SocketAddr,
    pub blue: SocketAddr,
    pub green: SocketAddr,
    pub write_delay: Duration,
    /// Run the built-in load generator.
    pub load: bool,
    /// Sleep for each real request's simulated latency.
    pub sleep: bool,
    /// Send the load as real HTTP requests to this URL (a load balancer in front of the
    /// envs) instead of routing it inside the simulator.
    pub load_through: Option<String>,
}

/// The addresses actually bound (ports 0 become real ports).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bound {
    pub control: SocketAddr,
    pub blue: SocketAddr,
    pub green: SocketAddr,
}

/// What `GET /control/stats` answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ControlStats {
    pub scenario: String,
    pub service: String,
    pub now_ms: u64,
    pub live: Env,
    pub weights: Weights,
    pub envs: EnvPair<EnvStats>,
    pub urls: EnvPair<String>,
}

#[derive(Clone)]
struct Shared {
    sim: SimHandle,
    bound: Bound,
    sleep: bool,
    /// Each env's server while it runs: `PUT /control/env/{env}` stops it (its port then
    /// refuses connections, as a stopped app's would) and starts it again.
    running: std::sync::Arc<std::sync::Mutex<EnvPair<Option<tokio::task::AbortHandle>>>>,
}

#[derive(Clone)]
struct EnvShared {
    shared: Shared,
    env: Env,
}

/// Binds all three servers and serves them until the returned handle is dropped or aborted.
pub async fn start(
    opts: ServeOptions,
) -> std::io::Result<(Bound, SimHandle, tokio::task::JoinHandle<()>)> {
    let mut sim = Simulator::new(opts.scenario.clone(), opts.seed);
    sim.set_load(opts.load && opts.load_through.is_none());
    let rps = opts.scenario.rps;
    let handle = SimHandle::new(sim);
    handle.set_write_delay(opts.write_delay);
    let control = TcpListener::bind(opts.control).await?;
    let blue = TcpListener::bind(opts.blue).await?;
    let green = TcpListener::bind(opts.green).await?;
    let bound = Bound {
        control: control.local_addr()?,
        blue: blue.local_addr()?,
        green: green.local_addr()?,
    };
    let shared = Shared {
        sim: handle.clone(),
        bound: bound.clone(),
        sleep: opts.sleep,
        running: Default::default(),
    };
    let clock = handle.spawn_clock();
    let control_app = Router::new()
        .route("/control/weights", get(get_weights).put(put_weights))
        .route("/control/stats", get(get_stats))
        .route("/control/write-delay", get(get_delay).put(put_delay))
        .route("/control/env/{env}", get(get_env).put(put_env))
        .route("/control/{slot}", get(get_slot).put(put_slot))
        .route("/metrics", get(control_metrics))
        .with_state(shared.clone());
    let control_server = tokio::spawn(serve(control, control_app));
    for (env, listener) in [(Env::Blue, blue), (Env::Green, green)] {
        let task = tokio::spawn(serve(listener, env_app(&shared, env)));
        *shared.running.lock().expect("not poisoned").get_mut(env) = Some(task.abort_handle());
    }
    let servers = vec![control_server];
    let load = opts
        .load_through
        .clone()
        .map(|url| tokio::spawn(load_through(url, rps)));
    let all = tokio::spawn(async move {
        for s in servers {
            let _ = s.await;
        }
        clock.abort();
        if let Some(l) = load {
            l.abort();
        }
    });
    Ok((bound, handle, all))
}

/// Sends `rps` real requests a second to `url`, at most 64 at a time, forever.
async fn load_through(url: String, rps: f64) {
    let http = crate::shared::http_client_for([url.as_str()])
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a plain HTTP client builds");
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut carry = 0.0;
    loop {
        tick.tick().await;
        let want = rps / 10.0 + carry;
        carry = want.fract();
        for _ in 0..want as u64 {
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                break;
            };
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let _ = http.get(&url).send().await;
                drop(permit);
            });
        }
    }
}

/// One env's HTTP server: its requests, health and metrics.
fn env_app(shared: &Shared, env: Env) -> Router {
    Router::new()
        .route("/", get(env_request))
        .route("/health", get(env_health))
        .route("/metrics", get(env_metrics))
        .fallback(get(env_request))
        .layer(axum::middleware::from_fn_with_state(
            (shared.clone(), env),
            refuse_when_stopped,
        ))
        .with_state(EnvShared {
            shared: shared.clone(),
            env,
        })
}

/// A connection kept alive from before an env was stopped gets no answer from it: closed.
async fn refuse_when_stopped(
    State((s, env)): State<(Shared, Env)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if s.running.lock().expect("not poisoned").get(env).is_none() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONNECTION, HeaderValue::from_static("close"))],
            "stopped",
        )
            .into_response();
    }
    next.run(req).await
}

#[derive(Debug, Serialize, Deserialize)]
struct EnvRunning {
    running: bool,
}

async fn get_env(
    State(s): State<Shared>,
    axum::extract::Path(env): axum::extract::Path<String>,
) -> Result<Json<EnvRunning>, BadRequest> {
    let env: Env = env.parse().map_err(BadRequest)?;
    let running = s.running.lock().expect("not poisoned").get(env).is_some();
    Ok(Json(EnvRunning { running }))
}

/// Stops an env's server (its port refuses connections) or starts it again on its port.
async fn put_env(
    State(s): State<Shared>,
    axum::extract::Path(env): axum::extract::Path<String>,
    Json(want): Json<EnvRunning>,
) -> Result<Json<EnvRunning>, BadRequest> {
    let env: Env = env.parse().map_err(BadRequest)?;
    let addr = *match env {
        Env::Blue => &s.bound.blue,
        Env::Green => &s.bound.green,
    };
    let was = s.running.lock().expect("not poisoned").get_mut(env).take();
    if let Some(h) = was {
        h.abort();
    }
    if want.running {
        // The old listener closes as its task ends: try its port a few times.
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        let l = listener.ok_or_else(|| BadRequest(format!("cannot bind {addr} again")))?;
        let task = tokio::spawn(serve(l, env_app(&s, env)));
        *s.running.lock().expect("not poisoned").get_mut(env) = Some(task.abort_handle());
    }
    Ok(Json(want))
}

async fn serve(listener: TcpListener, app: Router) {
    if let Err(e) = axum::serve(listener, app).await {
        log::error!("sim server stopped: {e}");
    }
}

async fn get_weights(State(s): State<Shared>) -> Json<Weights> {
    Json(s.sim.lock().weights())
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.0).into_response()
    }
}

fn slot_named(name: &str) -> Result<crate::core::Slot, BadRequest> {
    crate::core::Slot::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| BadRequest(format!("no /control/{name}: expected lease or record")))
}

/// `GET /control/lease` or `/control/record`: the stored line, or null.
async fn get_slot(
    State(s): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Json<Option<String>>, BadRequest> {
    Ok(Json(s.sim.load(slot_named(&name)?)))
}

/// `PUT /control/lease` or `/control/record` body.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct SlotSwap {
    /// The text expected to be there, or null for none.
    pub expect: Option<String>,
    /// The new text, or null to remove it.
    pub value: Option<String>,
}

/// Compare-and-swap: `true` when swapped, `false` when the stored text was not `expect`.
async fn put_slot(
    State(s): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
    Json(b): Json<SlotSwap>,
) -> Result<Json<bool>, BadRequest> {
    let slot = slot_named(&name)?;
    if let Some(t) = b.value.as_deref()
        && !slot.valid(t)
    {
        return Err(BadRequest(format!(
            "{name} {:?} does not parse",
            crate::core::record::shorten(t)
        )));
    }
    Ok(Json(s.sim.swap(
        slot,
        b.expect.as_deref(),
        b.value.as_deref(),
    )))
}

async fn put_weights(
    State(s): State<Shared>,
    Json(w): Json<Weights>,
) -> Result<Json<Weights>, BadRequest> {
    if w.blue > super::WEIGHT_SCALE || w.green > super::WEIGHT_SCALE {
        return Err(BadRequest(format!(
            "weights {w}: expected each from 0 to {}",
            super::WEIGHT_SCALE
        )));
    }
    // Dropped with the connection if the client gives up: the write then never lands.
    s.sim.write_weights(w).await;
    Ok(Json(s.sim.lock().weights()))
}

async fn get_stats(State(s): State<Shared>) -> Json<ControlStats> {
    let sim = s.sim.lock();
    Json(ControlStats {
        scenario: sim.scenario().name.clone(),
        service: sim.scenario().service.clone(),
        now_ms: sim.now_ms(),
        live: sim.scenario().live,
        weights: sim.weights(),
        envs: EnvPair::new(sim.stats(Env::Blue), sim.stats(Env::Green)),
        urls: EnvPair::new(
            format!("http://{}", s.bound.blue),
            format!("http://{}", s.bound.green),
        ),
    })
}

#[derive(Deserialize, Serialize)]
struct Delay {
    ms: u64,
}

async fn get_delay(State(s): State<Shared>) -> Json<Delay> {
    Json(Delay {
        ms: s.sim.write_delay().as_millis() as u64,
    })
}

async fn put_delay(State(s): State<Shared>, Json(d): Json<Delay>) -> Json<Delay> {
    s.sim.set_write_delay(Duration::from_millis(d.ms));
    Json(d)
}

fn text(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn control_metrics(State(s): State<Shared>) -> Response {
    let w = s.sim.lock().weights();
    text(format!(
        "# TYPE cutover_sim_weight gauge\ncutover_sim_weight{{env=\"blue\"}} {}\ncutover_sim_weight{{env=\"green\"}} {}\n",
        w.blue, w.green
    ))
}

async fn env_metrics(State(s): State<EnvShared>) -> Response {
    text(s.shared.sim.lock().metrics_text(s.env))
}

async fn env_health(State(s): State<EnvShared>) -> Response {
    let sim = s.shared.sim.lock();
    let version = sim.scenario().env(s.env).version.clone();
    Json(serde_json::json!({"env": s.env, "status": "up", "version": version})).into_response()
}

#[derive(Deserialize)]
struct RequestQuery {
    /// `?sleep=0` answers at once but still records the simulated latency.
    sleep: Option<u8>,
}

/// The header a smoke request carries: judged, not counted as routed traffic.
pub const SMOKE_HEADER: &str = "x-cutover-smoke";

async fn env_request(
    State(s): State<EnvShared>,
    Query(q): Query<RequestQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let (served, version) = {
        let mut sim = s.shared.sim.lock();
        let served = if headers.contains_key(SMOKE_HEADER) {
            sim.serve_smoke(s.env)
        } else {
            sim.serve(s.env)
        };
        (served, sim.scenario().env(s.env).version.clone())
    };
    if s.shared.sleep && q.sleep != Some(0) {
        tokio::time::sleep(Duration::from_secs_f64(
            (served.latency_ms / 1000.0).min(10.0),
        ))
        .await;
    }
    let status = StatusCode::from_u16(served.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, format!("{} {}\n", s.env, version)).into_response();
    r.headers_mut()
        .insert("x-cutover-env", HeaderValue::from_static(s.env.name()));
    r
}
