//! `[backend]`: which switch moves the traffic, and its settings. The simulator, HAProxy,
//! nginx and ALB are converted here; the four Kubernetes kinds in `kube.rs`.

use super::file::{AlbFile, BackendFile, EbFile, HaproxyFile, NginxFile, Route53File, SimFile};
use super::kube::{Kind as KubeFileKind, kube_settings};
use crate::backends::alb::{AlbSettings, AlbTarget};
use crate::backends::eb::EbSettings;
use crate::backends::haproxy::{HaproxySettings, Socket};
use crate::backends::kube::KubeSettings;
use crate::backends::nginx::NginxSettings;
use crate::backends::route53::{MAX_WEIGHT, Route53Settings};
use crate::core::EnvPair;
use std::time::Duration;

/// Which backend, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum BackendConfig {
    /// A `cutover sim serve` control server (`host:port` or URL).
    Sim {
        control: String,
        /// A write not answered within this is "outcome unknown".
        timeout: Duration,
    },
    Haproxy(HaproxySettings),
    Nginx(NginxSettings),
    Alb(AlbSettings),
    Route53(Route53Settings),
    ElasticBeanstalk(EbSettings),
    Kube(KubeSettings),
}

impl BackendConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Sim { .. } => "sim",
            BackendConfig::Haproxy(_) => "haproxy",
            BackendConfig::Nginx(_) => "nginx",
            BackendConfig::Alb(_) => "alb",
            BackendConfig::Route53(_) => "route53",
            BackendConfig::ElasticBeanstalk(_) => "elastic-beanstalk",
            BackendConfig::Kube(k) => k.kind.name(),
        }
    }
}

/// The `[backend]` table, checked for its kind. HAProxy's write timeout defaults to the
/// poll timeout.
pub(super) fn backend_config(
    f: BackendFile,
    poll_timeout: Duration,
) -> Result<BackendConfig, String> {
    match f {
        BackendFile::Sim(s) => sim(s),
        BackendFile::Haproxy(h) => haproxy(h, poll_timeout),
        BackendFile::Alb(a) => alb(a),
        BackendFile::Route53(r) => route53(r),
        BackendFile::ElasticBeanstalk(e) => elastic_beanstalk(e),
        BackendFile::KubeService(k) => {
            kube_settings(KubeFileKind::Service, k).map(BackendConfig::Kube)
        }
        BackendFile::KubeGateway(k) => {
            kube_settings(KubeFileKind::Gateway, k).map(BackendConfig::Kube)
        }
        BackendFile::KubeIngressNginx(k) => {
            kube_settings(KubeFileKind::IngressNginx, k).map(BackendConfig::Kube)
        }
        BackendFile::KubeIstio(k) => kube_settings(KubeFileKind::Istio, k).map(BackendConfig::Kube),
        BackendFile::Nginx(n) => nginx(n),
    }
}

fn sim(s: SimFile) -> Result<BackendConfig, String> {
    if s.control.trim().is_empty() {
        return Err(
            "key `backend.control`: value \"\": expected the sim control address, e.g. \"127.0.0.1:7070\"".into(),
        );
    }
    control_address(&s.control)?;
    let timeout = s.timeout.unwrap_or(Duration::from_secs(10));
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(600) {
        return Err(format!(
            "key `backend.timeout`: value {:?}: expected from \"100ms\" to \"10m\"",
            humantime::format_duration(timeout).to_string()
        ));
    }
    Ok(BackendConfig::Sim {
        control: s.control,
        timeout,
    })
}

/// `backend.control`: `host:port`, or an http(s) URL with a host and no path.
fn control_address(control: &str) -> Result<(), String> {
    let url = if control.starts_with("http://") || control.starts_with("https://") {
        control.to_string()
    } else {
        format!("http://{control}")
    };
    let ok = reqwest::Url::parse(&url).is_ok_and(|u| {
        u.host_str().is_some_and(|h| !h.is_empty())
            && u.path().trim_end_matches('/').is_empty()
            && u.query().is_none()
            && u.username().is_empty()
    }) && !control.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key `backend.control`: value {}: expected the sim control address, `host:port` such as \"127.0.0.1:7070\" or an http:// URL",
            super::bounds::echo(control)
        ))
    }
}

