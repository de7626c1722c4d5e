//! `kube-gateway`: a Gateway API HTTPRoute rule whose backendRefs name the blue and the
//! green Service; the weights are those two backendRefs' `weight`s.

use super::kind::{Choice, HTTPROUTE, Resource, Router, choose, rv};
use crate::core::{EnvPair, Weights};
use serde_json::{Value, json};

/// A Gateway API HTTPRoute rule whose backendRefs name both Services.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRoute {
    pub route: String,
    /// The rule to drive, by index; else the only rule that names both Services.
    pub rule: Option<usize>,
    pub services: EnvPair<String>,
}

impl Router for HttpRoute {
    fn name(&self) -> &'static str {
        "kube-gateway"
    }

    fn objects(&self) -> Vec<(Resource, String)> {
        vec![(HTTPROUTE, self.route.clone())]
    }

    fn read(&self, objs: &[Value]) -> Result<Weights, String> {
        let (i, refs) = gateway_rule(&objs[0], &self.route, self.rule, &self.services)?;
        let w = |j: usize| weight_of(&objs[0], &["spec", "rules"], i, "backendRefs", j);
        Ok(Weights::new(w(refs.blue), w(refs.green)))
    }

    fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String> {
        let (i, refs) = gateway_rule(&objs[0], &self.route, self.rule, &self.services)?;
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

    fn services(&self, _objs: &[Value]) -> EnvPair<Option<String>> {
        self.services.map(|_, s| Some(s.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> HttpRoute {
        HttpRoute {
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
        let k = HttpRoute {
            route: "checkout".into(),
            rule: Some(2),
            services: EnvPair::new("checkout-blue".into(), "checkout-green".into()),
        };
        assert_eq!(k.read(std::slice::from_ref(&r)), Ok(Weights::new(90, 1)));
    }
}
