//! A loopback Elastic Beanstalk for the EB backend's tests (moto has no SwapEnvironmentCNAMEs):
//! the Query API as the AWS API reference documents it (`POST /`, a form body
//! `Action=…&Version=2010-12-01&…`, XML answers, `ErrorResponse` errors), for the actions the
//! backend calls: DescribeEnvironments, SwapEnvironmentCNAMEs, DescribeEnvironmentHealth,
//! ListTagsForResource and UpdateTagsForResource. A swap is accepted only between two `Ready`
//! environments; both are then `Updating`, still showing their old CNAMEs, for a set number of
//! DescribeEnvironments polls, then `Ready` with the CNAMEs swapped. A test can set statuses,
//! health and request metrics, make an action hang or fail, and count the calls. It runs on
//! its own thread with its own runtime (from `#[test]` and `#[tokio::test]` alike) and stops
//! when dropped.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

const XMLNS: &str = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/";
const VERSION: &str = "2010-12-01";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
/// The largest request body read; a larger one is answered 413 unread.
const MAX_BODY: usize = 64 * 1024;
/// The most requests kept for `requests()`; older ones are forgotten.
const MAX_LOG: usize = 10_000;
/// The most tags a resource takes (Elastic Beanstalk's quota).
const MAX_TAGS: usize = 50;

const STATUSES: &[&str] = &[
    "Aborting",
    "Launching",
    "LinkingFrom",
    "LinkingTo",
    "Ready",
    "Terminated",
    "Terminating",
    "Updating",
];
const COLORS: &[&str] = &["Green", "Grey", "Red", "Yellow"];
const HEALTH_STATUSES: &[&str] = &[
    "Degraded",
    "Info",
    "NoData",
    "Ok",
    "Pending",
    "Severe",
    "Suspended",
    "Unknown",
    "Warning",
];

/// An environment's request metrics, as DescribeEnvironmentHealth's `ApplicationMetrics`
/// carries them: `duration_s` is the window (EB's is 10 s), `requests` the requests seen in
/// it, `s2xx`… the requests per status class, `p*_s` latencies in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub duration_s: i32,
    pub requests: i32,
    pub s2xx: i32,
    pub s3xx: i32,
    pub s4xx: i32,
    pub s5xx: i32,
    pub p999_s: f64,
    pub p99_s: f64,
    pub p95_s: f64,
    pub p90_s: f64,
    pub p85_s: f64,
    pub p75_s: f64,
    pub p50_s: f64,
    pub p10_s: f64,
}

impl Default for Metrics {
    /// A 10-second window without a request.
    fn default() -> Metrics {
        Metrics {
            duration_s: 10,
            requests: 0,
            s2xx: 0,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            p999_s: 0.0,
            p99_s: 0.0,
            p95_s: 0.0,
            p90_s: 0.0,
            p85_s: 0.0,
            p75_s: 0.0,
            p50_s: 0.0,
            p10_s: 0.0,
        }
    }
}

impl Metrics {
    /// `requests` in 10 s, `s5xx` of them 5xx and the rest 2xx, a p99 of `p99_s` and the
    /// other percentiles spread around it.
    pub fn traffic(requests: i32, s5xx: i32, p99_s: f64) -> Metrics {
        Metrics {
            requests,
            s2xx: requests - s5xx,
            s5xx,
            p999_s: p99_s * 1.5,
            p99_s,
            p95_s: p99_s * 0.8,
            p90_s: p99_s * 0.7,
            p85_s: p99_s * 0.6,
            p75_s: p99_s * 0.5,
            p50_s: p99_s * 0.3,
            p10_s: p99_s * 0.1,
            ..Metrics::default()
        }
    }
}

/// What an action does instead of answering.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Never answers (the connection stays open until the server stops).
    Hang,
    /// This HTTP status with an `ErrorResponse` of this code and message.
    Error {
        status: u16,
        code: String,
        message: String,
    },
}

impl Fault {
    /// HTTP 500 `InternalFailure`, as AWS says an error of its own.
    pub fn internal() -> Fault {
        Fault::Error {
            status: 500,
            code: "InternalFailure".into(),
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
        }
    }

    /// HTTP 400 `Throttling`, as AWS refuses a caller over its rate.
    pub fn throttling() -> Fault {
        Fault::Error {
            status: 400,
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
        }
    }
}

