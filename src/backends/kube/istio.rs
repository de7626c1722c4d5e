//! `kube-istio`: an Istio VirtualService http route with exactly the blue and the green
//! destination (a host, a subset or both); the weights are those two routes' `weight`s,
//! which Istio wants to add up to 100.

use super::kind::{Choice, Resource, Router, VIRTUALSERVICE, choose, rv};
use crate::core::{EnvPair, Weights};
use serde_json::{Value, json};

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

/// An Istio VirtualService http route with both destinations.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualService {
    pub virtual_service: String,
    /// The http route to drive, by index; else the only one with both destinations.
    pub route: Option<usize>,
    pub dests: EnvPair<IstioDest>,
}

impl Router for VirtualService {
    fn name(&self) -> &'static str {
        "kube-istio"
    }

    fn objects(&self) -> Vec<(Resource, String)> {
        vec![(VIRTUALSERVICE, self.virtual_service.clone())]
    }

    fn read(&self, objs: &[Value]) -> Result<Weights, String> {
        let (i, idx) = istio_route(&objs[0], &self.virtual_service, self.route, &self.dests)?;
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

    fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String> {
        let (i, idx) = istio_route(&objs[0], &self.virtual_service, self.route, &self.dests)?;
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

    /// The Service of each destination's host: its first DNS label.
    fn services(&self, _objs: &[Value]) -> EnvPair<Option<String>> {
        self.dests.map(|_, d| {
            d.host
                .as_deref()
                .and_then(|h| h.split('.').next())
                .map(String::from)
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_subsets_hosts_and_sums() {
        let k = VirtualService {
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
