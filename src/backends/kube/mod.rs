//! Kubernetes: a Service selector flip, a Gateway API HTTPRoute, ingress-nginx canary
//! annotations or an Istio VirtualService. Each write is one merge patch of one object,
//! carrying the resourceVersion it was computed from; a 409 re-reads and tries again. The
//! objects are read on every poll and watched, so an edit by someone else shows at once.
//! This file is the client side (calls, errors, retries, the watch, the lease and record
//! annotations); what each kind reads and writes is in its own file behind
//! [`kind::Router`], and Deployment readiness in `health.rs`.

mod capped;
mod discover;
pub mod gateway;
pub mod health;
pub mod ingress_nginx;
pub mod istio;
pub mod kind;
mod rbac;
pub mod service;

pub use discover::{KubeWhere, discover};
pub use health::{KubeHealth, readiness};
pub use istio::IstioDest;
pub use kind::{KubeKind, Resource, Router};

use super::{Backend, BackendError, Capabilities, Slot, Switch};
use crate::core::{EnvPair, Weights};
use async_trait::async_trait;
use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Tries for a step when someone else keeps changing the object; a rollback tries harder.
const STEP_ATTEMPTS: u32 = 3;
const ROLLBACK_ATTEMPTS: u32 = 8;
/// The annotation on the routing object that holds the driver lease.
pub const LEASE_ANNOTATION: &str = "cutover/driver-lease";
/// The annotation on the routing object that holds the cutover record.
pub const RECORD_ANNOTATION: &str = "cutover/record";

fn annotation_of(slot: Slot) -> &'static str {
    match slot {
        Slot::Lease => LEASE_ANNOTATION,
        Slot::Record => RECORD_ANNOTATION,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct KubeSettings {
    pub kind: KubeKind,
    /// A kubeconfig file; else `$KUBECONFIG`, `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Else the context's namespace, else `default`.
    pub namespace: Option<String>,
    /// Each env's Deployment; found from the Service's selector when not named.
    pub deployments: EnvPair<Option<String>>,
    /// Weight for 100 % (HTTPRoute weights are proportional).
    pub scale: u32,
    pub timeout: Duration,
}

struct Inner {
    s: KubeSettings,
    /// What `s.kind` reads and writes.
    router: Box<dyn Router>,
    client: kube::Client,
    namespace: String,
    changed: Notify,
    watching: AtomicBool,
    deployments: Mutex<Option<EnvPair<String>>>,
}

#[derive(Clone)]
pub struct KubeBackend(Arc<Inner>);

/// A failed call, or a 409 conflict to retry.
enum CallError {
    Conflict,
    Other(BackendError),
}

impl From<crate::shared::TimedOut> for CallError {
    fn from(t: crate::shared::TimedOut) -> Self {
        CallError::Other(t.into())
    }
}

fn api_resource(r: Resource) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(r.group, r.version, r.kind), r.plural)
}

/// The kubeconfig's credentials made usable and hidden: a token (inline or from its
/// `tokenFile`) without the line break a YAML block or an editor leaves (a header cannot
/// carry it: the client panicked on it), refused when it holds another control character;
/// the token, the password and the basic-auth header registered as secrets, should the API
/// server or a proxy echo them back. (A token an `exec` plugin prints is fetched by the
/// client later and is not seen here.)
fn credentials(auth: &mut kube::config::AuthInfo) -> Result<(), String> {
    use secrecy::ExposeSecret;
    if auth.token.is_none()
        && let Some(path) = auth.token_file.clone()
    {
        // A file that ends in a line break is a hand-written one (a projected service
        // account token has none): its trimmed text is the token. Otherwise the client
        // keeps re-reading the file, as it must for a token that rotates.
        let text = crate::shared::read_small_file(std::path::Path::new(&path), 64 * 1024)
            .map_err(|e| format!("kubeconfig user's tokenFile {path}: {e}"))?;
        crate::shared::register_secret(&text);
        if text.trim() != text {
            auth.token = Some(text.trim().to_string().into());
            auth.token_file = None;
        }
    }
    if let Some(t) = &auth.token {
        let trimmed = t.expose_secret().trim().to_string();
        if trimmed.chars().any(char::is_control) || trimmed.is_empty() {
            return Err(
                "kubeconfig user's token is empty or holds a control character inside it: expected one line of token".into(),
            );
        }
        crate::shared::register_secret(&trimmed);
        auth.token = Some(trimmed.into());
    }
    if let Some(p) = &auth.password {
        crate::shared::register_secret(p.expose_secret());
        if let Some(u) = &auth.username {
            let basic = format!("{u}:{}", p.expose_secret());
            crate::shared::register_secret(&crate::shared::base64(basic.as_bytes()));
        }
    }
    Ok(())
}