/// What DescribeEnvironmentHealth says of an environment's requests.
#[derive(Clone, Debug)]
enum AppMetrics {
    /// No `ApplicationMetrics` element.
    Absent,
    Set(Metrics),
    /// This inner XML, as is.
    Raw(String),
}

#[derive(Clone, Debug)]
struct Env {
    name: String,
    id: String,
    app: String,
    version: String,
    /// The CNAME the environment has now (swapped the moment a swap is accepted).
    cname: String,
    /// While a swap is under way: the CNAME DescribeEnvironments still shows.
    shown_cname: Option<String>,
    status: String,
    /// DescribeEnvironments polls left before an update the server started ends (`Ready`).
    polls_left: Option<u32>,
    color: String,
    health_status: String,
    causes: Vec<String>,
    metrics: AppMetrics,
    tags: Vec<(String, String)>,
    created: String,
    updated: String,
}

impl Env {
    fn arn(&self) -> String {
        format!(
            "arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/{}/{}",
            self.app, self.name
        )
    }
}

struct World {
    envs: Vec<Env>,
    updating_polls: u32,
    tag_update_polls: u32,
    /// The application's own tags (an application is a taggable resource too, and tagging
    /// it starts no environment update).
    app_tags: Vec<(String, String)>,
    calls: BTreeMap<String, usize>,
    /// Per action: the fault and how many more calls get it (`None`: all).
    faults: BTreeMap<String, (Fault, Option<u32>)>,
    requests: Vec<(String, Vec<(String, String)>)>,
    next_request: u64,
}

impl World {
    fn env(&self, name: &str) -> &Env {
        self.envs
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no environment named {name}"))
    }

    fn env_mut(&mut self, name: &str) -> &mut Env {
        self.envs
            .iter_mut()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no environment named {name}"))
    }

    /// The environment `name` or `id` names (both, when both are given).
    fn find(&self, name: Option<&str>, id: Option<&str>) -> Option<usize> {
        self.envs.iter().position(|e| {
            name.is_none_or(|n| e.name == n)
                && id.is_none_or(|i| e.id == i)
                && (name.is_some() || id.is_some())
        })
    }
}

type Shared = Arc<Mutex<World>>;

