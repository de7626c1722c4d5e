//! The config file as serde reads it: one `*File` type per table, kebab-case keys, unknown
//! keys refused, durations in humantime ("30s", "15m"). Nothing here is checked beyond its
//! type; the section converters beside this file turn these into runtime settings.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConfigFile {
    pub(super) name: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) poll_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) poll_timeout: Option<Duration>,
    pub(super) plan: Option<Vec<i64>>,
    #[serde(default, with = "humantime_serde")]
    pub(super) rollback_window: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) rollback_window_extend: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) rollback_window_warn: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) lease_ttl: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) min_bake: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) standby_check_interval: Option<Duration>,
    pub(super) cold_rollback: Option<String>,
    pub(super) cold_rollback_steps: Option<Vec<i64>>,
    #[serde(default, with = "humantime_serde")]
    pub(super) cold_rollback_wait: Option<Duration>,
    pub(super) live: Option<String>,
    pub(super) journal: Option<PathBuf>,
    pub(super) theme: Option<String>,
    pub(super) backend: BackendFile,
    #[serde(default)]
    pub(super) envs: EnvsFile,
    #[serde(default)]
    pub(super) guardrails: GuardrailsFile,
    pub(super) prometheus: Option<PrometheusFile>,
    pub(super) cloudwatch: Option<CloudWatchFile>,
    pub(super) schema: Option<SchemaFile>,
    pub(super) approval: Option<ApprovalFile>,
    #[serde(default)]
    pub(super) notify: Vec<NotifyFile>,
    #[serde(default)]
    pub(super) smoke: Vec<toml::Value>,
    #[serde(default)]
    pub(super) keys: BTreeMap<String, Vec<String>>,
}

/// `[approval]`: what needs a second person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ApprovalFile {
    pub(super) required_for: Option<Vec<String>>,
    #[serde(default, with = "humantime_serde")]
    pub(super) approval_ttl: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(super) enum BackendFile {
    Sim(SimFile),
    Haproxy(HaproxyFile),
    Nginx(NginxFile),
    Alb(AlbFile),
    Route53(Route53File),
    ElasticBeanstalk(EbFile),
    KubeService(KubeFile),
    KubeGateway(KubeFile),
    KubeIngressNginx(KubeFile),
    KubeIstio(KubeFile),
}

