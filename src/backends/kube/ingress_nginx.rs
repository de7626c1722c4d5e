//! `kube-ingress-nginx`: ingress-nginx's canary pattern, one Ingress per env, exactly one of
//! them annotated as the canary; the canary's weight (out of its weight total) is its
//! env's share.

use super::kind::{INGRESS, Resource, Router, rv};
use crate::core::{Env, EnvPair, Weights};
use serde_json::{Value, json};

pub const CANARY: &str = "nginx.ingress.kubernetes.io/canary";
pub const CANARY_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
pub const CANARY_TOTAL: &str = "nginx.ingress.kubernetes.io/canary-weight-total";

/// ingress-nginx's canary pattern: one Ingress per env, one of them `canary: "true"`.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressCanary {
    pub ingresses: EnvPair<String>,
}

impl Router for IngressCanary {
    fn name(&self) -> &'static str {
        "kube-ingress-nginx"
    }

    /// Blue's Ingress, then green's.
    fn objects(&self) -> Vec<(Resource, String)> {
        vec![
            (INGRESS, self.ingresses.blue.clone()),
            (INGRESS, self.ingresses.green.clone()),
        ]
    }

    fn read(&self, objs: &[Value]) -> Result<Weights, String> {
        let (canary, w, total) = ingress_canary(objs, &self.ingresses)?;
        let other = total.saturating_sub(w);
        Ok(match canary {
            Env::Blue => Weights::new(w, other),
            Env::Green => Weights::new(other, w),
        })
    }

    fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String> {
        let (canary, _, total) = ingress_canary(objs, &self.ingresses)?;
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

    fn services(&self, objs: &[Value]) -> EnvPair<Option<String>> {
        EnvPair::new(
            objs.first().and_then(ingress_service),
            objs.get(1).and_then(ingress_service),
        )
    }
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

    #[test]
    fn ingress_canary_weight_either_way_round() {
        let k = IngressCanary {
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
}