impl KubeBackend {
    /// Loads the kubeconfig (or the in-cluster config) and builds a client. Nothing is
    /// contacted yet.
    pub async fn connect(s: KubeSettings) -> Result<KubeBackend, String> {
        let options = KubeConfigOptions {
            context: s.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match (&s.kubeconfig, &s.context) {
            (Some(path), _) => {
                let text = crate::shared::read_small_file(path, KUBECONFIG_MAX)
                    .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
                let kc = Kubeconfig::from_yaml(&text).map_err(|e| {
                    format!(
                        "kubeconfig {}: {}",
                        path.display(),
                        yaml_words(&crate::shared::root_cause(&e))
                    )
                })?;
                kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
            }
            (None, Some(ctx)) => {
                sane_default_kubeconfigs()?;
                kube::Config::from_kubeconfig(&options).await.map_err(|e| {
                    format!("kubeconfig context {ctx:?}: {}", yaml_words(&e.to_string()))
                })?
            }
            (None, None) => {
                sane_default_kubeconfigs()?;
                kube::Config::infer().await.map_err(|e| {
                let why = e.to_string().replace("'\"", "'").replace("\"'", "'");
                let why = why.trim_start_matches("failed to infer config: ");
                format!(
                    "no usable kubeconfig and not in a pod ({}): set $KUBECONFIG, or `kubeconfig` in [backend]",
                    yaml_words(why)
                )
            })?
            }
        };
        let mut config = config;
        credentials(&mut config.auth_info)?;
        let namespace = s
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        // Every answer bounded: no line past capped::MAX_LINE (a hostile or broken server,
        // or a proxy's endless page, cannot fill the memory); a redirect or a throttle said
        // with where it pointed and how long to wait.
        let cap =
            tower::util::MapResponseLayer::new(|r: http::Response<Box<kube::client::DynBody>>| {
                capped::explained(r)
                    .map(|b| capped::LineCapped::new(b, capped::MAX_LINE, capped::MAX_ANSWER))
            });
        // The client's own retry of a 429/503/504 goes on for up to 15 tries and follows
        // any Retry-After: a throttled call then only ever read as "did not answer in 10 s".
        // Two quick tries instead (a rollback under throttling gets through when it can),
        // then the answer said with the wait the server asked for.
        config.default_retry = false;
        let retry = kube::client::retry::RetryPolicy::new(
            Duration::from_millis(100),
            Duration::from_millis(400),
            2,
            false,
        )
        .map_err(|e| format!("kube client: {e}"))?;
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| format!("kube client: {}", words(&e)))?
            // (A retry clones the service: the buffer makes the boxed stack cloneable.)
            .with_layer(&tower::buffer::BufferLayer::new(64))
            .with_layer(&tower::retry::RetryLayer::new(retry))
            .with_layer(&cap)
            .build();
        Ok(KubeBackend(Arc::new(Inner {
            router: s.kind.router(),
            s,
            client,
            namespace,
            changed: Notify::new(),
            watching: AtomicBool::new(false),
            deployments: Mutex::new(None),
        })))
    }

    pub fn namespace(&self) -> &str {
        &self.0.namespace
    }