/// The server and the handle on its state; stopped when dropped.
pub struct Eb {
    pub url: String,
    pub port: u16,
    pub app: String,
    world: Shared,
    _served: super::served::Served,
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// An id in EB's shape (`e-` and ten lowercase letters or digits), the same for a name.
fn env_id(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let digits = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::from("e-");
    for _ in 0..10 {
        id.push(digits[(h % 36) as usize] as char);
        h /= 36;
    }
    id
}

impl Eb {
    /// Application `app` with two environments, each `(name, cname)`, both `Ready`, `Green`,
    /// `Ok`, without request metrics, tagged as EB tags them (`elasticbeanstalk:environment-name`,
    /// `elasticbeanstalk:environment-id`, `Name`). A swap keeps them `Updating` for 3 polls.
    pub fn start(app: &str, blue: (&str, &str), green: (&str, &str)) -> Eb {
        let at = now();
        let env = |(name, cname): (&str, &str), version: &str| Env {
            name: name.into(),
            id: env_id(name),
            app: app.into(),
            version: version.into(),
            cname: cname.into(),
            shown_cname: None,
            status: "Ready".into(),
            polls_left: None,
            color: "Green".into(),
            health_status: "Ok".into(),
            causes: Vec::new(),
            metrics: AppMetrics::Absent,
            tags: vec![
                ("elasticbeanstalk:environment-name".into(), name.into()),
                ("elasticbeanstalk:environment-id".into(), env_id(name)),
                ("Name".into(), name.into()),
            ],
            created: at.clone(),
            updated: at.clone(),
        };
        let world = Arc::new(Mutex::new(World {
            envs: vec![env(blue, "v1"), env(green, "v2")],
            updating_polls: 3,
            tag_update_polls: 0,
            app_tags: Vec::new(),
            calls: BTreeMap::new(),
            faults: BTreeMap::new(),
            requests: Vec::new(),
            next_request: 1,
        }));
        let app_router = axum::Router::new()
            .route("/", axum::routing::post(handle))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(world.clone());
        let served = super::served::Served::start(app_router);
        let port = served.port;
        Eb {
            url: format!("http://127.0.0.1:{port}"),
            port,
            app: app.into(),
            world,
            _served: served,
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Sets `env`'s status (one of EB's: `Launching`, `Updating`, `Ready`, `Terminating`,
    /// `Terminated`, …); ends any update the server started (a swap's CNAMEs show at once).
    pub fn set_status(&self, env: &str, status: &str) {
        assert!(STATUSES.contains(&status), "not an EB status: {status}");
        let mut w = self.world();
        let e = w.env_mut(env);
        e.status = status.into();
        e.polls_left = None;
        e.shown_cname = None;
        e.updated = now();
    }

    /// Sets `env`'s health: `color` (`Green`, `Yellow`, `Red`, `Grey`), `health_status`
    /// (`Ok`, `Warning`, `Degraded`, `Severe`, `Info`, `Pending`, `Unknown`, `NoData`,
    /// `Suspended`) and the causes DescribeEnvironmentHealth lists.
    pub fn set_health(&self, env: &str, color: &str, health_status: &str, causes: &[&str]) {
        assert!(COLORS.contains(&color), "not an EB health color: {color}");
        assert!(
            HEALTH_STATUSES.contains(&health_status),
            "not an EB health status: {health_status}"
        );
        let mut w = self.world();
        let e = w.env_mut(env);
        e.color = color.into();
        e.health_status = health_status.into();
        e.causes = causes.iter().map(|c| (*c).to_string()).collect();
    }

    /// `env`'s request metrics from now on; `None` leaves `ApplicationMetrics` out (no data).
    /// Metrics with `requests == 0` are sent as `Duration` and `RequestCount` 0 alone.
    pub fn set_metrics(&self, env: &str, metrics: Option<Metrics>) {
        self.world().env_mut(env).metrics = metrics.map_or(AppMetrics::Absent, AppMetrics::Set);
    }

    /// `env`'s `ApplicationMetrics` element holds `inner` as is (e.g.
    /// `<Duration>10</Duration>`), for shapes `set_metrics` does not make.
    pub fn set_metrics_xml(&self, env: &str, inner: &str) {
        self.world().env_mut(env).metrics = AppMetrics::Raw(inner.into());
    }

    /// How many DescribeEnvironments answers show a swap's two environments `Updating` (with
    /// their old CNAMEs) before both are `Ready` again with the CNAMEs swapped. 3 by default;
    /// 0 makes a swap take effect at once.
    pub fn set_updating_polls(&self, n: u32) {
        self.world().updating_polls = n;
    }

    /// How many DescribeEnvironments answers show an environment `Updating` after its tags
    /// change (EB updates the environment's resources); 0 (the default): none.
    pub fn set_tag_update_polls(&self, n: u32) {
        self.world().tag_update_polls = n;
    }

    /// The CNAME DescribeEnvironments reports for `env` now.
    pub fn cname(&self, env: &str) -> String {
        let w = self.world();
        let e = w.env(env);
        e.shown_cname.clone().unwrap_or_else(|| e.cname.clone())
    }

    /// The status DescribeEnvironments reports for `env` now.
    pub fn status(&self, env: &str) -> String {
        self.world().env(env).status.clone()
    }

    /// `env`'s id (`e-…`).
    pub fn id(&self, env: &str) -> String {
        self.world().env(env).id.clone()
    }

    /// `env`'s ARN.
    pub fn arn(&self, env: &str) -> String {
        self.world().env(env).arn()
    }

    /// `env`'s tags, in order.
    /// The application's ARN, as DescribeEnvironments' ARNs imply it.
    pub fn app_arn(&self) -> String {
        app_arn(&self.app)
    }

    /// The application's tags.
    pub fn app_tags(&self) -> Vec<(String, String)> {
        self.world().app_tags.clone()
    }

    pub fn tags(&self, env: &str) -> Vec<(String, String)> {
        self.world().env(env).tags.clone()
    }

    /// Requests received with this `Action` (answered or not).
    pub fn calls(&self, action: &str) -> usize {
        self.world().calls.get(action).copied().unwrap_or(0)
    }

    /// Every request received (the latest 10 000): its Action and its parameters in order.
    pub fn requests(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.world().requests.clone()
    }

    /// From now on `action` does `fault` instead of answering.
    pub fn fault(&self, action: &str, fault: Fault) {
        self.world().faults.insert(action.into(), (fault, None));
    }

    /// The next `n` calls of `action` do `fault`; later ones are answered.
    pub fn fault_times(&self, action: &str, fault: Fault, n: u32) {
        self.world().faults.insert(action.into(), (fault, Some(n)));
    }

    /// `action` is answered again.
    pub fn clear_fault(&self, action: &str) {
        self.world().faults.remove(action);
    }
}

/// An answer's failure: HTTP status, error code, message.
struct Refusal(u16, &'static str, String);

fn refuse(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal(status, code, message.into())
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_answer(status: u16, request_id: &str, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [
            ("content-type", "text/xml".to_string()),
            ("x-amzn-requestid", request_id.to_string()),
        ],
        body,
    )
        .into_response()
}

fn error_answer(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        esc(code),
        esc(message)
    );
    xml_answer(status, request_id, body)
}

/// `a=b&c=d` with `+` and `%XX` decoded; `None` when a value is not UTF-8 or a `%` is bad.
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(s: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = match p.iter().position(|b| *b == b'=') {
                Some(at) => (&p[..at], &p[at + 1..]),
                None => (p, &b""[..]),
            };
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

struct Params<'a>(&'a [(String, String)]);

impl Params<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `KEY.member.1`, `KEY.member.2`, … in order, up to the first missing.
    fn list(&self, key: &str) -> Vec<String> {
        (1..)
            .map_while(|n| self.get(&format!("{key}.member.{n}")).map(String::from))
            .collect()
    }
}

/// Counts and logs a request; the fault its action does instead of answering, if any.
fn record(w: &mut World, action: &str, params: &[(String, String)]) -> Option<Fault> {
    *w.calls.entry(action.to_string()).or_default() += 1;
    if w.requests.len() >= MAX_LOG {
        w.requests.remove(0);
    }
    w.requests.push((action.to_string(), params.to_vec()));
    let (fault, left) = w.faults.get_mut(action)?;
    let fault = fault.clone();
    if let Some(n) = left {
        *n = n.saturating_sub(1);
        if *n == 0 {
            w.faults.remove(action);
        }
    }
    Some(fault)
}

/// An action's Result element's content (`None`: no Result element), or its refusal.
fn dispatch(w: &mut World, action: &str, p: &Params) -> Result<Option<String>, Refusal> {
    match action {
        "DescribeEnvironments" => Ok(Some(describe_environments(w, p))),
        "SwapEnvironmentCNAMEs" => swap(w, p).map(|()| None),
        "DescribeEnvironmentHealth" => describe_health(w, p).map(Some),
        "ListTagsForResource" => list_tags(w, p).map(Some),
        "UpdateTagsForResource" => update_tags(w, p).map(|()| None),
        _ => Err(refuse(
            400,
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        )),
    }
}

async fn handle(State(world): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = {
        let mut w = world.lock().unwrap();
        w.next_request += 1;
        format!(
            "{:08x}-eb00-4000-8000-{:012x}",
            w.next_request, w.next_request
        )
    };
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let Some(params) = parse_form(&body).filter(|_| form) else {
        return error_answer(
            404,
            "MalformedQueryString",
            "The query string contains a syntax error.",
            &request_id,
        );
    };
    let p = Params(&params);
    let Some(action) = p.get("Action").map(String::from) else {
        return error_answer(
            400,
            "MissingAction",
            "The request is missing an action or a required parameter.",
            &request_id,
        );
    };
    let fault = record(&mut world.lock().unwrap(), &action, &params);
    match fault {
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Error {
            status,
            code,
            message,
        }) => return error_answer(status, &code, &message, &request_id),
        None => {}
    }
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return error_answer(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
            &request_id,
        );
    }
    if p.get("Version") != Some(VERSION) {
        let v = p.get("Version").unwrap_or("");
        return error_answer(
            400,
            "InvalidAction",
            &format!("Could not find operation {action} for version {v}"),
            &request_id,
        );
    }
    let answer = dispatch(&mut world.lock().unwrap(), &action, &p);
    match answer {
        // Actions with no output answer no Result element (as the API reference shows).
        Ok(result) => {
            let result = result
                .map(|r| format!("<{action}Result>{r}</{action}Result>"))
                .unwrap_or_default();
            xml_answer(
                200,
                &request_id,
                format!(
                    "<{action}Response xmlns=\"{XMLNS}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
                ),
            )
        }
        Err(Refusal(status, code, message)) => error_answer(status, code, &message, &request_id),
    }
}

