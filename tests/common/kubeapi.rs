//! A small Kubernetes API server for the tests, on loopback over real HTTP: namespaced
//! objects in memory; get, list, watch (chunked JSON lines), create, merge patch and
//! replace; resourceVersion preconditions that fail with 409 like the real one; RBAC
//! denial of a verb on a resource with a 403 Status; and edits "by someone else" that
//! the watch streams out.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

#[derive(Clone, Debug)]
struct Change {
    rv: u64,
    collection: String,
    name: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
pub struct Store {
    objects: BTreeMap<String, Value>,
    rv: u64,
    history: Vec<Change>,
    /// (verb, plural) pairs that answer 403.
    pub denied: Vec<(String, String)>,
    /// The next this-many patches find the object changed just before they land.
    pub conflicts_to_inject: u32,
    /// Requests seen: "VERB path".
    pub requests: Vec<String>,
}

pub struct KubeApi {
    pub port: u16,
    store: Arc<Mutex<Store>>,
    events: broadcast::Sender<Change>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn plural(kind: &str) -> String {
    match kind {
        "Ingress" => "ingresses".into(),
        k => format!("{}s", k.to_lowercase()),
    }
}

/// `/api/v1` or `/apis/<group>/<version>` for an apiVersion.
fn prefix(api_version: &str) -> String {
    if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    }
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    });
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' if i + 2 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                    out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl Store {
    fn commit(&mut self, key: &str, mut obj: Value, kind: &'static str) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let (collection, name) = key.rsplit_once('/').unwrap();
        self.objects.insert(key.to_string(), obj.clone());
        self.history.push(Change {
            rv: self.rv,
            collection: collection.to_string(),
            name: name.to_string(),
            kind,
            object: obj.clone(),
        });
        obj
    }
}

impl KubeApi {
    pub fn start() -> KubeApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = Arc::new(Mutex::new(Store::default()));
        let (events, _) = broadcast::channel(1024);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (st, ev) = (store.clone(), events.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let (st, ev) = (st.clone(), ev.clone());
                        async move { handle(st, ev, method, uri, headers, body) }
                    },
                );
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        });
        KubeApi {
            port,
            store,
            events,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A kubeconfig for this server, namespace `ns`, user alice.
    pub fn kubeconfig(&self, dir: &std::path::Path, ns: &str) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\nusers:\n- name: alice\n  user:\n    token: test-token\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: alice\n    namespace: {ns}\ncurrent-context: emu\n",
                self.url()
            ),
        )
        .unwrap();
        path
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    fn key_of(obj: &Value) -> String {
        let kind = obj["kind"].as_str().expect("kind");
        format!(
            "{}/namespaces/{}/{}/{}",
            prefix(obj["apiVersion"].as_str().expect("apiVersion")),
            obj["metadata"]["namespace"].as_str().unwrap_or("default"),
            plural(kind),
            obj["metadata"]["name"].as_str().expect("name")
        )
    }

    /// Creates or replaces `obj` (with apiVersion, kind, metadata.name and namespace).
    pub fn put(&self, obj: Value) {
        let key = Self::key_of(&obj);
        let mut s = self.store();
        let kind = if s.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        s.commit(&key, obj, kind);
        let change = s.history.last().unwrap().clone();
        drop(s);
        let _ = self.events.send(change);
    }

    /// Loads every document of a YAML manifest into namespace `ns`.
    pub fn load(&self, yaml: &str, ns: &str) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("manifest parses");
        for mut d in docs.into_iter().filter(serde_json::Value::is_object) {
            d["metadata"]["namespace"] = json!(ns);
            self.put(d);
        }
    }

    /// The object `kind`/`name` in `ns`.
    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Value {
        let key = format!(
            "{}/namespaces/{ns}/{}/{name}",
            prefix(api_version),
            plural(kind)
        );
        self.store()
            .objects
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key}"))
    }

    /// An edit by someone else: a merge patch applied directly, streamed to watchers.
    pub fn edit(&self, api_version: &str, kind: &str, ns: &str, name: &str, patch: Value) {
        let mut obj = self.get(api_version, kind, ns, name);
        merge(&mut obj, &patch);
        self.put(obj);
    }

    pub fn deny(&self, verb: &str, plural: &str) {
        self.store().denied.push((verb.into(), plural.into()));
    }

    pub fn allow_all(&self) {
        self.store().denied.clear();
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (collection, name, plural) from a path, or None.
fn parse_path(path: &str) -> Option<(String, Option<String>, String)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (head, rest) = match *segs.first()? {
        "api" => (2, &segs[2..]),
        "apis" => (3, &segs[3..]),
        _ => return None,
    };
    if rest.first() != Some(&"namespaces") || rest.len() < 3 || rest.len() > 4 {
        return None;
    }
    let plural = rest[2].to_string();
    let collection = format!("/{}", segs[..head + 3].join("/"));
    Some((
        collection,
        rest.get(3).map(std::string::ToString::to_string),
        plural,
    ))
}