/// One table for the four Kubernetes kinds; each kind checks which keys it needs and
/// refuses the ones it does not use.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct KubeFile {
    pub(super) kubeconfig: Option<PathBuf>,
    pub(super) context: Option<String>,
    pub(super) namespace: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    pub(super) blue_deployment: Option<String>,
    pub(super) green_deployment: Option<String>,
    // kube-service
    pub(super) service: Option<String>,
    pub(super) selector_key: Option<String>,
    pub(super) blue_value: Option<String>,
    pub(super) green_value: Option<String>,
    // kube-gateway
    pub(super) http_route: Option<String>,
    pub(super) rule: Option<i64>,
    pub(super) blue_service: Option<String>,
    pub(super) green_service: Option<String>,
    pub(super) weight_scale: Option<i64>,
    // kube-ingress-nginx
    pub(super) blue_ingress: Option<String>,
    pub(super) green_ingress: Option<String>,
    // kube-istio
    pub(super) virtual_service: Option<String>,
    pub(super) route: Option<i64>,
    pub(super) blue_host: Option<String>,
    pub(super) green_host: Option<String>,
    pub(super) blue_subset: Option<String>,
    pub(super) green_subset: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AlbFile {
    pub(super) listener_arn: Option<String>,
    pub(super) rule_arn: Option<String>,
    pub(super) blue_target_group: String,
    pub(super) green_target_group: String,
    pub(super) region: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) weight_scale: Option<i64>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Route53File {
    pub(super) hosted_zone_id: String,
    pub(super) record_name: String,
    pub(super) record_type: String,
    pub(super) blue_set_identifier: String,
    pub(super) green_set_identifier: String,
    pub(super) region: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) weight_scale: Option<i64>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) sync_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct EbFile {
    pub(super) application: String,
    pub(super) blue_environment: String,
    pub(super) green_environment: String,
    pub(super) production_cname: String,
    pub(super) region: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) endpoint_url: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) swap_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct HaproxyFile {
    pub(super) socket: String,
    pub(super) backend: String,
    pub(super) blue_server: String,
    pub(super) green_server: String,
    pub(super) weight_scale: Option<i64>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct NginxFile {
    pub(super) config: PathBuf,
    pub(super) upstream: String,
    pub(super) blue_server: String,
    pub(super) green_server: String,
    pub(super) test_command: Option<Vec<String>>,
    pub(super) reload_command: Option<Vec<String>>,
    pub(super) weight_scale: Option<i64>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SimFile {
    pub(super) control: String,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnvsFile {
    pub(super) blue: Option<EnvFile>,
    pub(super) green: Option<EnvFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct EnvFile {
    pub(super) version: Option<String>,
    pub(super) label: Option<String>,
    /// The env's own base URL, for smoke checks given by `path`.
    pub(super) address: Option<String>,
    /// URLs, or tables with expectations (see [`ProbeFile`]).
    #[serde(default)]
    pub(super) health: Vec<toml::Value>,
    /// The highest schema version the env was proven on (see [`SchemaFile`]).
    pub(super) schema_max: Option<String>,
    /// Or a JSON pointer into its first health probe's answer that says it.
    pub(super) schema_max_pointer: Option<String>,
}

/// `[schema]`: the database whose migrations the schema guard watches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SchemaFile {
    pub(super) kind: Option<String>,
    pub(super) url_env: Option<String>,
    pub(super) url_file: Option<PathBuf>,
    pub(super) tool: Option<String>,
    pub(super) query: Option<String>,
    pub(super) table: Option<String>,
    pub(super) contract: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    pub(super) ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ProbeFile {
    pub(super) url: String,
    pub(super) expect_status: Option<u16>,
    pub(super) expect_body: Option<String>,
    pub(super) json_pointer: Option<String>,
    pub(super) json_value: Option<toml::Value>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) bearer_token_env: Option<String>,
    pub(super) bearer_token_file: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PrometheusFile {
    pub(super) url: String,
    pub(super) error_rate: Option<String>,
    pub(super) p99: Option<String>,
    pub(super) rps: Option<String>,
    pub(super) requests: Option<String>,
    pub(super) errors: Option<String>,
    pub(super) env_label: Option<String>,
    pub(super) window: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    pub(super) bearer_token_env: Option<String>,
    pub(super) bearer_token_file: Option<PathBuf>,
    pub(super) basic_auth_user: Option<String>,
    pub(super) basic_auth_password_env: Option<String>,
    pub(super) basic_auth_password_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) queries: Vec<QueryFile>,
    pub(super) max_body_mb: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct CloudWatchFile {
    pub(super) region: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) endpoint_url: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) period: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
    pub(super) load_balancer: Option<String>,
    pub(super) blue_target_group: Option<String>,
    pub(super) green_target_group: Option<String>,
    pub(super) requests: Option<CwMetricFile>,
    pub(super) errors: Option<CwMetricFile>,
    pub(super) p99: Option<CwMetricFile>,
    pub(super) p99_unit: Option<String>,
    pub(super) absent_errors_are_zero: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct CwMetricFile {
    pub(super) namespace: String,
    pub(super) metric: String,
    pub(super) stat: String,
    #[serde(default)]
    pub(super) dimensions: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct NotifyFile {
    /// The environment variable holding the webhook URL (URLs carry secrets).
    pub(super) url_env: String,
    pub(super) format: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(super) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct QueryFile {
    pub(super) name: String,
    pub(super) query: String,
    #[serde(default)]
    pub(super) unit: String,
    pub(super) bad: Option<String>,
    pub(super) max_change: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct GuardrailsFile {
    pub(super) max_error_rate: Option<f64>,
    pub(super) max_error_rate_delta: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    pub(super) max_p99: Option<Duration>,
    pub(super) max_p99_ratio: Option<f64>,
    pub(super) max_health_failures: Option<u32>,
    pub(super) min_requests: Option<i64>,
    #[serde(default, rename = "for", with = "humantime_serde")]
    pub(super) for_: Option<Duration>,
    pub(super) no_data: Option<String>,
    pub(super) auto_rollback: Option<String>,
}
