//! What each Kubernetes kind reads and writes, as pure functions over the objects' JSON:
//! which objects, the weights they hold, and the merge patch that sets new ones. A patch
//! always carries the `metadata.resourceVersion` it was computed from, so a concurrent edit
//! fails with 409 instead of being overwritten. Anything that does not match the config is
//! refused with what was found.

use crate::core::{Env, EnvPair, Weights};
use serde_json::{Value, json};

pub const CANARY: &str = "nginx.ingress.kubernetes.io/canary";
pub const CANARY_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
pub const CANARY_TOTAL: &str = "nginx.ingress.kubernetes.io/canary-weight-total";

/// An Istio destination: a host, a subset, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IstioDest {
    pub host: Option<String>,
    pub subset: Option<String>,
}

impl IstioDest {
    fn matches(&self, d: &Value) -> bool {
        let host = d.get("host").and_then(Value::as_str);
        let subset = d.get("subset").and_then(Value::as_str);
        (self.host.is_none() || self.host.as_deref() == host)
            && (self.subset.is_none() || self.subset.as_deref() == subset)
    }

    fn describe(&self) -> String {
        match (&self.host, &self.subset) {
            (Some(h), Some(s)) => format!("{h} subset {s}"),
            (Some(h), None) => h.clone(),
            (None, Some(s)) => format!("subset {s}"),
            (None, None) => "?".into(),
        }
    }
}

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