fn handle(
    store: Arc<Mutex<Store>>,
    events: broadcast::Sender<Change>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = query(&uri);
    // SelfSubjectAccessReview: answered from the same deny list the other verbs obey.
    if method == Method::POST
        && uri.path() == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    {
        let Ok(mut review) = serde_json::from_slice::<Value>(&body) else {
            return status(400, "BadRequest", "body is not JSON".into());
        };
        let attrs = &review["spec"]["resourceAttributes"];
        let (verb, plural) = (
            attrs["verb"].as_str().unwrap_or("").to_string(),
            attrs["resource"].as_str().unwrap_or("").to_string(),
        );
        let mut s = store.lock().unwrap();
        s.requests.push(format!("review {verb} {plural}"));
        let denied = s.denied.iter().any(|(v, p)| *v == verb && *p == plural);
        review["status"] = if denied {
            json!({"allowed": false, "reason": format!("no RBAC rule grants {verb} on {plural}")})
        } else {
            json!({"allowed": true})
        };
        return axum::Json(review).into_response();
    }
    let Some((collection, name, plural)) = parse_path(uri.path()) else {
        return status(
            404,
            "NotFound",
            format!("the server could not find {}", uri.path()),
        );
    };
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (&method, &name) {
        (&Method::GET, Some(_)) => "get",
        (&Method::GET, None) if watch => "watch",
        (&Method::GET, None) => "list",
        (&Method::PATCH, _) => "patch",
        (&Method::PUT, _) => "update",
        (&Method::POST, _) => "create",
        (&Method::DELETE, _) => "delete",
        _ => "other",
    };
    let mut s = store.lock().unwrap();
    s.requests.push(format!("{verb} {}", uri.path()));
    if s.denied.iter().any(|(v, p)| v == verb && *p == plural) {
        let ns = collection
            .split('/')
            .rev()
            .nth(1)
            .unwrap_or("default")
            .to_string();
        return status(
            403,
            "Forbidden",
            format!(
                "{plural} {:?} is forbidden: User \"alice\" cannot {verb} resource \"{plural}\" in the namespace \"{ns}\"",
                name.clone().unwrap_or_default()
            ),
        );
    }
    let field_name = q
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name=").map(String::from));
    match (verb, name) {
        ("get", Some(n)) => match s.objects.get(&format!("{collection}/{n}")) {
            Some(o) => axum::Json(o.clone()).into_response(),
            None => status(404, "NotFound", format!("{plural} {n:?} not found")),
        },
        ("list", None) => {
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|(k, _)| k.rsplit_once('/').map(|(c, _)| c) == Some(collection.as_str()))
                .filter(|(k, _)| {
                    field_name
                        .as_ref()
                        .is_none_or(|f| k.rsplit_once('/').map(|(_, n)| n) == Some(f.as_str()))
                })
                .map(|(_, v)| v.clone())
                .collect();
            axum::Json(json!({
                "kind": "List", "apiVersion": "v1",
                "metadata": {"resourceVersion": s.rv.to_string()},
                "items": items
            }))
            .into_response()
        }
        ("watch", None) => {
            let from: u64 = q
                .get("resourceVersion")
                .and_then(|r| r.parse().ok())
                .unwrap_or(s.rv);
            let rx = events.subscribe();
            let matches = {
                let collection = collection.clone();
                let field_name = field_name.clone();
                move |c: &Change| {
                    c.collection == collection && field_name.as_ref().is_none_or(|f| *f == c.name)
                }
            };
            let backlog: Vec<Change> = s
                .history
                .iter()
                .filter(|c| c.rv > from && matches(c))
                .cloned()
                .collect();
            let last = s.rv;
            drop(s);
            let line = |c: &Change| {
                Ok::<_, std::convert::Infallible>(Bytes::from(format!(
                    "{}\n",
                    json!({"type": c.kind, "object": c.object})
                )))
            };
            let head = futures::stream::iter(backlog.iter().map(line).collect::<Vec<_>>());
            let live = futures::stream::unfold(rx, move |mut rx| {
                let matches = matches.clone();
                async move {
                    loop {
                        match rx.recv().await {
                            Ok(c) if c.rv > last && matches(&c) => {
                                return Some((line(&c), rx));
                            }
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                }
            });
            use futures::StreamExt;
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(head.chain(live)))
                .unwrap()
        }
        ("patch" | "update", Some(n)) => {
            let key = format!("{collection}/{n}");
            let Some(mut obj) = s.objects.get(&key).cloned() else {
                return status(404, "NotFound", format!("{plural} {n:?} not found"));
            };
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "body is not JSON".into());
            };
            let ctype = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if verb == "patch" && !ctype.contains("merge-patch") {
                return status(
                    415,
                    "UnsupportedMediaType",
                    format!("this test server takes merge patches, not {ctype}"),
                );
            }
            // A patch of the routing itself, not only of cutover's own annotations.
            let routing = patch.get("spec").is_some()
                || patch["metadata"]["annotations"]
                    .as_object()
                    .is_some_and(|a| a.keys().any(|k| !k.starts_with("cutover/")));
            if routing {
                s.requests.push(format!("spec-patch {}", uri.path()));
            }
            if s.conflicts_to_inject > 0 && routing {
                // Someone else writes first (counted on writes of the routing itself, not
                // of cutover's own annotations).
                s.conflicts_to_inject -= 1;
                let mut other = obj.clone();
                merge(
                    &mut other,
                    &json!({"metadata": {"labels": {"touched-by": "someone-else"}}}),
                );
                obj = s.commit(&key, other, "MODIFIED");
                let _ = events.send(s.history.last().unwrap().clone());
            }
            if let Some(want) = patch["metadata"]["resourceVersion"].as_str()
                && Some(want) != obj["metadata"]["resourceVersion"].as_str()
            {
                return status(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {plural} {n:?}: the object has been modified; please apply your changes to the latest version and try again"
                    ),
                );
            }
            if verb == "patch" {
                merge(&mut obj, &patch);
            } else {
                obj = patch;
            }
            let obj = s.commit(&key, obj, "MODIFIED");
            let _ = events.send(s.history.last().unwrap().clone());
            axum::Json(obj).into_response()
        }
        (v, _) => status(
            405,
            "MethodNotAllowed",
            format!("{v} is not supported here"),
        ),
    }
}
