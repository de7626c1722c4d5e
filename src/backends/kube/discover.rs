//! `init --discover` on Kubernetes: in the current context and namespace, with the
//! kubeconfig's own credentials and `list` calls only, every HTTPRoute rule and
//! VirtualService route that sends to exactly two backends, and every Service whose
//! selector picks one of two Deployments that differ in one label.

use super::kind::{DEPLOYMENT, HTTPROUTE, Resource, SERVICE, VIRTUALSERVICE};
use super::{KubeBackend, KubeKind, KubeSettings, api_resource};
use crate::backends::discover::{Found, blue_green, quoted, shares};
use crate::core::EnvPair;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Where to look: the kubeconfig, the context and the namespace (else the context's).
#[derive(Clone, Debug, Default)]
pub struct KubeWhere {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// What was found, and what could not be looked at (a resource the cluster does not serve,
/// a `list` RBAC refuses), each said.
pub async fn discover(
    w: &KubeWhere,
    timeout: Duration,
) -> Result<(Vec<Found>, Vec<String>), String> {
    let b = KubeBackend::connect(KubeSettings {
        kind: KubeKind::Service {
            service: String::new(),
            key: String::new(),
            values: EnvPair::new(String::new(), String::new()),
        },
        kubeconfig: w.kubeconfig.clone(),
        context: w.context.clone(),
        namespace: w.namespace.clone(),
        deployments: EnvPair::new(None, None),
        scale: 100,
        timeout,
    })
    .await?;
    let ns = b.namespace().to_string();
    let client = b.0.client.clone();
    let list = |r: Resource| {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &api_resource(r));
        async move {
            match tokio::time::timeout(timeout, api.list(&ListParams::default().limit(500))).await {
                Err(_) => Err(format!(
                    "{}: the API server did not answer in {}",
                    r.qualified(),
                    humantime::format_duration(timeout)
                )),
                Ok(Err(kube::Error::Api(s))) if s.code == 404 => {
                    Err(format!("{}: not served by this cluster", r.qualified()))
                }
                Ok(Err(e)) => Err(format!("{}: {}", r.qualified(), super::words(&e))),
                Ok(Ok(l)) => Ok(l
                    .items
                    .into_iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect::<Vec<Value>>()),
            }
        }
    };
    let (routes, vss, svcs, deps) = futures::join!(
        list(HTTPROUTE),
        list(VIRTUALSERVICE),
        list(SERVICE),
        list(DEPLOYMENT)
    );
    let mut notes = Vec::new();
    let mut found = Vec::new();
    let mut take = |r: Result<Vec<Value>, String>| match r {
        Ok(v) => v,
        Err(e) => {
            notes.push(e);
            Vec::new()
        }
    };
    let (routes, vss, svcs, deps) = (take(routes), take(vss), take(svcs), take(deps));
    let head = |kind: &str| {
        let mut k = vec![("kind", quoted(kind))];
        if let Some(p) = &w.kubeconfig {
            k.push(("kubeconfig", quoted(&p.display().to_string())));
        }
        if let Some(c) = &w.context {
            k.push(("context", quoted(c)));
        }
        k.push(("namespace", quoted(&ns)));
        k
    };
    for r in &routes {
        found.extend(gateway(r, &head("kube-gateway")));
    }
    for v in &vss {
        found.extend(istio(v, &head("kube-istio")));
    }
    for s in &svcs {
        found.extend(service(s, &deps, &head("kube-service")));
    }
    Ok((found, notes))
}

fn name(o: &Value) -> String {
    o["metadata"]["name"].as_str().unwrap_or("?").to_string()
}

/// The rules of an HTTPRoute with exactly two backendRefs.
fn gateway(route: &Value, head: &[(&'static str, String)]) -> Vec<Found> {
    let n = name(route);
    let rules = route["spec"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    type Ref = (String, u64);
    let pairs: Vec<(usize, Ref, Ref)> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let refs = r["backendRefs"].as_array()?;
            let [a, b] = refs.as_slice() else {
                return None;
            };
            let one = |x: &Value| {
                Some((
                    x["name"].as_str()?.to_string(),
                    x["weight"].as_u64().unwrap_or(1),
                ))
            };
            Some((i, one(a)?, one(b)?))
        })
        .collect();
    let several = pairs.len() > 1;
    pairs
        .into_iter()
        .map(|(i, a, b)| {
            let ((blue, bw), (green, gw)) = blue_green((&a.0, a.1), (&b.0, b.1));
            let (bs, gs) = shares(bw, gw);
            let mut keys = head.to_vec();
            keys.push(("http-route", quoted(&n)));
            keys.push(("blue-service", quoted(&blue)));
            keys.push(("green-service", quoted(&green)));
            if several {
                keys.push(("rule", i.to_string()));
            }
            keys.push(("weight-scale", "100".into()));
            Found {
                what: format!("HTTPRoute {n} rule {i}: {blue} ({bs}) / {green} ({gs})"),
                name: n.clone(),
                keys,
            }
        })
        .collect()
}

/// The http routes of a VirtualService with exactly two destinations.
fn istio(vs: &Value, head: &[(&'static str, String)]) -> Vec<Found> {
    let n = name(vs);
    let http = vs["spec"]["http"].as_array().cloned().unwrap_or_default();
    type Dest = (String, Option<String>, u64);
    let pairs: Vec<(usize, Dest, Dest)> = http
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let routes = h["route"].as_array()?;
            let [a, b] = routes.as_slice() else {
                return None;
            };
            let one = |x: &Value| -> Option<Dest> {
                let d = &x["destination"];
                Some((
                    d["host"].as_str()?.to_string(),
                    d["subset"].as_str().map(str::to_string),
                    x["weight"].as_u64().unwrap_or(0),
                ))
            };
            Some((i, one(a)?, one(b)?))
        })
        .collect();
    let several = pairs.len() > 1;
    let label = |d: &Dest| match &d.1 {
        Some(s) => format!("{} subset {s}", d.0),
        None => d.0.clone(),
    };
    pairs
        .into_iter()
        .map(|(i, a, b)| {
            let ((_, blue), (_, green)) =
                blue_green((&label(&a), a.clone()), (&label(&b), b.clone()));
            let (bs, gs) = shares(blue.2, green.2);
            let mut keys = head.to_vec();
            keys.push(("virtual-service", quoted(&n)));
            keys.push(("blue-host", quoted(&blue.0)));
            if let Some(s) = &blue.1 {
                keys.push(("blue-subset", quoted(s)));
            }
            keys.push(("green-host", quoted(&green.0)));
            if let Some(s) = &green.1 {
                keys.push(("green-subset", quoted(s)));
            }
            if several {
                keys.push(("route", i.to_string()));
            }
            Found {
                what: format!(
                    "VirtualService {n} route {i}: {} ({bs}) / {} ({gs})",
                    label(&blue),
                    label(&green)
                ),
                name: n.clone(),
                keys,
            }
        })
        .collect()
}

/// A Service whose selector picks one of two Deployments that differ only in one label.
fn service(svc: &Value, deps: &[Value], head: &[(&'static str, String)]) -> Vec<Found> {
    let n = name(svc);
    let Some(sel) = svc["spec"]["selector"].as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, current) in sel {
        let Some(current) = current.as_str() else {
            continue;
        };
        let mut values: Vec<String> = Vec::new();
        for d in deps {
            let Some(labels) = d["spec"]["template"]["metadata"]["labels"].as_object() else {
                continue;
            };
            let rest_match = sel
                .iter()
                .filter(|(k, _)| *k != key)
                .all(|(k, v)| labels.get(k) == Some(v));
            if let (true, Some(v)) = (rest_match, labels.get(key).and_then(Value::as_str))
                && !values.iter().any(|x| x == v)
            {
                values.push(v.to_string());
            }
        }
        let [a, b] = values.as_slice() else {
            continue;
        };
        // One env's own Service (`checkout-blue` selecting version=blue) is not a switch.
        if (a != current && b != current) || n.contains(a.as_str()) || n.contains(b.as_str()) {
            continue;
        }
        let ((blue, bw), (green, gw)) =
            blue_green((a, u64::from(a == current)), (b, u64::from(b == current)));
        let (bs, gs) = shares(bw, gw);
        let mut keys = head.to_vec();
        keys.push(("service", quoted(&n)));
        keys.push(("selector-key", quoted(key)));
        keys.push(("blue-value", quoted(&blue)));
        keys.push(("green-value", quoted(&green)));
        out.push(Found {
            what: format!("Service {n}: selects {key}={blue} ({bs}) / {key}={green} ({gs})"),
            name: n.clone(),
            keys,
        });
    }
    out
}
