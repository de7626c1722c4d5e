//! `[backend]` of the four Kubernetes kinds (`kube-service`, `kube-gateway`,
//! `kube-ingress-nginx`, `kube-istio`): one table, each kind taking the keys it needs and
//! refusing the ones it does not use.

use super::backend::BackendConfig;
use super::file::KubeFile;
use crate::backends::kube::{IstioDest, KubeKind, KubeSettings};
use crate::core::EnvPair;
use std::time::Duration;

/// The settings of a `kube-*` backend: the keys its kind needs, and no others.
pub(super) fn kube_settings(kind: &str, k: KubeFile) -> Result<BackendConfig, String> {
    let err = |m: String| m;
    let name = |key: &str, v: &Option<String>| -> Result<String, String> {
        match v {
            Some(v) if is_dns_name(v) => Ok(v.clone()),
            Some(v) => Err(err(format!(
                "key `backend.{key}`: value {v:?}: expected a Kubernetes object name (lower-case letters, digits, '-' and '.')"
            ))),
            None => Err(err(format!(
                "key `backend.{key}`: missing: {kind} needs it"
            ))),
        }
    };
    let index = |key: &str, v: Option<i64>| -> Result<Option<usize>, String> {
        match v {
            None => Ok(None),
            Some(i) if (0..1000).contains(&i) => Ok(Some(i as usize)),
            Some(i) => Err(err(format!(
                "key `backend.{key}`: value {i}: expected a rule index from 0"
            ))),
        }
    };
    let two = |a: &str, b: &str, x: &str, y: &str| -> Result<(), String> {
        if x == y {
            Err(err(format!(
                "keys `backend.{a}` and `backend.{b}`: both {x:?}: expected two different names"
            )))
        } else {
            Ok(())
        }
    };
    let used: &[&str] = match kind {
        "kube-service" => &["service", "selector-key", "blue-value", "green-value"],
        "kube-gateway" => &[
            "http-route",
            "rule",
            "blue-service",
            "green-service",
            "weight-scale",
        ],
        "kube-ingress-nginx" => &["blue-ingress", "green-ingress"],
        _ => &[
            "virtual-service",
            "route",
            "blue-host",
            "green-host",
            "blue-subset",
            "green-subset",
        ],
    };
    let given: [(&str, bool); 17] = [
        ("service", k.service.is_some()),
        ("selector-key", k.selector_key.is_some()),
        ("blue-value", k.blue_value.is_some()),
        ("green-value", k.green_value.is_some()),
        ("http-route", k.http_route.is_some()),
        ("rule", k.rule.is_some()),
        ("blue-service", k.blue_service.is_some()),
        ("green-service", k.green_service.is_some()),
        ("weight-scale", k.weight_scale.is_some()),
        ("blue-ingress", k.blue_ingress.is_some()),
        ("green-ingress", k.green_ingress.is_some()),
        ("virtual-service", k.virtual_service.is_some()),
        ("route", k.route.is_some()),
        ("blue-host", k.blue_host.is_some()),
        ("green-host", k.green_host.is_some()),
        ("blue-subset", k.blue_subset.is_some()),
        ("green-subset", k.green_subset.is_some()),
    ];
    if let Some((key, _)) = given.iter().find(|(key, set)| *set && !used.contains(key)) {
        return Err(err(format!(
            "key `backend.{key}`: not used by kind {kind:?}; expected one of: {}",
            used.join(", ")
        )));
    }
    let kind = match kind {
        "kube-service" => {
            let key = k.selector_key.unwrap_or_else(|| "version".into());
            if key.trim().is_empty() {
                return Err(err(
                    "key `backend.selector-key`: value \"\": expected a label key such as \"version\"".into(),
                ));
            }
            let values = EnvPair::new(
                k.blue_value.unwrap_or_else(|| "blue".into()),
                k.green_value.unwrap_or_else(|| "green".into()),
            );
            two("blue-value", "green-value", &values.blue, &values.green)?;
            KubeKind::Service {
                service: name("service", &k.service)?,
                key,
                values,
            }
        }
        "kube-gateway" => {
            let services = EnvPair::new(
                name("blue-service", &k.blue_service)?,
                name("green-service", &k.green_service)?,
            );
            two(
                "blue-service",
                "green-service",
                &services.blue,
                &services.green,
            )?;
            KubeKind::Gateway {
                route: name("http-route", &k.http_route)?,
                rule: index("rule", k.rule)?,
                services,
            }
        }
        "kube-ingress-nginx" => {
            let ingresses = EnvPair::new(
                name("blue-ingress", &k.blue_ingress)?,
                name("green-ingress", &k.green_ingress)?,
            );
            two(
                "blue-ingress",
                "green-ingress",
                &ingresses.blue,
                &ingresses.green,
            )?;
            KubeKind::IngressNginx { ingresses }
        }
        _ => {
            let dest = |env: &str, host: Option<String>, subset: Option<String>| {
                if host.is_none() && subset.is_none() {
                    return Err(err(format!(
                        "keys `backend.{env}-host` and `backend.{env}-subset`: both missing: expected the {env} destination's host, subset or both"
                    )));
                }
                Ok(IstioDest { host, subset })
            };
            let dests = EnvPair::new(
                dest("blue", k.blue_host, k.blue_subset)?,
                dest("green", k.green_host, k.green_subset)?,
            );
            if dests.blue == dests.green {
                return Err(err(
                    "keys `backend.blue-host`/`blue-subset` and `green-host`/`green-subset`: the same destination; expected two".into(),
                ));
            }
            KubeKind::Istio {
                virtual_service: name("virtual-service", &k.virtual_service)?,
                route: index("route", k.route)?,
                dests,
            }
        }
    };
    let scale = k.weight_scale.unwrap_or(100);
    if scale == 0 {
        return Err(err(
            "key `backend.weight-scale`: value 0: expected at least 1 (HTTPRoute weights are proportional)".into(),
        ));
    }
    if let Some(ns) = &k.namespace
        && !is_dns_name(ns)
    {
        return Err(err(format!(
            "key `backend.namespace`: value {ns:?}: expected a namespace name"
        )));
    }
    for (key, v) in [
        ("blue-deployment", &k.blue_deployment),
        ("green-deployment", &k.green_deployment),
    ] {
        if v.is_some() {
            name(key, v)?;
        }
    }
    Ok(BackendConfig::Kube(KubeSettings {
        kind,
        kubeconfig: k.kubeconfig,
        context: k.context,
        namespace: k.namespace,
        deployments: EnvPair::new(k.blue_deployment, k.green_deployment),
        scale,
        timeout: k.timeout.unwrap_or(Duration::from_secs(5)),
    }))
}

/// A Kubernetes object name (RFC 1123 subdomain).
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}