fn describe_environments(w: &mut World, p: &Params) -> String {
    let names = p.list("EnvironmentNames");
    let ids = p.list("EnvironmentIds");
    let include_deleted = p.get("IncludeDeleted") != Some("false");
    let mut out = String::from("<Environments>");
    for e in &w.envs {
        let listed = p.get("ApplicationName").is_none_or(|a| a == e.app)
            && p.get("VersionLabel").is_none_or(|v| v == e.version)
            && (names.is_empty() || names.contains(&e.name))
            && (ids.is_empty() || ids.contains(&e.id))
            && (include_deleted || e.status != "Terminated");
        if !listed {
            continue;
        }
        let cname = e.shown_cname.as_deref().unwrap_or(&e.cname);
        let _ = write!(
            out,
            "<member><EnvironmentName>{}</EnvironmentName><EnvironmentId>{}</EnvironmentId><ApplicationName>{}</ApplicationName><VersionLabel>{}</VersionLabel><SolutionStackName>64bit Amazon Linux 2023 v6.1.0 running Node.js 20</SolutionStackName><PlatformArn>arn:aws:elasticbeanstalk:{REGION}::platform/Node.js 20 running on 64bit Amazon Linux 2023/6.1.0</PlatformArn><EndpointURL>awseb-{}-stack-AWSEBLoa-1ABCDEFGHIJK-123456789.{REGION}.elb.amazonaws.com</EndpointURL><CNAME>{}</CNAME><DateCreated>{}</DateCreated><DateUpdated>{}</DateUpdated><Status>{}</Status><AbortableOperationInProgress>false</AbortableOperationInProgress><Health>{}</Health><HealthStatus>{}</HealthStatus><Tier><Name>WebServer</Name><Type>Standard</Type><Version>1.0</Version></Tier><EnvironmentLinks/><EnvironmentArn>{}</EnvironmentArn></member>",
            esc(&e.name),
            e.id,
            esc(&e.app),
            esc(&e.version),
            e.id,
            esc(cname),
            e.created,
            e.updated,
            e.status,
            e.color,
            e.health_status,
            esc(&e.arn()),
        );
    }
    out.push_str("</Environments>");
    // Every poll moves the updates the server started on; the last one ends them.
    let at = now();
    for e in &mut w.envs {
        if let Some(n) = e.polls_left {
            if n <= 1 {
                e.polls_left = None;
                e.shown_cname = None;
                e.status = "Ready".into();
                e.updated = at.clone();
            } else {
                e.polls_left = Some(n - 1);
            }
        }
    }
    out
}