/// `backend.weight-scale`: 1 to `max`, `default` when absent. Read as any whole number
/// so that a negative one is said with its key (a `u32` field's error named only the
/// `[backend]` table).
pub(super) fn scale_of(v: Option<i64>, default: u32, max: u32, why: &str) -> Result<u32, String> {
    let v = super::bounds::whole(
        "backend.weight-scale",
        v.unwrap_or(i64::from(default)),
        (1, i64::from(max)),
        why,
    )?;
    u32::try_from(v)
        .map_err(|_| format!("key `backend.weight-scale`: value {v}: expected 1 to {max} ({why})"))
}

fn haproxy(h: HaproxyFile, poll_timeout: Duration) -> Result<BackendConfig, String> {
    let scale = scale_of(h.weight_scale, 100, 256, "HAProxy's weight range")?;
    super::bounds::path("backend.socket", std::path::Path::new(&h.socket))?;
    if h.socket.trim().is_empty() {
        return Err(
            "key `backend.socket`: value \"\": expected a unix socket path or host:port".into(),
        );
    }
    for (key, v) in [
        ("backend", &h.backend),
        ("blue-server", &h.blue_server),
        ("green-server", &h.green_server),
    ] {
        // HAProxy's own rule for proxy and server names.
        super::bounds::ident(&format!("backend.{key}"), v, "-_.:", 256, "an HAProxy name")?;
    }
    if h.blue_server == h.green_server {
        return Err(format!(
            "keys `backend.blue-server` and `backend.green-server`: both {:?}: expected two different servers",
            h.blue_server
        ));
    }
    Ok(BackendConfig::Haproxy(HaproxySettings {
        socket: Socket::parse(&h.socket),
        backend: h.backend,
        servers: EnvPair::new(h.blue_server, h.green_server),
        scale,
        timeout: super::bounds::backend_timeout(
            h.timeout,
            poll_timeout,
            "a socket command slower than this is an unknown outcome",
        )?,
    }))
}

fn alb(a: AlbFile) -> Result<BackendConfig, String> {
    super::http::aws_place("backend", a.region.as_deref(), a.endpoint_url.as_deref())?;
    let target = match (a.listener_arn, a.rule_arn) {
        (Some(l), None) => AlbTarget::Listener(l),
        (None, Some(r)) => AlbTarget::Rule(r),
        _ => {
            return Err(
                "keys `backend.listener-arn` and `backend.rule-arn`: expected exactly one of them"
                    .into(),
            );
        }
    };
    let arn = match &target {
        AlbTarget::Listener(x) | AlbTarget::Rule(x) => x.clone(),
    };
    for (key, v) in [
        (
            if matches!(target, AlbTarget::Listener(_)) {
                "listener-arn"
            } else {
                "rule-arn"
            },
            &arn,
        ),
        ("blue-target-group", &a.blue_target_group),
        ("green-target-group", &a.green_target_group),
    ] {
        if !v.starts_with("arn:")
            || v.len() > 2048
            || v.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "key `backend.{key}`: value {}: expected an ARN (arn:aws:elasticloadbalancing:…, no spaces, at most 2048 characters)",
                super::bounds::echo(v)
            ));
        }
    }
    if a.blue_target_group == a.green_target_group {
        return Err("keys `backend.blue-target-group` and `backend.green-target-group`: the same ARN; expected two target groups".into());
    }
    let scale = scale_of(a.weight_scale, 999, 999, "ALB's weight range")?;
    Ok(BackendConfig::Alb(AlbSettings {
        target,
        groups: EnvPair::new(a.blue_target_group, a.green_target_group),
        region: a.region,
        profile: a.profile,
        endpoint_url: a.endpoint_url,
        scale,
        timeout: super::bounds::backend_timeout(
            a.timeout,
            Duration::from_secs(5),
            "an API call slower than this is an unknown outcome",
        )?,
        static_credentials: None,
    }))
}