    fn api(&self, r: Resource) -> Api<DynamicObject> {
        Api::namespaced_with(self.0.client.clone(), &self.0.namespace, &api_resource(r))
    }

    fn error(&self, verb: &str, r: Resource, name: &str, e: kube::Error) -> CallError {
        let ns = &self.0.namespace;
        let target = self.target();
        let what = format!("{verb} {} {ns}/{name}", r.qualified());
        match e {
            kube::Error::Api(st) if st.reason == NOT_A_STATUS || st.code == 0 => {
                CallError::Other(BackendError::Protocol {
                    target,
                    message: format!("{what}: {}", words(&kube::Error::Api(st))),
                })
            }
            kube::Error::Api(st) => {
                // A proxy or server that echoes the request's `Authorization` shows `***`
                // (a token from an `exec` plugin is never seen by cutover to be registered).
                let msg = crate::shared::one_line(&crate::shared::mask_secretish(&st.message), 200);
                CallError::Other(match st.code {
                    409 => return CallError::Conflict,
                    403 => BackendError::Rejected {
                        target,
                        message: format!(
                            "RBAC denied `{verb}` on {} {ns}/{name} (grant the verb in a Role bound to this user): {msg}",
                            r.qualified()
                        ),
                    },
                    401 => BackendError::Rejected {
                        target,
                        message: format!(
                            "{what}: unauthorized, the kubeconfig's credentials were refused: {msg}"
                        ),
                    },
                    404 => BackendError::Rejected {
                        target,
                        message: format!("{} {ns}/{name} not found ({what}): {msg}", r.kind),
                    },
                    code => BackendError::Rejected {
                        target,
                        message: format!(
                            "{what}: {code} {}: {msg}",
                            crate::shared::one_line(&st.reason, 80)
                        ),
                    },
                })
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                CallError::Other(BackendError::Unreachable {
                    target,
                    message: format!("{what}: {}", words(&e)),
                })
            }
            other => CallError::Other(BackendError::Protocol {
                target,
                message: format!("{what}: {}", words(&other)),
            }),
        }
    }

    async fn timed<T>(
        &self,
        f: impl Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        crate::shared::with_timeout(&self.target(), self.0.s.timeout, f).await
    }

    async fn get(&self, r: Resource, name: &str) -> Result<Value, CallError> {
        self.timed(async {
            let o = self
                .api(r)
                .get(name)
                .await
                .map_err(|e| self.error("get", r, name, e))?;
            serde_json::to_value(&o).map_err(|e| {
                CallError::Other(BackendError::Protocol {
                    target: self.target(),
                    message: e.to_string(),
                })
            })
        })
        .await
    }

    async fn objects(&self) -> Result<Vec<Value>, CallError> {
        let mut out = Vec::new();
        for (r, name) in self.0.router.objects() {
            out.push(self.get(r, &name).await?);
        }
        Ok(out)
    }

    fn refuse(&self, message: String) -> BackendError {
        BackendError::Rejected {
            target: self.target(),
            message: format!("{message}; refusing to touch it"),
        }
    }

