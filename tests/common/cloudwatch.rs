//! A loopback CloudWatch for the CloudWatch signal source's tests (moto does not speak CBOR):
//! `GetMetricData` over the Smithy RPC v2 CBOR protocol as `aws-sdk-cloudwatch` speaks it —
//! `POST /service/GraniteServiceVersion20100801/operation/GetMetricData` with
//! `smithy-protocol: rpc-v2-cbor`, `Content-Type: application/cbor`, a CBOR map for a body,
//! timestamps as CBOR tag 1 (epoch seconds) — and CloudWatch's errors: a CBOR map with
//! `__type` (the error's shape id) and its message, plus, because CloudWatch is
//! `awsQueryCompatible` and the SDK sends `x-amzn-query-mode: true`, the header
//! `x-amzn-query-error: <query code>;<Sender|Receiver>` the SDK takes its error code from.
//!
//! A test stores datapoints (`put`): one value per metric, dimension set, statistic and
//! timestamp. A query is answered with the stored points of its metric, dimension set and
//! statistic with StartTime <= t < EndTime, in `ScanBy` order; the server does no aggregation
//! (a stored point is the statistic of the period that starts at its timestamp). Requests are
//! validated as CloudWatch does (Id pattern, unique Ids, at most 500 queries, the period, the
//! statistic, the time window). A test can make the operation hang or fail, and count calls.
//! It runs on its own thread with its own runtime and stops when dropped.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ciborium::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The service name in the RPC v2 CBOR path (CloudWatch's Smithy service shape).
pub const SERVICE: &str = "GraniteServiceVersion20100801";
/// The largest request body read; a larger one is answered 413 unread.
const MAX_BODY: usize = 1024 * 1024;
/// The most datapoints the server stores; `put` panics beyond.
pub const MAX_POINTS: usize = 100_000;
/// The most queries one GetMetricData takes (CloudWatch's limit).
pub const MAX_QUERIES: usize = 500;
/// The most dimensions a metric has (CloudWatch's limit).
const MAX_DIMENSIONS: usize = 30;

const VALIDATION: &str = "com.amazonaws.cloudwatch#ValidationException";
const INVALID_VALUE: &str = "com.amazonaws.cloudwatch#InvalidParameterValueException";
const INVALID_NEXT_TOKEN: &str = "com.amazonaws.cloudwatch#InvalidNextToken";
const INTERNAL: &str = "com.amazonaws.cloudwatch#InternalServiceFault";
const THROTTLING: &str = "com.amazon.coral.availability#ThrottlingException";
const SERIALIZATION: &str = "com.amazon.coral.service#SerializationException";
const UNKNOWN_OPERATION: &str = "com.amazon.coral.service#UnknownOperationException";
const MISSING_AUTH: &str = "com.amazon.coral.service#MissingAuthenticationTokenException";
const UNSUPPORTED_MEDIA: &str = "com.amazon.coral.service#UnsupportedMediaTypeException";
const NOT_ACCEPTABLE: &str = "com.amazon.coral.service#NotAcceptableException";

/// The `x-amzn-query-error` value (`code;type`) of an error shape, as CloudWatch's model
/// (`@awsQueryError`) and the AWS Query protocol name them; `None`: no header.
fn query_error(type_: &str) -> Option<&'static str> {
    let shape = type_.rsplit('#').next().unwrap_or(type_);
    Some(match shape {
        "ValidationException" => "ValidationError;Sender",
        "InvalidParameterValueException" => "InvalidParameterValue;Sender",
        "InvalidParameterCombinationException" => "InvalidParameterCombination;Sender",
        "MissingRequiredParameterException" => "MissingParameter;Sender",
        "InvalidNextToken" => "InvalidNextToken;Sender",
        "LimitExceededFault" => "LimitExceeded;Sender",
        "InternalServiceFault" => "InternalServiceError;Receiver",
        "ThrottlingException" => "Throttling;Sender",
        "MissingAuthenticationTokenException" => "MissingAuthenticationToken;Sender",
        _ => return None,
    })
}

/// What GetMetricData does instead of answering.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Never answers (the connection stays open until the server stops).
    Hang,
    /// This HTTP status with a CBOR error of this `__type` (a shape id such as
    /// `com.amazonaws.cloudwatch#InternalServiceFault`) and message.
    Error {
        status: u16,
        type_: String,
        message: String,
    },
}