fn swap(w: &mut World, p: &Params) -> Result<(), Refusal> {
    let (sn, si) = (p.get("SourceEnvironmentName"), p.get("SourceEnvironmentId"));
    let (dn, di) = (
        p.get("DestinationEnvironmentName"),
        p.get("DestinationEnvironmentId"),
    );
    if sn.is_none() && si.is_none() {
        return Err(refuse(
            400,
            "MissingParameter",
            "Either SourceEnvironmentName or SourceEnvironmentId must be specified.",
        ));
    }
    if dn.is_none() && di.is_none() {
        return Err(refuse(
            400,
            "MissingParameter",
            "Either DestinationEnvironmentName or DestinationEnvironmentId must be specified.",
        ));
    }
    if si.is_some() != di.is_some() || sn.is_some() != dn.is_some() {
        return Err(refuse(
            400,
            "InvalidParameterCombination",
            "Specify the source and the destination environments the same way: both by ID, both by name, or both by both.",
        ));
    }
    let find = |w: &World, name: Option<&str>, id: Option<&str>| {
        w.find(name, id).ok_or_else(|| {
            let what = name.map_or_else(
                || format!("EnvironmentId = '{}'", id.unwrap_or("")),
                |n| format!("EnvironmentName = '{n}'"),
            );
            refuse(
                400,
                "InvalidParameterValue",
                format!("No Environment found for {what}."),
            )
        })
    };
    let s = find(w, sn, si)?;
    let d = find(w, dn, di)?;
    if s == d {
        return Err(refuse(
            400,
            "InvalidParameterValue",
            "The source and destination environments must be different.",
        ));
    }
    for i in [s, d] {
        if w.envs[i].status != "Ready" {
            return Err(refuse(
                400,
                "InvalidParameterValue",
                format!(
                    "Environment named {} is in an invalid state for this operation. Must be Ready.",
                    w.envs[i].name
                ),
            ));
        }
    }
    let polls = w.updating_polls;
    let at = now();
    let (a, b) = (w.envs[s].cname.clone(), w.envs[d].cname.clone());
    for (i, new) in [(s, b), (d, a)] {
        let e = &mut w.envs[i];
        let old = std::mem::replace(&mut e.cname, new);
        e.updated = at.clone();
        if polls > 0 {
            e.shown_cname = Some(old);
            e.status = "Updating".into();
            e.polls_left = Some(polls);
        }
    }
    Ok(())
}