impl KubeKind {
    /// The config `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            KubeKind::Service { .. } => "kube-service",
            KubeKind::Gateway { .. } => "kube-gateway",
            KubeKind::IngressNginx { .. } => "kube-ingress-nginx",
            KubeKind::Istio { .. } => "kube-istio",
        }
    }

    pub fn weighted(&self) -> bool {
        !matches!(self, KubeKind::Service { .. })
    }

    /// The objects read on every poll, in order.
    pub fn objects(&self) -> Vec<(Resource, String)> {
        match self {
            KubeKind::Service { service, .. } => vec![(SERVICE, service.clone())],
            KubeKind::Gateway { route, .. } => vec![(HTTPROUTE, route.clone())],
            KubeKind::IngressNginx { ingresses } => vec![
                (INGRESS, ingresses.blue.clone()),
                (INGRESS, ingresses.green.clone()),
            ],
            KubeKind::Istio {
                virtual_service, ..
            } => vec![(VIRTUALSERVICE, virtual_service.clone())],
        }
    }

    /// The weights the objects hold; `Err` says what does not match the config.
    pub fn read(&self, objs: &[Value]) -> Result<Weights, String> {
        match self {
            KubeKind::Service {
                service,
                key,
                values,
            } => {
                let sel = &objs[0]["spec"]["selector"];
                let v = sel.get(key).and_then(Value::as_str);
                match v {
                    Some(v) if v == values.blue => Ok(Weights::new(1, 0)),
                    Some(v) if v == values.green => Ok(Weights::new(0, 1)),
                    Some(v) => Err(format!(
                        "Service {service}'s selector has {key}={v}, which is neither blue ({key}={}) nor green ({key}={})",
                        values.blue, values.green
                    )),
                    None => Err(format!(
                        "Service {service}'s selector {} has no `{key}` key to flip",
                        compact(sel)
                    )),
                }
            }
            KubeKind::Gateway {
                route,
                rule,
                services,
            } => {
                let (i, refs) = gateway_rule(&objs[0], route, *rule, services)?;
                let w = |j: usize| weight_of(&objs[0], &["spec", "rules"], i, "backendRefs", j);
                Ok(Weights::new(w(refs.blue), w(refs.green)))
            }
            KubeKind::IngressNginx { ingresses } => {
                let (canary, w, total) = ingress_canary(objs, ingresses)?;
                let other = total.saturating_sub(w);
                Ok(match canary {
                    Env::Blue => Weights::new(w, other),
                    Env::Green => Weights::new(other, w),
                })
            }
            KubeKind::Istio {
                virtual_service,
                route,
                dests,
            } => {
                let (i, idx) = istio_route(&objs[0], virtual_service, *route, dests)?;
                let routes = objs[0]["spec"]["http"][i]["route"].as_array();
                let n = routes.map_or(0, Vec::len);
                // Istio: a lone destination takes everything; several without weights split
                // evenly is not allowed, so missing weights there count as 0.
                let w = |j: usize| {
                    routes
                        .and_then(|r| r[j].get("weight"))
                        .and_then(Value::as_u64)
                        .map_or(if n == 1 { 100 } else { 0 }, |w| w as u32)
                };
                Ok(Weights::new(w(idx.blue), w(idx.green)))
            }
        }
    }

    /// The object to patch (index into [`KubeKind::objects`]) and the merge patch that
    /// sets `w`, computed from `objs` as just read.
    pub fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String> {
        match self {
            KubeKind::Service {
                service,
                key,
                values,
            } => {
                self.read(objs)?;
                let env = match (w.blue, w.green) {
                    (b, 0) if b > 0 => Env::Blue,
                    (0, g) if g > 0 => Env::Green,
                    _ => {
                        return Err(format!(
                            "Service {service} can only flip its selector to blue or green, not split {}/{}",
                            w.blue, w.green
                        ));
                    }
                };
                Ok((
                    0,
                    json!({
                        "metadata": {"resourceVersion": rv(&objs[0])},
                        "spec": {"selector": {key.clone(): values.get(env)}},
                    }),
                ))
            }
            KubeKind::Gateway {
                route,
                rule,
                services,
            } => {
                let (i, refs) = gateway_rule(&objs[0], route, *rule, services)?;
                let mut rules = objs[0]["spec"]["rules"].clone();
                rules[i]["backendRefs"][refs.blue]["weight"] = json!(w.blue);
                rules[i]["backendRefs"][refs.green]["weight"] = json!(w.green);
                Ok((
                    0,
                    json!({
                        "metadata": {"resourceVersion": rv(&objs[0])},
                        "spec": {"rules": rules},
                    }),
                ))
            }
            KubeKind::IngressNginx { ingresses } => {
                let (canary, _, total) = ingress_canary(objs, ingresses)?;
                let frac = w.fraction(canary).unwrap_or(0.0);
                let weight = (frac * f64::from(total)).round() as u32;
                let i = match canary {
                    Env::Blue => 0,
                    Env::Green => 1,
                };
                Ok((
                    i,
                    json!({
                        "metadata": {
                            "resourceVersion": rv(&objs[i]),
                            "annotations": {CANARY_WEIGHT: weight.to_string()},
                        },
                    }),
                ))
            }
            KubeKind::Istio {
                virtual_service,
                route,
                dests,
            } => {
                let (i, idx) = istio_route(&objs[0], virtual_service, *route, dests)?;
                let total = u64::from(w.blue) + u64::from(w.green);
                if total != 100 {
                    return Err(format!(
                        "Istio weights must add up to 100, not {}+{}",
                        w.blue, w.green
                    ));
                }
                let mut http = objs[0]["spec"]["http"].clone();
                http[i]["route"][idx.blue]["weight"] = json!(w.blue);
                http[i]["route"][idx.green]["weight"] = json!(w.green);
                Ok((
                    0,
                    json!({
                        "metadata": {"resourceVersion": rv(&objs[0])},
                        "spec": {"http": http},
                    }),
                ))
            }
        }
    }

    /// The Service behind each env, where the kind names one (to find its Deployment).
    pub fn services(&self, objs: &[Value]) -> EnvPair<Option<String>> {
        match self {
            KubeKind::Service { service, .. } => {
                EnvPair::new(Some(service.clone()), Some(service.clone()))
            }
            KubeKind::Gateway { services, .. } => services.map(|_, s| Some(s.clone())),
            KubeKind::IngressNginx { .. } => EnvPair::new(
                objs.first().and_then(ingress_service),
                objs.get(1).and_then(ingress_service),
            ),
            KubeKind::Istio { dests, .. } => dests.map(|_, d| {
                d.host
                    .as_deref()
                    .and_then(|h| h.split('.').next())
                    .map(String::from)
            }),
        }
    }

    /// The label selector of each env's pods, given the Service's selector.
    pub fn pod_selector(
        &self,
        env: Env,
        service_selector: &serde_json::Map<String, Value>,
    ) -> serde_json::Map<String, Value> {
        let mut sel = service_selector.clone();
        if let KubeKind::Service { key, values, .. } = self {
            sel.insert(key.clone(), json!(values.get(env)));
        }
        sel
    }
}