    async fn write_once(&self, w: Weights) -> Result<(), CallError> {
        let objs = self.objects().await?;
        let (i, patch) = self
            .0
            .router
            .patch(&objs, w)
            .map_err(|m| CallError::Other(self.refuse(m)))?;
        let (r, name) = self.0.router.objects().swap_remove(i);
        self.timed(async {
            self.api(r)
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| self.error("patch", r, &name, e))
        })
        .await?;
        Ok(())
    }

    async fn write_tries(&self, w: Weights, attempts: u32) -> Result<(), BackendError> {
        for attempt in 1..=attempts {
            match self.write_once(w).await {
                Ok(()) => return Ok(()),
                Err(CallError::Other(e)) => return Err(e),
                Err(CallError::Conflict) => {
                    log::warn!(
                        "{}: changed by someone else while writing (409 conflict), re-reading (try {attempt} of {attempts})",
                        self.target()
                    );
                }
            }
        }
        Err(BackendError::Rejected {
            target: self.target(),
            message: format!(
                "conflict: the object changed under every one of {attempts} writes (409); someone else is editing it"
            ),
        })
    }

    /// Starts one watcher per object; each event wakes [`Backend::changed`].
    fn start_watch(&self) {
        for (r, name) in self.0.router.objects() {
            let api = self.api(r);
            let inner = Arc::downgrade(&self.0);
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            tokio::spawn(async move {
                let mut events = watcher(api, config).default_backoff().boxed();
                let mut failing = false;
                while let Some(ev) = events.next().await {
                    let Some(inner) = inner.upgrade() else { break };
                    match ev {
                        Ok(
                            watcher::Event::Apply(_)
                            | watcher::Event::Delete(_)
                            | watcher::Event::InitDone,
                        ) => {
                            if failing {
                                log::info!("watch of {} {name} is back", r.qualified());
                                failing = false;
                            }
                            inner.changed.notify_one();
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if !failing {
                                log::warn!(
                                    "watch of {} {name} failed, changes show at the next poll: {}",
                                    r.qualified(),
                                    crate::shared::root_cause(&e)
                                );
                                failing = true;
                            }
                        }
                    }
                }
            });
        }
    }
}

/// The largest kubeconfig read.
const KUBECONFIG_MAX: u64 = 1024 * 1024;

