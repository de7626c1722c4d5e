//! A hostile Prometheus on loopback: a small HTTP server speaking the Prometheus HTTP API's
//! JSON for `/api/v1/query` (GET with the query in the URL, POST with it in a form body),
//! answering each query with whatever series the test set for its metric and env: several
//! series where one is expected, negative values, `1e308`, `NaN`, `+Inf`, samples stamped a
//! day ago. Stopped when dropped.
#![allow(dead_code)]

use axum::Router;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::routing::get;
use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};

/// One series of an answer: its labels (besides `env`), its value as Prometheus writes it
/// (`"0.1"`, `"NaN"`, `"+Inf"`, `"1e308"`), and how many seconds before now it is stamped.
#[derive(Clone, Debug)]
pub struct FakeSeries {
    pub labels: Vec<(String, String)>,
    pub value: String,
    pub age_s: f64,
}

/// A series with only `env`, stamped now.
pub fn val(value: &str) -> FakeSeries {
    FakeSeries {
        labels: Vec::new(),
        value: value.into(),
        age_s: 0.0,
    }
}

/// A series stamped `age_s` seconds ago.
pub fn old(value: &str, age_s: f64) -> FakeSeries {
    FakeSeries {
        age_s,
        ..val(value)
    }
}

/// A series with one more label.
pub fn labelled(value: &str, key: &str, v: &str) -> FakeSeries {
    FakeSeries {
        labels: vec![(key.into(), v.into())],
        ..val(value)
    }
}

type Answers = Arc<Mutex<HashMap<(String, String), Vec<FakeSeries>>>>;

/// How the fake misbehaves instead of answering (all queries alike).
#[derive(Clone, Debug, Default)]
pub enum Misbehave {
    #[default]
    No,
    /// A success body that goes on for this many MB, streamed.
    Huge(usize),
    /// HTTP 429 with this Retry-After.
    TooMany(String),
    /// A 302 to this Location.
    Redirect(String),
    /// This status with this plain-text body.
    Status(u16, String),
}

#[derive(Clone, Default)]
struct Shared {
    misbehave: Arc<Mutex<Misbehave>>,
    answers: Answers,
    /// The method and query of every request, in order.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

pub struct FakeProm {
    pub url: String,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `name{env="green"}` → (`name`, `green`).
fn metric_and_env(query: &str) -> (String, String) {
    let name = query.split('{').next().unwrap_or("").trim().to_string();
    let env = query
        .split("env=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string();
    (name, env)
}

fn answer(shared: &Shared, method: &Method, query: &str) -> serde_json::Value {
    shared
        .seen
        .lock()
        .unwrap()
        .push((method.to_string(), query.to_string()));
    let (name, env) = metric_and_env(query);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let series = shared
        .answers
        .lock()
        .unwrap()
        .get(&(name.clone(), env.clone()))
        .cloned()
        .unwrap_or_default();
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|s| {
            let mut metric = serde_json::Map::new();
            metric.insert("__name__".into(), name.clone().into());
            metric.insert("env".into(), env.clone().into());
            for (k, v) in &s.labels {
                metric.insert(k.clone(), v.clone().into());
            }
            serde_json::json!({"metric": metric, "value": [now - s.age_s, s.value]})
        })
        .collect();
    serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

async fn query_get(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let how = shared.misbehave.lock().unwrap().clone();
    match how {
        Misbehave::No => axum::Json(answer(
            &shared,
            &Method::GET,
            q.get("query").map_or("", String::as_str),
        ))
        .into_response(),
        Misbehave::Huge(mb) => {
            let head = r#"{"status":"success","data":{"resultType":"vector","result":["#;
            let item = r#"{"metric":{"env":"green","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"value":[0,"1"]},"#;
            let per_chunk = item.repeat(64 * 1024 / item.len());
            let chunks = (mb * 1024 * 1024) / per_chunk.len();
            let body = futures::stream::iter(
                std::iter::once(head.to_string())
                    .chain(std::iter::repeat_n(per_chunk, chunks))
                    .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::from(c))),
            );
            (
                [("content-type", "application/json")],
                axum::body::Body::from_stream(body),
            )
                .into_response()
        }
        Misbehave::TooMany(after) => (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", after)],
            "slow down",
        )
            .into_response(),
        Misbehave::Redirect(to) => {
            (axum::http::StatusCode::FOUND, [("location", to)], "").into_response()
        }
        Misbehave::Status(code, body) => {
            (axum::http::StatusCode::from_u16(code).unwrap(), body).into_response()
        }
    }
}

/// A POST carries the same parameters as a form body (`query=...&timeout=...`).
async fn query_post(State(shared): State<Shared>, body: String) -> axum::Json<serde_json::Value> {
    let form = reqwest::Url::parse(&format!("http://form/?{body}")).unwrap();
    let query = form
        .query_pairs()
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    axum::Json(answer(&shared, &Method::POST, &query))
}

impl FakeProm {
    /// Starts on a loopback port picked at run time, in a thread with its own runtime.
    pub fn start() -> FakeProm {
        let shared = Shared::default();
        let app = Router::new()
            .route("/api/v1/query", get(query_get).post(query_post))
            .with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                // Stopping drops the runtime and every connection with it.
                tokio::select! {
                    r = axum::serve(l, app).into_future() => r.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        let addr = addr_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the fake Prometheus listens");
        FakeProm {
            url: format!("http://{addr}"),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// What `name{env="ENV"}` answers from now on.
    pub fn set(&self, name: &str, env: &str, series: Vec<FakeSeries>) {
        self.shared
            .answers
            .lock()
            .unwrap()
            .insert((name.into(), env.into()), series);
    }

    /// From now on, every GET misbehaves so (or answers again, with `Misbehave::No`).
    pub fn misbehave(&self, how: Misbehave) {
        *self.shared.misbehave.lock().unwrap() = how;
    }

    /// The method and query of every request so far.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The `[prometheus]` table that reads `hostile_*{env="{env}"}`: one query per env.
    pub fn config(&self) -> String {
        let q = |name: &str| format!("'hostile_{name}{{env=\"{{env}}\"}}'");
        format!(
            "[prometheus]\nurl = \"{}\"\nerror-rate = {}\np99 = {}\nrps = {}\nrequests = {}\nerrors = {}\n",
            self.url,
            q("error_rate"),
            q("p99"),
            q("rps"),
            q("requests"),
            q("errors"),
        )
    }
}

impl Drop for FakeProm {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
