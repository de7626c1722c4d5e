//! `kube-service`: one Service whose `spec.selector[key]` names the live env's pods. A flip
//! rewrites that one selector value; there is no split.

use super::kind::{Resource, Router, SERVICE, rv};
use crate::core::{Env, EnvPair, Weights};
use serde_json::{Value, json};

/// A Service whose `spec.selector[key]` is the env's value. Flip-only.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSelector {
    pub service: String,
    pub key: String,
    /// Each env's value of the selector key.
    pub values: EnvPair<String>,
}

impl Router for ServiceSelector {
    fn name(&self) -> &'static str {
        "kube-service"
    }

    fn weighted(&self) -> bool {
        false
    }

    fn objects(&self) -> Vec<(Resource, String)> {
        vec![(SERVICE, self.service.clone())]
    }

    fn read(&self, objs: &[Value]) -> Result<Weights, String> {
        let ServiceSelector {
            service,
            key,
            values,
        } = self;
        let sel = &objs[0]["spec"]["selector"];
        let v = sel.get(key).and_then(Value::as_str);
        match v {
            Some(v) if v == values.blue => Ok(Weights::new(1, 0)),
            Some(v) if v == values.green => Ok(Weights::new(0, 1)),
            Some(v) => Err(format!(
                "Service {service}'s selector has {key}={v}, which is neither blue ({key}={}) nor green ({key}={})",
                values.blue, values.green
            )),
            None => Err(format!(
                "Service {service}'s selector {} has no `{key}` key to flip",
                compact(sel)
            )),
        }
    }

    fn patch(&self, objs: &[Value], w: Weights) -> Result<(usize, Value), String> {
        let ServiceSelector {
            service,
            key,
            values,
        } = self;
        self.read(objs)?;
        let env = match (w.blue, w.green) {
            (b, 0) if b > 0 => Env::Blue,
            (0, g) if g > 0 => Env::Green,
            _ => {
                return Err(format!(
                    "Service {service} can only flip its selector to blue or green, not split {}/{}",
                    w.blue, w.green
                ));
            }
        };
        Ok((
            0,
            json!({
                "metadata": {"resourceVersion": rv(&objs[0])},
                "spec": {"selector": {key.clone(): values.get(env)}},
            }),
        ))
    }

    fn services(&self, _objs: &[Value]) -> EnvPair<Option<String>> {
        EnvPair::new(Some(self.service.clone()), Some(self.service.clone()))
    }

    /// The Service's selector with the key set to the env's value.
    fn pod_selector(
        &self,
        env: Env,
        service_selector: &serde_json::Map<String, Value>,
    ) -> serde_json::Map<String, Value> {
        let mut sel = service_selector.clone();
        sel.insert(self.key.clone(), json!(self.values.get(env)));
        sel
    }
}

fn compact(v: &Value) -> String {
    if v.is_null() {
        "(none)".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_flips_and_refuses_splits_and_strangers() {
        let k = ServiceSelector {
            service: "checkout".into(),
            key: "version".into(),
            values: EnvPair::new("blue".into(), "green".into()),
        };
        let s = json!({"metadata": {"resourceVersion": "3"},
                       "spec": {"selector": {"app": "checkout", "version": "blue"}}});
        assert_eq!(k.read(std::slice::from_ref(&s)), Ok(Weights::new(1, 0)));
        let (_, p) = k
            .patch(std::slice::from_ref(&s), Weights::new(0, 1))
            .unwrap();
        assert_eq!(
            p,
            json!({"metadata": {"resourceVersion": "3"}, "spec": {"selector": {"version": "green"}}})
        );
        let e = k
            .patch(std::slice::from_ref(&s), Weights::new(1, 1))
            .unwrap_err();
        assert!(e.contains("can only flip"), "{e}");
        let s = json!({"spec": {"selector": {"version": "purple"}}});
        let e = k.read(std::slice::from_ref(&s)).unwrap_err();
        assert!(e.contains("version=purple, which is neither"), "{e}");
        let s = json!({"spec": {"selector": {"app": "x"}}});
        let e = k.read(std::slice::from_ref(&s)).unwrap_err();
        assert!(e.contains("no `version` key"), "{e}");
        let sel = serde_json::from_value(json!({"app": "checkout", "version": "blue"})).unwrap();
        assert_eq!(
            Value::Object(k.pod_selector(Env::Green, &sel)),
            json!({"app": "checkout", "version": "green"})
        );
    }
}