impl Fault {
    /// HTTP 500 `InternalServiceFault` (query code `InternalServiceError`).
    pub fn internal() -> Fault {
        Fault::Error {
            status: 500,
            type_: INTERNAL.into(),
            message:
                "Request processing has failed due to some unknown error, exception, or failure."
                    .into(),
        }
    }

    /// HTTP 400 `Throttling`, as AWS refuses a caller over its rate.
    pub fn throttling() -> Fault {
        Fault::Error {
            status: 400,
            type_: THROTTLING.into(),
            message: "Rate exceeded".into(),
        }
    }
}

/// One `MetricDataQuery` of a GetMetricData request, as the server read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub id: String,
    pub namespace: String,
    pub metric: String,
    /// The dimensions (name, value) in the order sent.
    pub dims: Vec<(String, String)>,
    pub period: i64,
    pub stat: String,
    pub unit: Option<String>,
    pub label: Option<String>,
    pub return_data: Option<bool>,
}

/// A GetMetricData request, as the server read it (times in epoch seconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub queries: Vec<Query>,
    pub start: f64,
    pub end: f64,
    pub scan_by: Option<String>,
    pub next_token: Option<String>,
    pub max_datapoints: Option<i64>,
}

/// (namespace, metric, dimensions sorted by name, statistic).
type SeriesKey = (String, String, Vec<(String, String)>, String);

struct World {
    series: BTreeMap<SeriesKey, BTreeMap<i64, f64>>,
    points: usize,
    calls: usize,
    /// The fault and how many more calls get it (`None`: all).
    fault: Option<(Fault, Option<u32>)>,
    last: Option<Request>,
    last_cbor: Option<Value>,
    next_request: u64,
}

type Shared = Arc<Mutex<World>>;

/// The server and the handle on its state; stopped when dropped.
pub struct Cw {
    pub url: String,
    pub port: u16,
    world: Shared,
    _served: super::served::Served,
}

fn series_key(namespace: &str, metric: &str, dims: &[(String, String)], stat: &str) -> SeriesKey {
    let mut dims = dims.to_vec();
    dims.sort();
    (namespace.into(), metric.into(), dims, stat.into())
}