fn metrics_xml(m: &AppMetrics) -> Option<String> {
    match m {
        AppMetrics::Absent => None,
        AppMetrics::Raw(inner) => Some(inner.clone()),
        AppMetrics::Set(m) if m.requests == 0 => Some(format!(
            "<Duration>{}</Duration><RequestCount>0</RequestCount>",
            m.duration_s
        )),
        AppMetrics::Set(m) => Some(format!(
            "<Duration>{}</Duration><RequestCount>{}</RequestCount><StatusCodes><Status2xx>{}</Status2xx><Status3xx>{}</Status3xx><Status4xx>{}</Status4xx><Status5xx>{}</Status5xx></StatusCodes><Latency><P999>{:.3}</P999><P99>{:.3}</P99><P95>{:.3}</P95><P90>{:.3}</P90><P85>{:.3}</P85><P75>{:.3}</P75><P50>{:.3}</P50><P10>{:.3}</P10></Latency>",
            m.duration_s,
            m.requests,
            m.s2xx,
            m.s3xx,
            m.s4xx,
            m.s5xx,
            m.p999_s,
            m.p99_s,
            m.p95_s,
            m.p90_s,
            m.p85_s,
            m.p75_s,
            m.p50_s,
            m.p10_s
        )),
    }
}

fn describe_health(w: &World, p: &Params) -> Result<String, Refusal> {
    let (name, id) = (p.get("EnvironmentName"), p.get("EnvironmentId"));
    if name.is_none() && id.is_none() {
        return Err(refuse(
            400,
            "InvalidRequestException",
            "Either EnvironmentName or EnvironmentId must be specified.",
        ));
    }
    let Some(i) = w.find(name, id) else {
        return Err(refuse(
            400,
            "InvalidRequestException",
            format!(
                "Environment {} does not exist.",
                name.or(id).unwrap_or_default()
            ),
        ));
    };
    let e = &w.envs[i];
    // Only what was asked for, and always the name (the reference: "If no attribute names
    // are specified, returns the name of the environment").
    let wanted = p.list("AttributeNames");
    let want = |a: &str| wanted.iter().any(|w| w == a || w == "All");
    let mut out = format!("<EnvironmentName>{}</EnvironmentName>", esc(&e.name));
    if want("HealthStatus") {
        let _ = write!(out, "<HealthStatus>{}</HealthStatus>", e.health_status);
    }
    if want("Status") {
        let _ = write!(out, "<Status>{}</Status>", e.status);
    }
    if want("Color") {
        let _ = write!(out, "<Color>{}</Color>", e.color);
    }
    if want("Causes") {
        if e.causes.is_empty() {
            out.push_str("<Causes/>");
        } else {
            out.push_str("<Causes>");
            for c in &e.causes {
                let _ = write!(out, "<member>{}</member>", esc(c));
            }
            out.push_str("</Causes>");
        }
    }
    if want("ApplicationMetrics")
        && let Some(m) = metrics_xml(&e.metrics)
    {
        let _ = write!(out, "<ApplicationMetrics>{m}</ApplicationMetrics>");
    }
    if want("InstancesHealth") {
        out.push_str("<InstancesHealth><NoData>0</NoData><Unknown>0</Unknown><Pending>0</Pending><Ok>1</Ok><Info>0</Info><Warning>0</Warning><Degraded>0</Degraded><Severe>0</Severe></InstancesHealth>");
    }
    if want("RefreshedAt") {
        let _ = write!(out, "<RefreshedAt>{}</RefreshedAt>", now());
    }
    Ok(out)
}

