//! `[backend]` of the four Kubernetes kinds (`kube-service`, `kube-gateway`,
//! `kube-ingress-nginx`, `kube-istio`): one table, each kind taking the keys it needs and
//! refusing the ones it does not use.

use super::file::KubeFile;
use crate::backends::kube::{IstioDest, KubeKind, KubeSettings};
use crate::core::EnvPair;
use std::time::Duration;

/// Which `kube-*` kind the `kind` key named. Serde reads the string once (it picks the
/// `BackendFile` variant, and refuses an unknown kind); from then on it is this enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Service,
    Gateway,
    IngressNginx,
    Istio,
}

impl Kind {
    /// The value of `kind` in the config, as errors quote it.
    fn name(self) -> &'static str {
        match self {
            Kind::Service => "kube-service",
            Kind::Gateway => "kube-gateway",
            Kind::IngressNginx => "kube-ingress-nginx",
            Kind::Istio => "kube-istio",
        }
    }

    /// The kind-specific keys this kind takes; the others of [`KubeFile`] are refused.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Service => &["service", "selector-key", "blue-value", "green-value"],
            Kind::Gateway => &[
                "http-route",
                "rule",
                "blue-service",
                "green-service",
                "weight-scale",
            ],
            Kind::IngressNginx => &["blue-ingress", "green-ingress"],
            Kind::Istio => &[
                "virtual-service",
                "route",
                "blue-host",
                "green-host",
                "blue-subset",
                "green-subset",
            ],
        }
    }
}

/// The settings of a `kube-*` backend: the keys its kind needs, and no others.
pub(super) fn kube_settings(kind: Kind, k: KubeFile) -> Result<KubeSettings, String> {
    refuse_unused(kind, &k)?;
    let routing = match kind {
        Kind::Service => service(&k)?,
        Kind::Gateway => gateway(&k)?,
        Kind::IngressNginx => ingress_nginx(&k)?,
        Kind::Istio => istio(&k)?,
    };
    let scale = super::backend::scale_of(
        k.weight_scale,
        100,
        1_000_000,
        "HTTPRoute weights are proportional; the share is the weight out of this",
    )?;
    if let Some(ns) = &k.namespace
        && !is_dns_name(ns)
    {
        return Err(format!(
            "key `backend.namespace`: value {ns:?}: expected a namespace name"
        ));
    }
    for (key, v) in [
        ("blue-deployment", &k.blue_deployment),
        ("green-deployment", &k.green_deployment),
    ] {
        if v.is_some() {
            object_name(kind, key, v)?;
        }
    }
    Ok(KubeSettings {
        kind: routing,
        kubeconfig: k.kubeconfig,
        context: k.context,
        namespace: k.namespace,
        deployments: EnvPair::new(k.blue_deployment, k.green_deployment),
        scale,
        timeout: super::bounds::backend_timeout(
            k.timeout,
            Duration::from_secs(5),
            "an API call slower than this is an unknown outcome",
        )?,
    })
}

/// The first kind-specific key given that `kind` does not use, as an error.
fn refuse_unused(kind: Kind, k: &KubeFile) -> Result<(), String> {
    let used = kind.keys();
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
        return Err(format!(
            "key `backend.{key}`: not used by kind {:?}; expected one of: {}",
            kind.name(),
            used.join(", ")
        ));
    }
    Ok(())
}

/// `kube-service`: a Service whose selector is switched between the two envs' label values.
fn service(k: &KubeFile) -> Result<KubeKind, String> {
    let key = k.selector_key.clone().unwrap_or_else(|| "version".into());
    if key.trim().is_empty() {
        return Err(
            "key `backend.selector-key`: value \"\": expected a label key such as \"version\""
                .into(),
        );
    }
    let values = EnvPair::new(
        k.blue_value.clone().unwrap_or_else(|| "blue".into()),
        k.green_value.clone().unwrap_or_else(|| "green".into()),
    );
    two_names("blue-value", "green-value", &values.blue, &values.green)?;
    Ok(KubeKind::Service {
        service: object_name(Kind::Service, "service", &k.service)?,
        key,
        values,
    })
}

/// `kube-gateway`: the weights of one rule of a Gateway API HTTPRoute.
fn gateway(k: &KubeFile) -> Result<KubeKind, String> {
    let services = EnvPair::new(
        object_name(Kind::Gateway, "blue-service", &k.blue_service)?,
        object_name(Kind::Gateway, "green-service", &k.green_service)?,
    );
    two_names(
        "blue-service",
        "green-service",
        &services.blue,
        &services.green,
    )?;
    Ok(KubeKind::Gateway {
        route: object_name(Kind::Gateway, "http-route", &k.http_route)?,
        rule: rule_index("rule", k.rule)?,
        services,
    })
}

/// `kube-ingress-nginx`: two Ingresses, one a canary of the other.
fn ingress_nginx(k: &KubeFile) -> Result<KubeKind, String> {
    let ingresses = EnvPair::new(
        object_name(Kind::IngressNginx, "blue-ingress", &k.blue_ingress)?,
        object_name(Kind::IngressNginx, "green-ingress", &k.green_ingress)?,
    );
    two_names(
        "blue-ingress",
        "green-ingress",
        &ingresses.blue,
        &ingresses.green,
    )?;
    Ok(KubeKind::IngressNginx { ingresses })
}

/// `kube-istio`: the weights of one route of a VirtualService, each env a host, a subset or
/// both.
fn istio(k: &KubeFile) -> Result<KubeKind, String> {
    let dest = |env: &str, host: &Option<String>, subset: &Option<String>| {
        if host.is_none() && subset.is_none() {
            return Err(format!(
                "keys `backend.{env}-host` and `backend.{env}-subset`: both missing: expected the {env} destination's host, subset or both"
            ));
        }
        Ok(IstioDest {
            host: host.clone(),
            subset: subset.clone(),
        })
    };
    let dests = EnvPair::new(
        dest("blue", &k.blue_host, &k.blue_subset)?,
        dest("green", &k.green_host, &k.green_subset)?,
    );
    if dests.blue == dests.green {
        return Err(
            "keys `backend.blue-host`/`blue-subset` and `green-host`/`green-subset`: the same destination; expected two".into(),
        );
    }
    Ok(KubeKind::Istio {
        virtual_service: object_name(Kind::Istio, "virtual-service", &k.virtual_service)?,
        route: rule_index("route", k.route)?,
        dests,
    })
}

/// A Kubernetes object name that `kind` needs under `key`.
fn object_name(kind: Kind, key: &str, v: &Option<String>) -> Result<String, String> {
    match v {
        Some(v) if is_dns_name(v) => Ok(v.clone()),
        Some(v) => Err(format!(
            "key `backend.{key}`: value {v:?}: expected a Kubernetes object name (lower-case letters, digits, '-' and '.')"
        )),
        None => Err(format!(
            "key `backend.{key}`: missing: {} needs it",
            kind.name()
        )),
    }
}

/// An optional rule (or route) index, from 0.
fn rule_index(key: &str, v: Option<i64>) -> Result<Option<usize>, String> {
    match v {
        None => Ok(None),
        Some(i) if (0..1000).contains(&i) => Ok(Some(i as usize)),
        Some(i) => Err(format!(
            "key `backend.{key}`: value {i}: expected a rule index from 0"
        )),
    }
}

/// Two keys that must name different objects.
fn two_names(a: &str, b: &str, x: &str, y: &str) -> Result<(), String> {
    if x == y {
        Err(format!(
            "keys `backend.{a}` and `backend.{b}`: both {x:?}: expected two different names"
        ))
    } else {
        Ok(())
    }
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