impl Cw {
    /// A CloudWatch without datapoints on a loopback port picked at run time.
    pub fn start() -> Cw {
        let world = Arc::new(Mutex::new(World {
            series: BTreeMap::new(),
            points: 0,
            calls: 0,
            fault: None,
            last: None,
            last_cbor: None,
            next_request: 1,
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(world.clone());
        let served = super::served::Served::start(app);
        let port = served.port;
        Cw {
            url: format!("http://127.0.0.1:{port}"),
            port,
            world,
            _served: served,
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Stores `value` as the `stat` (`Sum`, `Average`, `p99`, … matched as written) of
    /// `namespace`/`metric` with exactly the dimensions `dims` (in any order) for the period
    /// starting at `ts_secs`; replaces a value stored for the same key. Panics on an invalid
    /// statistic, a repeated dimension name, or beyond `MAX_POINTS` points.
    pub fn put(
        &self,
        namespace: &str,
        metric: &str,
        dims: &[(&str, &str)],
        stat: &str,
        ts_secs: i64,
        value: f64,
    ) {
        assert!(valid_stat(stat), "not a CloudWatch statistic: {stat}");
        let dims: Vec<(String, String)> = dims
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
        let names: BTreeSet<&str> = dims.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names.len(),
            dims.len(),
            "a dimension name repeats: {dims:?}"
        );
        let mut w = self.world();
        let key = series_key(namespace, metric, &dims, stat);
        let is_new = !w.series.get(&key).is_some_and(|s| s.contains_key(&ts_secs));
        if is_new {
            assert!(w.points < MAX_POINTS, "more than {MAX_POINTS} datapoints");
            w.points += 1;
        }
        w.series.entry(key).or_default().insert(ts_secs, value);
    }

    /// Datapoints stored.
    pub fn points(&self) -> usize {
        self.world().points
    }

    /// GetMetricData requests received (answered, refused or faulted).
    pub fn calls(&self) -> usize {
        self.world().calls
    }

    /// The latest GetMetricData request that parsed (`None` when the latest one did not).
    pub fn last_request(&self) -> Option<Request> {
        self.world().last.clone()
    }

    /// The latest GetMetricData body that was CBOR, as decoded.
    pub fn last_cbor(&self) -> Option<Value> {
        self.world().last_cbor.clone()
    }

    /// From now on GetMetricData does `fault` instead of answering.
    pub fn fault(&self, fault: Fault) {
        self.world().fault = Some((fault, None));
    }

    /// The next `n` GetMetricData calls do `fault`; later ones are answered.
    pub fn fault_times(&self, fault: Fault, n: u32) {
        self.world().fault = (n > 0).then_some((fault, Some(n)));
    }

    /// GetMetricData is answered again.
    pub fn clear_fault(&self) {
        self.world().fault = None;
    }
}

/// An answer's failure: HTTP status, `__type`, message.
struct Refusal(u16, &'static str, String);

fn refuse(status: u16, type_: &'static str, message: impl Into<String>) -> Refusal {
    Refusal(status, type_, message.into())
}

fn must_not_be_null(path: &str) -> Refusal {
    refuse(
        400,
        VALIDATION,
        format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

fn valid_stat(s: &str) -> bool {
    if ["Sum", "Average", "Minimum", "Maximum", "SampleCount"].contains(&s) {
        return true;
    }
    let Some(p) = s.strip_prefix('p') else {
        return false;
    };
    let (int, frac) = p.split_once('.').map_or((p, None), |(a, b)| (a, Some(b)));
    let digits = |d: &str, max: usize| {
        !d.is_empty() && d.len() <= max && d.bytes().all(|b| b.is_ascii_digit())
    };
    digits(int, 3)
        && frac.is_none_or(|f| digits(f, 2))
        && p.parse::<f64>().is_ok_and(|v| v <= 100.0)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 255
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_period(p: i64) -> bool {
    matches!(p, 1 | 5 | 10 | 20 | 30)
        || u64::try_from(p).is_ok_and(|p| p >= 60 && p.is_multiple_of(60))
}

/// A CBOR map's members by text key; a null member counts as absent (as RPC v2 CBOR says).
struct Obj<'a>(&'a [(Value, Value)]);

fn serialization(what: &str, path: &str) -> Refusal {
    refuse(400, SERIALIZATION, format!("Expected {what} at {path}"))
}

impl<'a> Obj<'a> {
    fn of(v: &'a Value, path: &str) -> Result<Obj<'a>, Refusal> {
        match v {
            Value::Map(m) => Ok(Obj(m)),
            _ => Err(serialization("a map", path)),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    fn text(&self, key: &str, path: &str) -> Result<Option<String>, Refusal> {
        self.get(key)
            .map(|v| {
                v.as_text()
                    .map(String::from)
                    .ok_or_else(|| serialization("a text string", &format!("{path}.{key}")))
            })
            .transpose()
    }

    fn int(&self, key: &str, path: &str) -> Result<Option<i64>, Refusal> {
        self.get(key)
            .map(|v| {
                v.as_integer()
                    .and_then(|i| i64::try_from(i).ok())
                    .ok_or_else(|| serialization("an integer", &format!("{path}.{key}")))
            })
            .transpose()
    }

    fn bool(&self, key: &str, path: &str) -> Result<Option<bool>, Refusal> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| serialization("a boolean", &format!("{path}.{key}")))
            })
            .transpose()
    }

    fn list(&self, key: &str, path: &str) -> Result<Option<&'a [Value]>, Refusal> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .map(Vec::as_slice)
                    .ok_or_else(|| serialization("an array", &format!("{path}.{key}")))
            })
            .transpose()
    }

    /// A timestamp: tag 1 around an integer or a float of epoch seconds.
    fn time(&self, key: &str, path: &str) -> Result<Option<f64>, Refusal> {
        self.get(key)
            .map(|v| match v {
                Value::Tag(1, inner) => match inner.as_ref() {
                    Value::Integer(i) => Ok(i128::from(*i) as f64),
                    Value::Float(f) if f.is_finite() => Ok(*f),
                    _ => Err(serialization("epoch seconds", &format!("{path}.{key}"))),
                },
                _ => Err(serialization("a tag 1 timestamp", &format!("{path}.{key}"))),
            })
            .transpose()
    }
}

/// Query `n` (1-based) of `MetricDataQueries`.
fn parse_query(v: &Value, n: usize) -> Result<Query, Refusal> {
    let path = format!("GetMetricDataInput.MetricDataQueries[{}]", n - 1);
    let at = |m: &str| format!("metricDataQueries.{n}.member.{m}");
    let q = Obj::of(v, &path)?;
    let id = q
        .text("Id", &path)?
        .ok_or_else(|| must_not_be_null(&at("id")))?;
    if q.get("Expression").is_some() {
        return Err(refuse(
            400,
            INVALID_VALUE,
            format!(
                "MetricDataQueries.member.{n}.Expression: this loopback CloudWatch answers MetricStat queries only."
            ),
        ));
    }
    let stat_path = format!("{path}.MetricStat");
    let ms = q
        .get("MetricStat")
        .ok_or_else(|| must_not_be_null(&at("metricStat")))?;
    let ms = Obj::of(ms, &stat_path)?;
    let metric_path = format!("{stat_path}.Metric");
    let m = ms
        .get("Metric")
        .ok_or_else(|| must_not_be_null(&at("metricStat.metric")))?;
    let m = Obj::of(m, &metric_path)?;
    let mut dims = Vec::new();
    for (k, d) in m
        .list("Dimensions", &metric_path)?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let dp = format!("{metric_path}.Dimensions[{k}]");
        let d = Obj::of(d, &dp)?;
        let dim_at = |f: &str| {
            at(&format!(
                "metricStat.metric.dimensions.{}.member.{f}",
                k + 1
            ))
        };
        let name = d
            .text("Name", &dp)?
            .ok_or_else(|| must_not_be_null(&dim_at("name")))?;
        let value = d
            .text("Value", &dp)?
            .ok_or_else(|| must_not_be_null(&dim_at("value")))?;
        dims.push((name, value));
    }
    Ok(Query {
        id,
        namespace: m
            .text("Namespace", &metric_path)?
            .ok_or_else(|| must_not_be_null(&at("metricStat.metric.namespace")))?,
        metric: m
            .text("MetricName", &metric_path)?
            .ok_or_else(|| must_not_be_null(&at("metricStat.metric.metricName")))?,
        dims,
        period: ms
            .int("Period", &stat_path)?
            .ok_or_else(|| must_not_be_null(&at("metricStat.period")))?,
        stat: ms
            .text("Stat", &stat_path)?
            .ok_or_else(|| must_not_be_null(&at("metricStat.stat")))?,
        unit: ms.text("Unit", &stat_path)?,
        label: q.text("Label", &path)?,
        return_data: q.bool("ReturnData", &path)?,
    })
}

fn parse_request(body: &Value) -> Result<Request, Refusal> {
    let path = "GetMetricDataInput";
    let input = Obj::of(body, path)?;
    let raw = input
        .list("MetricDataQueries", path)?
        .ok_or_else(|| must_not_be_null("metricDataQueries"))?;
    if raw.len() > MAX_QUERIES {
        return Err(refuse(
            400,
            INVALID_VALUE,
            format!(
                "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
            ),
        ));
    }
    let queries = raw
        .iter()
        .enumerate()
        .map(|(i, q)| parse_query(q, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request {
        queries,
        start: input
            .time("StartTime", path)?
            .ok_or_else(|| must_not_be_null("startTime"))?,
        end: input
            .time("EndTime", path)?
            .ok_or_else(|| must_not_be_null("endTime"))?,
        scan_by: input.text("ScanBy", path)?,
        next_token: input.text("NextToken", path)?,
        max_datapoints: input.int("MaxDatapoints", path)?,
    })
}

/// CloudWatch's checks of a parsed request. Its ValidationError messages end each line with
/// a newline, one line per problem, as CloudWatch's do.
fn validate(r: &Request) -> Result<(), Refusal> {
    if let Some(t) = &r.next_token {
        return Err(refuse(
            400,
            INVALID_NEXT_TOKEN,
            format!("The value {t} for parameter NextToken is not valid."),
        ));
    }
    if let Some(s) = r
        .scan_by
        .as_deref()
        .filter(|s| !["TimestampDescending", "TimestampAscending"].contains(s))
    {
        return Err(refuse(
            400,
            VALIDATION,
            format!(
                "1 validation error detected: Value '{s}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
            ),
        ));
    }
    let mut problems = Vec::new();
    if r.start == r.end {
        problems.push("The parameter StartTime must not equal parameter EndTime.".to_string());
    } else if r.start > r.end {
        problems
            .push("The parameter StartTime must be less than the parameter EndTime.".to_string());
    }
    for (i, q) in r.queries.iter().enumerate() {
        let n = i + 1;
        if !valid_id(&q.id) {
            problems.push(format!(
                "The value {} for parameter MetricDataQueries.member.{n}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.",
                q.id
            ));
        }
        if !valid_stat(&q.stat) {
            problems.push(format!(
                "The value {} for parameter MetricDataQueries.member.{n}.MetricStat.Stat is not a valid statistic.",
                q.stat
            ));
        }
        if !valid_period(q.period) {
            problems.push(format!(
                "The value {} for parameter MetricDataQueries.member.{n}.MetricStat.Period is not a valid period: it must be 1, 5, 10, 20, 30 or a multiple of 60.",
                q.period
            ));
        }
        if q.dims.len() > MAX_DIMENSIONS {
            problems.push(format!(
                "The collection MetricDataQueries.member.{n}.MetricStat.Metric.Dimensions must not have a size greater than {MAX_DIMENSIONS}."
            ));
        }
    }
    let ids: BTreeSet<&str> = r.queries.iter().map(|q| q.id.as_str()).collect();
    if ids.len() != r.queries.len() {
        problems
            .push("The values for parameter id in MetricDataQueries are not unique.".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }
    let message: String = problems.iter().flat_map(|p| [p.as_str(), "\n"]).collect();
    Err(refuse(400, VALIDATION, message))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (text(k), v)).collect())
}

/// The GetMetricDataOutput for a valid request: one result per query that returns data.
fn answer(w: &World, r: &Request) -> Value {
    let descending = r.scan_by.as_deref() != Some("TimestampAscending");
    let mut results = Vec::new();
    for q in r.queries.iter().filter(|q| q.return_data != Some(false)) {
        let key = series_key(&q.namespace, &q.metric, &q.dims, &q.stat);
        let mut points: Vec<(i64, f64)> = w
            .series
            .get(&key)
            .map(|s| {
                s.iter()
                    .filter(|(t, _)| **t as f64 >= r.start && (**t as f64) < r.end)
                    .map(|(t, v)| (*t, *v))
                    .collect()
            })
            .unwrap_or_default();
        if descending {
            points.reverse();
        }
        results.push(map(vec![
            ("Id", text(&q.id)),
            ("Label", text(q.label.as_deref().unwrap_or(&q.metric))),
            (
                "Timestamps",
                Value::Array(
                    points
                        .iter()
                        .map(|(t, _)| Value::Tag(1, Box::new(Value::Float(*t as f64))))
                        .collect(),
                ),
            ),
            (
                "Values",
                Value::Array(points.iter().map(|(_, v)| Value::Float(*v)).collect()),
            ),
            ("StatusCode", text("Complete")),
        ]));
    }
    map(vec![
        ("MetricDataResults", Value::Array(results)),
        ("Messages", Value::Array(Vec::new())),
    ])
}

/// How to answer one request: its id, and whether it asked for query-compatible errors.
struct Answer {
    request_id: String,
    query_mode: bool,
}

impl Answer {
    fn cbor(&self, status: u16, body: &Value, query_error: Option<&str>) -> Response {
        let mut bytes = Vec::new();
        ciborium::into_writer(body, &mut bytes).expect("a CBOR value encodes");
        let mut headers = vec![
            ("content-type", "application/cbor".to_string()),
            ("smithy-protocol", "rpc-v2-cbor".to_string()),
            ("x-amzn-requestid", self.request_id.clone()),
        ];
        if let Some(q) = query_error.filter(|_| self.query_mode) {
            headers.push(("x-amzn-query-error", q.to_string()));
        }
        let mut response = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            bytes,
        )
            .into_response();
        for (k, v) in headers {
            response
                .headers_mut()
                .insert(k, v.parse().expect("a header value"));
        }
        response
    }

    /// A CBOR error: `__type` and the message (`Message` for InternalServiceFault, whose
    /// member is named so in the model; `message` for the others).
    fn error(&self, status: u16, type_: &str, message: &str) -> Response {
        let key = if type_.ends_with("#InternalServiceFault") {
            "Message"
        } else {
            "message"
        };
        let body = map(vec![("__type", text(type_)), (key, text(message))]);
        self.cbor(status, &body, query_error(type_))
    }

    fn refuse(&self, r: Refusal) -> Response {
        self.error(r.0, r.1, &r.2)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The protocol's framing and SigV4's presence, as CloudWatch requires them.
fn check_headers(headers: &HeaderMap) -> Result<(), Refusal> {
    if header(headers, "smithy-protocol") != Some("rpc-v2-cbor") {
        return Err(refuse(
            400,
            UNKNOWN_OPERATION,
            "An RPC v2 CBOR request must carry the header smithy-protocol: rpc-v2-cbor.",
        ));
    }
    if header(headers, "content-type") != Some("application/cbor") {
        return Err(refuse(
            415,
            UNSUPPORTED_MEDIA,
            "The request body must be application/cbor.",
        ));
    }
    if header(headers, "accept")
        .is_some_and(|a| !a.contains("application/cbor") && !a.contains("*/*"))
    {
        return Err(refuse(
            406,
            NOT_ACCEPTABLE,
            "This operation answers application/cbor only.",
        ));
    }
    let signed =
        header(headers, "authorization").is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return Err(refuse(403, MISSING_AUTH, "Missing Authentication Token"));
    }
    Ok(())
}

/// The body as one CBOR data item (an empty body is an empty input).
fn decode(body: &[u8]) -> Result<Value, Refusal> {
    if body.is_empty() {
        return Ok(Value::Map(Vec::new()));
    }
    let mut rest = body;
    let value: Value = ciborium::from_reader(&mut rest)
        .map_err(|e| refuse(400, SERIALIZATION, format!("The body is not CBOR: {e}")))?;
    if !rest.is_empty() {
        return Err(refuse(
            400,
            SERIALIZATION,
            format!("{} bytes follow the body's CBOR data item.", rest.len()),
        ));
    }
    Ok(value)
}

/// Counts a GetMetricData call; the fault it does instead of answering, if any.
fn record_call(w: &mut World) -> Option<Fault> {
    w.calls += 1;
    let (fault, left) = w.fault.as_mut()?;
    let fault = fault.clone();
    if let Some(n) = left {
        *n = n.saturating_sub(1);
        if *n == 0 {
            w.fault = None;
        }
    }
    Some(fault)
}

async fn handle(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ans = {
        let mut w = world.lock().unwrap();
        w.next_request += 1;
        Answer {
            request_id: format!(
                "{:08x}-c10d-4000-8000-{:012x}",
                w.next_request, w.next_request
            ),
            query_mode: header(&headers, "x-amzn-query-mode") == Some("true"),
        }
    };
    let route = uri
        .path()
        .strip_prefix("/service/")
        .and_then(|r| r.split_once("/operation/"));
    if method != Method::POST || route != Some((SERVICE, "GetMetricData")) {
        let message = format!("No operation is served at {method} {}.", uri.path());
        return ans.error(400, UNKNOWN_OPERATION, &message);
    }
    let fault = record_call(&mut world.lock().unwrap());
    match fault {
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Error {
            status,
            type_,
            message,
        }) => return ans.error(status, &type_, &message),
        None => {}
    }
    if let Err(r) = check_headers(&headers) {
        return ans.refuse(r);
    }
    let value = match decode(&body) {
        Ok(v) => v,
        Err(r) => return ans.refuse(r),
    };
    let parsed = parse_request(&value);
    {
        let mut w = world.lock().unwrap();
        w.last_cbor = Some(value);
        w.last = parsed.as_ref().ok().cloned();
    }
    let out = parsed.and_then(|r| {
        validate(&r)?;
        Ok(answer(&world.lock().unwrap(), &r))
    });
    match out {
        Ok(v) => ans.cbor(200, &v, None),
        Err(r) => ans.refuse(r),
    }
}