fn route53(r: Route53File) -> Result<BackendConfig, String> {
    super::http::aws_place("backend", r.region.as_deref(), r.endpoint_url.as_deref())?;
    let zone = r.hosted_zone_id.trim().trim_start_matches("/hostedzone/");
    if zone.is_empty() || zone.len() > 32 || !zone.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "key `backend.hosted-zone-id`: value {}: expected a hosted zone id such as \"Z0123456789ABCDEFGHIJ\"",
            super::bounds::echo(&r.hosted_zone_id)
        ));
    }
    let name = r.record_name.trim().trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) || !name.contains('.')
    {
        return Err(format!(
            "key `backend.record-name`: value {}: expected a fully qualified DNS name such as \"www.example.com\"",
            super::bounds::echo(&r.record_name)
        ));
    }
    let rtype = r.record_type.trim().to_ascii_uppercase();
    if !["A", "AAAA", "CNAME"].contains(&rtype.as_str()) {
        return Err(format!(
            "key `backend.record-type`: value {}: expected \"A\", \"AAAA\" or \"CNAME\" (an alias is an A or AAAA record with an alias target)",
            super::bounds::echo(&r.record_type)
        ));
    }
    for (key, v) in [
        ("blue-set-identifier", &r.blue_set_identifier),
        ("green-set-identifier", &r.green_set_identifier),
    ] {
        if v.is_empty() || v.chars().count() > 128 || v.chars().any(char::is_control) {
            return Err(format!(
                "key `backend.{key}`: value {}: expected the record's set identifier (1 to 128 characters)",
                super::bounds::echo(v)
            ));
        }
    }
    if r.blue_set_identifier == r.green_set_identifier {
        return Err(format!(
            "keys `backend.blue-set-identifier` and `backend.green-set-identifier`: both {:?}: expected two different weighted records",
            r.blue_set_identifier
        ));
    }
    let scale = scale_of(
        r.weight_scale,
        100,
        MAX_WEIGHT,
        "Route53 weights run 0 to 255",
    )?;
    let sync_timeout = r.sync_timeout.unwrap_or(Duration::from_secs(180));
    if sync_timeout < Duration::from_secs(1) || sync_timeout > Duration::from_secs(3600) {
        return Err(format!(
            "key `backend.sync-timeout`: value {:?}: expected from \"1s\" to \"1h\" (how long a change may stay PENDING)",
            humantime::format_duration(sync_timeout).to_string()
        ));
    }
    Ok(BackendConfig::Route53(Route53Settings {
        zone: zone.to_string(),
        name: format!("{name}."),
        rtype,
        sets: EnvPair::new(r.blue_set_identifier, r.green_set_identifier),
        // Route53 is global; the SDK still signs for a region.
        region: Some(r.region.unwrap_or_else(|| "us-east-1".into())),
        profile: r.profile,
        endpoint_url: r.endpoint_url,
        scale,
        timeout: super::bounds::backend_timeout(
            r.timeout,
            Duration::from_secs(5),
            "an API call slower than this is an unknown outcome",
        )?,
        sync_timeout,
        static_credentials: None,
    }))
}