fn env_by_arn<'a>(w: &'a World, p: &Params) -> Result<(usize, &'a Env), Refusal> {
    let arn = p.get("ResourceArn").unwrap_or_default();
    w.envs
        .iter()
        .enumerate()
        .find(|(_, e)| e.arn() == arn)
        .ok_or_else(|| {
            refuse(
                400,
                "ResourceNotFoundException",
                format!("Resource {arn} not found."),
            )
        })
}

/// The application's ARN.
fn app_arn(app: &str) -> String {
    format!("arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:application/{app}")
}

fn tags_xml(arn: &str, tags: &[(String, String)]) -> String {
    let mut out = format!("<ResourceArn>{}</ResourceArn><ResourceTags>", esc(arn));
    for (k, v) in tags {
        let _ = write!(
            out,
            "<member><Key>{}</Key><Value>{}</Value></member>",
            esc(k),
            esc(v)
        );
    }
    out.push_str("</ResourceTags>");
    out
}

/// `tags` changed by the TagsToAdd / TagsToRemove of `p`, or AWS's refusal.
fn changed_tags(tags: &[(String, String)], p: &Params) -> Result<Vec<(String, String)>, Refusal> {
    let mut add = Vec::new();
    for n in 1.. {
        let Some(key) = p.get(&format!("TagsToAdd.member.{n}.Key")) else {
            break;
        };
        let value = p
            .get(&format!("TagsToAdd.member.{n}.Value"))
            .unwrap_or_default();
        add.push((key.to_string(), value.to_string()));
    }
    let remove = p.list("TagsToRemove");
    let reserved = |k: &str| k.starts_with("aws:") || k.starts_with("elasticbeanstalk:");
    if let Some(k) = add
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(remove.iter().map(String::as_str))
        .find(|k| reserved(k))
    {
        return Err(refuse(
            400,
            "InvalidParameterValue",
            format!("Tag key {k} uses a reserved prefix (aws: or elasticbeanstalk:)."),
        ));
    }
    if let Some((k, v)) = add.iter().find(|(_, v)| v.chars().count() > 256) {
        return Err(refuse(
            400,
            "InvalidParameterValue",
            format!(
                "Tag value for key {k} is {} characters long; the maximum is 256.",
                v.chars().count()
            ),
        ));
    }
    let mut tags = tags.to_vec();
    tags.retain(|(k, _)| !remove.contains(k));
    for (k, v) in add {
        match tags.iter_mut().find(|(have, _)| *have == k) {
            Some(t) => t.1 = v,
            None => tags.push((k, v)),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(refuse(
            400,
            "TooManyTagsException",
            format!("A resource can have at most {MAX_TAGS} tags."),
        ));
    }
    Ok(tags)
}

fn list_tags(w: &World, p: &Params) -> Result<String, Refusal> {
    let app = w.envs.first().map(|e| e.app.clone()).unwrap_or_default();
    if p.get("ResourceArn") == Some(app_arn(&app).as_str()) {
        return Ok(tags_xml(&app_arn(&app), &w.app_tags));
    }
    let (_, e) = env_by_arn(w, p)?;
    let mut out = format!("<ResourceArn>{}</ResourceArn><ResourceTags>", esc(&e.arn()));
    for (k, v) in &e.tags {
        let _ = write!(
            out,
            "<member><Key>{}</Key><Value>{}</Value></member>",
            esc(k),
            esc(v)
        );
    }
    out.push_str("</ResourceTags>");
    Ok(out)
}

fn update_tags(w: &mut World, p: &Params) -> Result<(), Refusal> {
    let app = w.envs.first().map(|e| e.app.clone()).unwrap_or_default();
    if p.get("ResourceArn") == Some(app_arn(&app).as_str()) {
        w.app_tags = changed_tags(&w.app_tags, p)?;
        return Ok(());
    }
    let (i, e) = env_by_arn(w, p)?;
    if e.status != "Ready" {
        return Err(refuse(
            400,
            "OperationInProgressFailure",
            format!(
                "Environment named {} is in an invalid state for this operation. Must be Ready.",
                e.name
            ),
        ));
    }
    let tags = changed_tags(&e.tags, p)?;
    let polls = w.tag_update_polls;
    let e = &mut w.envs[i];
    e.tags = tags;
    e.updated = now();
    if polls > 0 {
        e.status = "Updating".into();
        e.polls_left = Some(polls);
    }
    Ok(())
}
