//! The kinds of Kubernetes object that switch traffic: [`KubeKind`] as the config names
//! them, and the [`Router`] trait each kind implements in its own file (`service.rs`,
//! `gateway.rs`, `ingress_nginx.rs`, `istio.rs`) as pure functions over the objects' JSON:
//! which objects, the weights they hold, and the merge patch that sets new ones.
//! [`KubeKind::router`] is the one place the kinds are told apart.
//!
//! Also what those files share: the resource types, the resourceVersion every patch
//! carries, and how the entry of a list to drive is chosen. A patch always carries the
//! `metadata.resourceVersion` it was computed from, so a concurrent edit fails with 409
//! instead of being overwritten. Anything that does not match the config is refused with
//! what was found.

use super::gateway::HttpRoute;
use super::ingress_nginx::IngressCanary;
use super::istio::{IstioDest, VirtualService};
use super::service::ServiceSelector;
use crate::core::{Env, EnvPair, Weights};
use serde_json::Value;

/// The kind of Kubernetes object that switches traffic, with its names.
#[derive(Clone, Debug, PartialEq)]
pub enum KubeKind {
    /// A Service whose `spec.selector[key]` is the env's value. Flip-only.
    Service {
        service: String,
        key: String,
        values: EnvPair<String>,
    },
    /// A Gateway API HTTPRoute rule whose backendRefs name both Services.
    Gateway {
        route: String,
        rule: Option<usize>,
        services: EnvPair<String>,
    },
    /// ingress-nginx's canary pattern: one Ingress per env, one of them `canary: "true"`.
    IngressNginx { ingresses: EnvPair<String> },
    /// An Istio VirtualService http route with both destinations.
    Istio {
        virtual_service: String,
        route: Option<usize>,
        dests: EnvPair<IstioDest>,
    },
}

impl KubeKind {
    /// The config `kind`, e.g. `kube-gateway`.
    pub fn name(&self) -> &'static str {
        self.router().name()
    }

    /// This kind's reads and writes.
    pub fn router(&self) -> Box<dyn Router> {
        match self.clone() {
            KubeKind::Service {
                service,
                key,
                values,
            } => Box::new(ServiceSelector {
                service,
                key,
                values,
            }),
            KubeKind::Gateway {
                route,
                rule,
                services,
            } => Box::new(HttpRoute {
                route,
                rule,
                services,
            }),
            KubeKind::IngressNginx { ingresses } => Box::new(IngressCanary { ingresses }),
            KubeKind::Istio {
                virtual_service,
                route,
                dests,
            } => Box::new(VirtualService {
                virtual_service,
                route,
                dests,
            }),
        }
    }
}

/// What one kind of routing object reads and writes, as pure functions over the JSON of
/// its objects as just read.
pub trait Router: Send + Sync {
    /// The config `kind`.
    fn name(&self) -> &'static str;

    /// Weighted (any share), or flip-only (all traffic to one env).
    fn weighted(&self) -> bool {
        true
    }

    /// The objects read on every poll, in order.
    fn objects(&self) -> Vec<(Resource, String)>;

    /// The object whose annotations hold the driver lease and the cutover record: the
    /// first one read.
    fn annotated(&self) -> (Resource, String) {
        self.objects().swap_remove(0)
    }

    /// The weights the objects hold; `Err` says what does not match the config.
    fn read(&self, objs: &[Value]) -> Result<Weights, String>;

    /// The object to patch (index into [`Router::objects`]) and the merge patch that sets
    /// `w`, computed from `objs` as just read.
    fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String>;

    /// The Service behind each env, where the kind names one (to find its Deployment).
    fn services(&self, objs: &[Value]) -> EnvPair<Option<String>>;

    /// The label selector of each env's pods, given the Service's selector.
    fn pod_selector(
        &self,
        _env: Env,
        service_selector: &serde_json::Map<String, Value>,
    ) -> serde_json::Map<String, Value> {
        service_selector.clone()
    }
}

/// A Kubernetes resource type: API group, version, kind and plural.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

impl Resource {
    /// `httproutes.gateway.networking.k8s.io`, or `services` for the core group: the way
    /// RBAC rules and kubectl name it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub const SERVICE: Resource = Resource {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
};
pub const HTTPROUTE: Resource = Resource {
    group: "gateway.networking.k8s.io",
    version: "v1",
    kind: "HTTPRoute",
    plural: "httproutes",
};
pub const INGRESS: Resource = Resource {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
};
pub const VIRTUALSERVICE: Resource = Resource {
    group: "networking.istio.io",
    version: "v1",
    kind: "VirtualService",
    plural: "virtualservices",
};
pub const DEPLOYMENT: Resource = Resource {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
};

/// `metadata.resourceVersion`, or null when the server sent none.
pub fn rv(obj: &Value) -> Value {
    obj["metadata"]["resourceVersion"].clone()
}

/// How to name a list's entries (HTTPRoute rules, VirtualService http routes) when
/// choosing the one to drive.
pub(super) struct Choice {
    /// "HTTPRoute checkout".
    pub object: String,
    pub entry: &'static str,
    pub entries: &'static str,
    /// The config key that picks an entry by index.
    pub key: &'static str,
    /// What no entry has: "has no rule whose backendRefs name both …".
    pub none: String,
    /// What a matching entry sends to: "both checkout-blue and checkout-green".
    pub both: String,
}

/// The entry to drive: the configured index if it matches, else the only entry that
/// matches; every other case is refused saying what was found.
pub(super) fn choose(
    list: &[Value],
    want: Option<usize>,
    c: &Choice,
    hit: impl Fn(&Value) -> bool,
    describe: impl Fn(&Value) -> String,
) -> Result<usize, String> {
    if let Some(i) = want {
        let e = list.get(i).ok_or_else(|| {
            format!(
                "{} has {} {}; key `{}` is {i}",
                c.object,
                list.len(),
                c.entries,
                c.key
            )
        })?;
        if !hit(e) {
            return Err(format!(
                "{} {} {i} sends to {}, not to {}",
                c.object,
                c.entry,
                describe(e),
                c.both
            ));
        }
        return Ok(i);
    }
    let hits: Vec<usize> = (0..list.len()).filter(|&i| hit(&list[i])).collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => {
            let found: Vec<String> = list
                .iter()
                .enumerate()
                .map(|(i, e)| format!("{} {i} → {}", c.entry, describe(e)))
                .collect();
            Err(format!(
                "{} {} (found: {})",
                c.object,
                c.none,
                found.join("; ")
            ))
        }
        many => Err(format!(
            "{}: {} {many:?} all send to {}; set key `{}` to the one to drive",
            c.object, c.entries, c.both, c.key
        )),
    }
}