fn elastic_beanstalk(e: EbFile) -> Result<BackendConfig, String> {
    super::http::aws_place("backend", e.region.as_deref(), e.endpoint_url.as_deref())?;
    let name_ok = |v: &str, min: usize, max: usize| {
        let n = v.chars().count();
        n >= min && n <= max && !v.chars().any(char::is_control) && v.trim() == v
    };
    if !name_ok(&e.application, 1, 100) {
        return Err(format!(
            "key `backend.application`: value {}: expected the Elastic Beanstalk application's name (1 to 100 characters)",
            super::bounds::echo(&e.application)
        ));
    }
    for (key, v) in [
        ("blue-environment", &e.blue_environment),
        ("green-environment", &e.green_environment),
    ] {
        let chars_ok = v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !name_ok(v, 4, 40) || !chars_ok || v.starts_with('-') || v.ends_with('-') {
            return Err(format!(
                "key `backend.{key}`: value {}: expected an environment name (4 to 40 letters, digits and hyphens)",
                super::bounds::echo(v)
            ));
        }
    }
    if e.blue_environment == e.green_environment {
        return Err(format!(
            "keys `backend.blue-environment` and `backend.green-environment`: both {:?}: expected two different environments",
            e.blue_environment
        ));
    }
    let cname = e.production_cname.trim().trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if cname.is_empty() || cname.len() > 253 || !cname.split('.').all(label_ok) {
        return Err(format!(
            "key `backend.production-cname`: value {}: expected the CNAME users reach, such as \"checkout-prod.us-east-1.elasticbeanstalk.com\" (or its prefix \"checkout-prod\")",
            super::bounds::echo(&e.production_cname)
        ));
    }
    let swap_timeout = e.swap_timeout.unwrap_or(Duration::from_secs(600));
    if swap_timeout < Duration::from_secs(1) || swap_timeout > Duration::from_secs(3600) {
        return Err(format!(
            "key `backend.swap-timeout`: value {:?}: expected from \"1s\" to \"1h\" (how long a swap may keep the environments Updating)",
            humantime::format_duration(swap_timeout).to_string()
        ));
    }
    Ok(BackendConfig::ElasticBeanstalk(EbSettings {
        application: e.application,
        envs: EnvPair::new(e.blue_environment, e.green_environment),
        production_cname: cname.to_string(),
        region: e.region,
        profile: e.profile,
        endpoint_url: e.endpoint_url,
        timeout: super::bounds::backend_timeout(
            e.timeout,
            Duration::from_secs(5),
            "an API call slower than this is an unknown outcome",
        )?,
        swap_timeout,
        static_credentials: None,
    }))
}

fn nginx(n: NginxFile) -> Result<BackendConfig, String> {
    let scale = scale_of(
        n.weight_scale,
        100,
        10_000,
        "nginx weights; the share is the weight out of this",
    )?;
    super::bounds::ident(
        "backend.upstream",
        &n.upstream,
        "-_.:",
        256,
        "an nginx upstream name",
    )?;
    for (key, v) in [
        ("blue-server", &n.blue_server),
        ("green-server", &n.green_server),
    ] {
        // An address as a `server` line writes it: host:port, [v6]:port or unix:/path.
        super::bounds::ident(
            &format!("backend.{key}"),
            v,
            "-_.:[]/",
            512,
            "a server address as the upstream writes it",
        )?;
    }
    if n.blue_server == n.green_server {
        return Err(format!(
            "keys `backend.blue-server` and `backend.green-server`: both {:?}: expected two different servers",
            n.blue_server
        ));
    }
    let cmd = |key: &str,
               v: Option<Vec<String>>,
               default: &[&str]|
     -> Result<Vec<String>, String> {
        let v = v.unwrap_or_else(|| {
            default
                .iter()
                .map(std::string::ToString::to_string)
                .collect()
        });
        if v.is_empty() || v[0].trim().is_empty() {
            return Err(format!(
                "key `backend.{key}`: value []: expected a command such as {default:?}"
            ));
        }
        if v.len() > 64 || v.iter().any(|a| a.len() > 4096 || a.contains('\0')) {
            return Err(format!(
                "key `backend.{key}`: expected a command of at most 64 arguments of at most 4096 bytes each, such as {default:?}"
            ));
        }
        Ok(v)
    };
    super::bounds::path("backend.config", &n.config)?;
    Ok(BackendConfig::Nginx(NginxSettings {
        config: n.config,
        upstream: n.upstream,
        servers: EnvPair::new(n.blue_server, n.green_server),
        test_command: cmd("test-command", n.test_command, &["nginx", "-t"])?,
        reload_command: cmd(
            "reload-command",
            n.reload_command,
            &["nginx", "-s", "reload"],
        )?,
        scale,
        timeout: super::bounds::backend_timeout(
            n.timeout,
            Duration::from_secs(30),
            "a test or reload slower than this is an unknown outcome",
        )?,
    }))
}