/// The kubeconfigs kube's client would read itself ($KUBECONFIG's, else
/// ~/.kube/config): each, when it exists, a regular file of at most 1 MB (a FIFO would
/// block, /dev/zero would fill the memory).
fn sane_default_kubeconfigs() -> Result<(), String> {
    let paths: Vec<std::path::PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => std::env::var_os("HOME")
            .map(|h| std::path::Path::new(&h).join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    for p in paths {
        match std::fs::metadata(&p) {
            Ok(m) if !m.is_file() => {
                return Err(format!("kubeconfig {}: not a regular file", p.display()));
            }
            Ok(m) if m.len() > KUBECONFIG_MAX => {
                return Err(format!(
                    "kubeconfig {}: {} bytes, over the 1 MB a kubeconfig may be",
                    p.display(),
                    m.len()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A kubeconfig error as one line without the file's text: the YAML parser quotes the
/// lines around a mistake (`--> <input>:10:66 | … client-key-data …`), which may be a key
/// or a token. What comes before the quote (line, column, what is wrong) is kept.
fn yaml_words(text: &str) -> String {
    let text = text.split(" --> ").next().unwrap_or(text);
    let text = text.split("\n -->").next().unwrap_or(text);
    crate::shared::one_line(&crate::shared::mask_secretish(text), 240)
}

/// The `reason` kube's client gives an error answer that is not a Kubernetes `Status` (a
/// proxy's or a web server's page).
const NOT_A_STATUS: &str = "Failed to parse error data";

/// A kube client error as one readable line: the API's own status (code, reason, message),
/// an answer that is not the API's said as such, or a transport error's innermost cause,
/// never a debug dump or a multi-line page.
pub(super) fn words(e: &kube::Error) -> String {
    use crate::shared::one_line;
    match e {
        // JSON that is no `Status` (`{"message": …}`): the client reads it as one with no
        // code or reason.
        kube::Error::Api(st) if st.code == 0 => format!(
            "an error answer that is not a Kubernetes Status ({}): is the kubeconfig's `server` the API server?",
            one_line(&crate::shared::mask_secretish(&st.message), 160)
        ),
        kube::Error::Api(st) if st.reason == NOT_A_STATUS => format!(
            "HTTP {} that is not a Kubernetes API answer ({}): is the kubeconfig's `server` the API server?",
            st.code,
            one_line(&st.message, 120)
        ),
        kube::Error::Api(st) => format!(
            "{} {}: {}",
            st.code,
            one_line(&st.reason, 80),
            one_line(&crate::shared::mask_secretish(&st.message), 200)
        ),
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            let mut cur: &(dyn std::error::Error + 'static) = e;
            while let Some(next) = cur.source() {
                cur = next;
            }
            one_line(&cur.to_string(), 200)
        }
        // A page answered with 200 (a redirect is said by `capped::explained`): no object.
        kube::Error::SerdeError(inner) => format!(
            "the answer is not a Kubernetes object ({}): not the API server? (check the kubeconfig's `server`)",
            one_line(&inner.to_string(), 120)
        ),
        other => one_line(&crate::shared::root_cause(other), 200),
    }
}

fn call_error(b: &KubeBackend, e: CallError) -> BackendError {
    match e {
        CallError::Other(e) => e,
        CallError::Conflict => BackendError::Protocol {
            target: b.target(),
            message: "409 on a read".into(),
        },
    }
}

fn call_text(e: &CallError) -> String {
    match e {
        CallError::Conflict => "conflict (409)".into(),
        CallError::Other(e) => e.to_string(),
    }
}

#[async_trait]
impl Backend for KubeBackend {
    fn kind(&self) -> &'static str {
        self.0.router.name()
    }

    fn target(&self) -> String {
        let objs = self.0.router.objects();
        let names: Vec<&str> = objs.iter().map(|(_, n)| n.as_str()).collect();
        format!(
            "{} {}/{}",
            objs[0].0.kind,
            self.0.namespace,
            names.join("+")
        )
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: self.0.router.weighted(),
            scale: if self.0.router.weighted() {
                self.0.s.scale
            } else {
                1
            },
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        let objs = self.objects().await.map_err(|e| call_error(self, e))?;
        self.0.router.read(&objs).map_err(|m| self.refuse(m))
    }

    async fn changed(&self) {
        if !self.0.watching.swap(true, Ordering::SeqCst) {
            self.start_watch();
        }
        self.0.changed.notified().await;
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        let (r, name) = self.0.router.annotated();
        let obj = self.get(r, &name).await.map_err(|e| call_error(self, e))?;
        Ok(obj["metadata"]["annotations"][annotation_of(slot)]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from))
    }

    fn place(&self, slot: Slot) -> String {
        let (r, name) = self.0.router.annotated();
        format!(
            "annotation {} on {} {}/{name}",
            annotation_of(slot),
            r.kind,
            self.0.namespace
        )
    }
}

#[async_trait]
impl Switch for KubeBackend {
    /// A SelfSubjectAccessReview for `patch` on each routing object (`rbac.rs`).
    async fn check_write(&self) -> super::WriteCheck {
        rbac::may_patch(self).await
    }

    async fn write(&self, weights: Weights) -> Result<(), BackendError> {
        self.write_tries(weights, STEP_ATTEMPTS).await
    }

    async fn write_urgent(&self, weights: Weights) -> Result<(), BackendError> {
        self.write_tries(weights, ROLLBACK_ATTEMPTS).await
    }

    /// A true compare-and-swap: the patch carries the resourceVersion of the object the
    /// text was read from; a 409 reads again.
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        let key = annotation_of(slot);
        let (r, name) = self.0.router.annotated();
        for _ in 0..5 {
            let obj = self.get(r, &name).await.map_err(|e| call_error(self, e))?;
            let cur = obj["metadata"]["annotations"][key]
                .as_str()
                .map(str::trim)
                .filter(|v| !v.is_empty());
            if cur != expect {
                return Ok(false);
            }
            let patch = serde_json::json!({"metadata": {
                "resourceVersion": kind::rv(&obj),
                "annotations": {key: new},
            }});
            let sent = self
                .timed(async {
                    self.api(r)
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map_err(|e| self.error("patch", r, &name, e))
                })
                .await;
            match sent {
                Ok(_) => return Ok(true),
                Err(CallError::Conflict) => continue,
                Err(CallError::Other(e)) => return Err(e),
            }
        }
        Ok(false)
    }
}