/// `metadata.resourceVersion`, or null when the server sent none.
pub fn rv(obj: &Value) -> Value {
    obj["metadata"]["resourceVersion"].clone()
}

fn compact(v: &Value) -> String {
    if v.is_null() {
        "(none)".into()
    } else {
        v.to_string()
    }
}

/// `obj.<path>[i].<list>[j].weight`, default 1 (the Gateway API default).
fn weight_of(obj: &Value, path: &[&str], i: usize, list: &str, j: usize) -> u32 {
    let mut v = obj;
    for p in path {
        v = &v[*p];
    }
    v[i][list][j]
        .get("weight")
        .and_then(Value::as_u64)
        .map_or(1, |w| w as u32)
}

/// How to name a list's entries (HTTPRoute rules, VirtualService http routes) when
/// choosing the one to drive.
struct Choice {
    /// "HTTPRoute checkout".
    object: String,
    entry: &'static str,
    entries: &'static str,
    /// The config key that picks an entry by index.
    key: &'static str,
    /// What no entry has: "has no rule whose backendRefs name both …".
    none: String,
    /// What a matching entry sends to: "both checkout-blue and checkout-green".
    both: String,
}

/// The entry to drive: the configured index if it matches, else the only entry that
/// matches; every other case is refused saying what was found.
fn choose(
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

/// The rule index and the indexes of the blue and green backendRefs in it.
fn gateway_rule(
    route: &Value,
    name: &str,
    want: Option<usize>,
    services: &EnvPair<String>,
) -> Result<(usize, EnvPair<usize>), String> {
    let rules = route["spec"]["rules"]
        .as_array()
        .ok_or_else(|| format!("HTTPRoute {name} has no spec.rules"))?;
    let is_service = |r: &Value, svc: &str| {
        r.get("name").and_then(Value::as_str) == Some(svc)
            && r.get("kind").and_then(Value::as_str).unwrap_or("Service") == "Service"
            && r.get("group")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
    };
    let find = |rule: &Value| -> Option<EnvPair<usize>> {
        let refs = rule["backendRefs"].as_array()?;
        let pos = |svc: &str| refs.iter().position(|r| is_service(r, svc));
        Some(EnvPair::new(pos(&services.blue)?, pos(&services.green)?))
    };
    let names = |rule: &Value| -> String {
        rule["backendRefs"]
            .as_array()
            .map_or("no backendRefs".into(), |refs| {
                refs.iter()
                    .map(|r| r["name"].as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
    };
    let both = format!("both {} and {}", services.blue, services.green);
    let i = choose(
        rules,
        want,
        &Choice {
            object: format!("HTTPRoute {name}"),
            entry: "rule",
            entries: "rules",
            key: "backend.rule",
            none: format!(
                "has no rule whose backendRefs name both Services {} and {}",
                services.blue, services.green
            ),
            both,
        },
        |r| find(r).is_some(),
        names,
    )?;
    let refs = find(&rules[i]).expect("checked above");
    let all = rules[i]["backendRefs"].as_array().map_or(0, Vec::len);
    if all != 2 {
        let others: Vec<String> = rules[i]["backendRefs"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(j, _)| *j != refs.blue && *j != refs.green)
            .map(|(_, r)| r["name"].as_str().unwrap_or("?").to_string())
            .collect();
        return Err(format!(
            "HTTPRoute {name} rule {i} also sends to {}; a share between blue and green would not be what traffic gets",
            others.join(", ")
        ));
    }
    Ok((i, refs))
}

/// The http route index of a VirtualService and the indexes of the two destinations.
fn istio_route(
    vs: &Value,
    name: &str,
    want: Option<usize>,
    dests: &EnvPair<IstioDest>,
) -> Result<(usize, EnvPair<usize>), String> {
    let http = vs["spec"]["http"]
        .as_array()
        .ok_or_else(|| format!("VirtualService {name} has no spec.http routes"))?;
    let find = |h: &Value| -> Option<EnvPair<usize>> {
        let routes = h["route"].as_array()?;
        let pos = |d: &IstioDest| routes.iter().position(|r| d.matches(&r["destination"]));
        Some(EnvPair::new(pos(&dests.blue)?, pos(&dests.green)?))
    };
    let describe = |h: &Value| -> String {
        h["route"].as_array().map_or("no destinations".into(), |r| {
            r.iter()
                .map(|r| {
                    let d = &r["destination"];
                    match (d["host"].as_str(), d["subset"].as_str()) {
                        (Some(h), Some(s)) => format!("{h} subset {s}"),
                        (Some(h), None) => h.to_string(),
                        _ => "?".into(),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let both = format!(
        "both {} and {}",
        dests.blue.describe(),
        dests.green.describe()
    );
    let i = choose(
        http,
        want,
        &Choice {
            object: format!("VirtualService {name}"),
            entry: "http route",
            entries: "http routes",
            key: "backend.route",
            none: format!("has no http route with {both} destinations"),
            both,
        },
        |h| find(h).is_some(),
        describe,
    )?;
    let idx = find(&http[i]).expect("checked above");
    let n = http[i]["route"].as_array().map_or(0, Vec::len);
    if n != 2 || idx.blue == idx.green {
        return Err(format!(
            "VirtualService {name} http route {i} goes to {}; expected exactly the blue and the green destination",
            describe(&http[i])
        ));
    }
    Ok((i, idx))
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"]
        .get(key)
        .and_then(Value::as_str)
}

/// Which env's Ingress is the canary, its weight and the weight total.
fn ingress_canary(objs: &[Value], names: &EnvPair<String>) -> Result<(Env, u32, u32), String> {
    let is_canary = |o: &Value| annotation(o, CANARY) == Some("true");
    let canary = match (is_canary(&objs[0]), is_canary(&objs[1])) {
        (false, true) => Env::Green,
        (true, false) => Env::Blue,
        (true, true) => {
            return Err(format!(
                "Ingresses {} and {} are both canaries ({CANARY}: \"true\"); exactly one must be",
                names.blue, names.green
            ));
        }
        (false, false) => {
            return Err(format!(
                "neither Ingress {} nor {} has {CANARY}: \"true\"; annotate the candidate's Ingress as the canary",
                names.blue, names.green
            ));
        }
    };
    let o = &objs[match canary {
        Env::Blue => 0,
        Env::Green => 1,
    }];
    let num = |key: &str, default: u32| -> Result<u32, String> {
        match annotation(o, key) {
            None => Ok(default),
            Some(s) => s.trim().parse::<u32>().map_err(|_| {
                format!(
                    "Ingress {}: annotation {key} is {s:?}, expected a whole number",
                    names.get(canary)
                )
            }),
        }
    };
    let total = num(CANARY_TOTAL, 100)?;
    if total == 0 {
        return Err(format!(
            "Ingress {}: {CANARY_TOTAL} is 0",
            names.get(canary)
        ));
    }
    let w = num(CANARY_WEIGHT, 0)?.min(total);
    Ok((canary, w, total))
}

/// The Service an Ingress sends to: its default backend, else its first path's.
fn ingress_service(ing: &Value) -> Option<String> {
    let spec = &ing["spec"];
    spec["defaultBackend"]["service"]["name"]
        .as_str()
        .or_else(|| spec["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"].as_str())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> KubeKind {
        KubeKind::Gateway {
            route: "checkout".into(),
            rule: None,
            services: EnvPair::new("checkout-blue".into(), "checkout-green".into()),
        }
    }

    fn route() -> Value {
        json!({
            "metadata": {"name": "checkout", "resourceVersion": "7"},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "rules": [
                    {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}],
                     "backendRefs": [{"name": "admin", "port": 80}]},
                    {"backendRefs": [
                        {"name": "checkout-blue", "port": 80, "weight": 90},
                        {"name": "checkout-green", "port": 80}
                    ],
                     "filters": [{"type": "RequestHeaderModifier"}]}
                ]
            }
        })
    }

    #[test]
    fn gateway_reads_defaults_and_patches_only_the_two_weights() {
        let k = gateway();
        let r = route();
        assert_eq!(k.read(std::slice::from_ref(&r)), Ok(Weights::new(90, 1)));
        let (i, p) = k
            .patch(std::slice::from_ref(&r), Weights::new(50, 50))
            .unwrap();
        assert_eq!(i, 0);
        assert_eq!(p["metadata"]["resourceVersion"], "7");
        let rules = &p["spec"]["rules"];
        assert_eq!(rules[0], r["spec"]["rules"][0], "other rule untouched");
        assert_eq!(rules[1]["backendRefs"][0]["weight"], 50);
        assert_eq!(rules[1]["backendRefs"][1]["weight"], 50);
        assert_eq!(rules[1]["filters"], r["spec"]["rules"][1]["filters"]);
    }

    #[test]
    fn gateway_refuses_what_does_not_match() {
        let k = gateway();
        let mut r = route();
        r["spec"]["rules"][1]["backendRefs"][1]["name"] = json!("checkout-v2");
        let e = k.read(std::slice::from_ref(&r)).unwrap_err();
        assert!(e.contains("no rule whose backendRefs name both"), "{e}");
        assert!(e.contains("rule 1 → checkout-blue, checkout-v2"), "{e}");

        let mut r = route();
        r["spec"]["rules"][1]["backendRefs"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "canary-x"}));
        let e = k.read(std::slice::from_ref(&r)).unwrap_err();
        assert!(e.contains("also sends to canary-x"), "{e}");

        let mut r = route();
        let dup = r["spec"]["rules"][1].clone();
        r["spec"]["rules"].as_array_mut().unwrap().push(dup);
        let e = k.read(std::slice::from_ref(&r)).unwrap_err();
        assert!(e.contains("set key `backend.rule`"), "{e}");
        let k = KubeKind::Gateway {
            route: "checkout".into(),
            rule: Some(2),
            services: EnvPair::new("checkout-blue".into(), "checkout-green".into()),
        };
        assert_eq!(k.read(std::slice::from_ref(&r)), Ok(Weights::new(90, 1)));
    }

    #[test]
    fn service_flips_and_refuses_splits_and_strangers() {
        let k = KubeKind::Service {
            service: "checkout".into(),
            key: "version".into(),
            values: EnvPair::new("blue".into(), "green".into()),
        };
        let s = json!({"metadata": {"resourceVersion": "3"},
                       "spec": {"selector": {"app": "checkout", "version": "blue"}}});
        assert_eq!(k.read(std::slice::from_ref(&s)), Ok(Weights::new(1, 0)));
        let (_, p) = k
            .patch(std::slice::from_ref(&s), Weights::new(0, 1))
            .unwrap();
        assert_eq!(
            p,
            json!({"metadata": {"resourceVersion": "3"}, "spec": {"selector": {"version": "green"}}})
        );
        let e = k
            .patch(std::slice::from_ref(&s), Weights::new(1, 1))
            .unwrap_err();
        assert!(e.contains("can only flip"), "{e}");
        let s = json!({"spec": {"selector": {"version": "purple"}}});
        let e = k.read(std::slice::from_ref(&s)).unwrap_err();
        assert!(e.contains("version=purple, which is neither"), "{e}");
        let s = json!({"spec": {"selector": {"app": "x"}}});
        let e = k.read(std::slice::from_ref(&s)).unwrap_err();
        assert!(e.contains("no `version` key"), "{e}");
        let sel = serde_json::from_value(json!({"app": "checkout", "version": "blue"})).unwrap();
        assert_eq!(
            Value::Object(k.pod_selector(Env::Green, &sel)),
            json!({"app": "checkout", "version": "green"})
        );
    }

    #[test]
    fn ingress_canary_weight_either_way_round() {
        let k = KubeKind::IngressNginx {
            ingresses: EnvPair::new("shop-blue".into(), "shop-green".into()),
        };
        let blue = json!({"metadata": {"resourceVersion": "1"},
            "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "svc-blue"}}}]}}]}});
        let green = json!({"metadata": {"resourceVersion": "2", "annotations": {CANARY: "true", CANARY_WEIGHT: "20"}},
            "spec": {"defaultBackend": {"service": {"name": "svc-green"}}}});
        let objs = [blue.clone(), green.clone()];
        assert_eq!(k.read(&objs), Ok(Weights::new(80, 20)));
        let (i, p) = k.patch(&objs, Weights::new(50, 50)).unwrap();
        assert_eq!(i, 1);
        assert_eq!(p["metadata"]["annotations"][CANARY_WEIGHT], "50");
        assert_eq!(p["metadata"]["resourceVersion"], "2");
        assert_eq!(
            k.services(&objs),
            EnvPair::new(Some("svc-blue".into()), Some("svc-green".into()))
        );
        // The canary on blue's Ingress, out of 1000: blue 10 % is weight 100.
        let b = json!({"metadata": {"annotations": {CANARY: "true", CANARY_TOTAL: "1000"}}});
        let objs = [b, json!({})];
        assert_eq!(k.read(&objs), Ok(Weights::new(0, 1000)));
        let (i, p) = k
            .patch(&objs, Weights::for_share(Env::Blue, 10, 100))
            .unwrap();
        assert_eq!(i, 0);
        assert_eq!(p["metadata"]["annotations"][CANARY_WEIGHT], "100");
        let e = k.read(&[json!({}), json!({})]).unwrap_err();
        assert!(e.contains("neither Ingress"), "{e}");
        let bad = json!({"metadata": {"annotations": {CANARY: "true", CANARY_WEIGHT: "ten"}}});
        let e = k.read(&[json!({}), bad]).unwrap_err();
        assert!(e.contains("expected a whole number"), "{e}");
    }

    #[test]
    fn istio_subsets_hosts_and_sums() {
        let k = KubeKind::Istio {
            virtual_service: "checkout".into(),
            route: None,
            dests: EnvPair::new(
                IstioDest {
                    host: Some("checkout".into()),
                    subset: Some("blue".into()),
                },
                IstioDest {
                    host: Some("checkout".into()),
                    subset: Some("green".into()),
                },
            ),
        };
        let vs = json!({"metadata": {"resourceVersion": "9"}, "spec": {"hosts": ["checkout"], "http": [
            {"match": [{"uri": {"prefix": "/v0"}}], "route": [{"destination": {"host": "legacy"}}]},
            {"route": [
                {"destination": {"host": "checkout", "subset": "green"}, "weight": 0},
                {"destination": {"host": "checkout", "subset": "blue"}, "weight": 100}
            ], "retries": {"attempts": 3}}
        ]}});
        assert_eq!(k.read(std::slice::from_ref(&vs)), Ok(Weights::new(100, 0)));
        let (_, p) = k
            .patch(std::slice::from_ref(&vs), Weights::new(90, 10))
            .unwrap();
        assert_eq!(p["spec"]["http"][0], vs["spec"]["http"][0]);
        assert_eq!(p["spec"]["http"][1]["route"][0]["weight"], 10);
        assert_eq!(p["spec"]["http"][1]["route"][1]["weight"], 90);
        assert_eq!(p["spec"]["http"][1]["retries"]["attempts"], 3);
        assert!(
            k.patch(std::slice::from_ref(&vs), Weights::new(90, 90))
                .unwrap_err()
                .contains("add up to 100")
        );
        let mut one = vs.clone();
        one["spec"]["http"][1]["route"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        let e = k.read(std::slice::from_ref(&one)).unwrap_err();
        assert!(e.contains("no http route with both"), "{e}");
    }
}
