//! Health from each env's Deployment readiness: which Deployment serves each env (named in
//! the config, else found from the env's Service selector), and its ready replicas as a
//! health sample, polled as the kube backend's own signal source.

use super::{KubeBackend, call_text, kind};
use crate::core::{Env, EnvPair, EnvPoll, Health, HealthSample, SignalSource};
use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams};

impl KubeBackend {
    /// Each env's Deployment name: from the config, else the Deployment whose pod
    /// template matches the env's Service selector.
    async fn deployments(&self) -> Result<EnvPair<String>, String> {
        let named = &self.0.s.deployments;
        if let (Some(b), Some(g)) = (&named.blue, &named.green) {
            return Ok(EnvPair::new(b.clone(), g.clone()));
        }
        if let Some(found) = self.0.deployments.lock().expect("lock").clone() {
            return Ok(found);
        }
        let objs = self.objects().await.map_err(|e| call_text(&e))?;
        let services = self.0.router.services(&objs);
        let list = Api::<Deployment>::namespaced(self.0.client.clone(), &self.0.namespace)
            .list(&ListParams::default())
            .await
            .map_err(|e| call_text(&self.error("list", kind::DEPLOYMENT, "*", e)))?;
        let mut found = Vec::new();
        for env in [Env::Blue, Env::Green] {
            if let Some(n) = named.get(env) {
                found.push(n.clone());
                continue;
            }
            let Some(svc) = services.get(env) else {
                return Err(format!(
                    "no Service to find {env}'s Deployment from; set key `backend.{env}-deployment`"
                ));
            };
            let s = self
                .get(kind::SERVICE, svc)
                .await
                .map_err(|e| call_text(&e))?;
            let sel = s["spec"]["selector"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let sel = self.0.router.pod_selector(env, &sel);
            let hits: Vec<String> = list
                .items
                .iter()
                .filter(|d| {
                    let labels = d
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.as_ref());
                    !sel.is_empty()
                        && sel.iter().all(|(k, v)| {
                            labels.and_then(|l| l.get(k)).map(String::as_str) == v.as_str()
                        })
                })
                .filter_map(|d| d.metadata.name.clone())
                .collect();
            let selector = sel
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(",");
            match hits.as_slice() {
                [one] => found.push(one.clone()),
                [] => {
                    return Err(format!(
                        "no Deployment's pods match {env}'s selector {selector}; set key `backend.{env}-deployment`"
                    ));
                }
                many => {
                    return Err(format!(
                        "Deployments {} all match {env}'s selector {selector}; set key `backend.{env}-deployment`",
                        many.join(", ")
                    ));
                }
            }
        }
        let pair = EnvPair::new(found[0].clone(), found[1].clone());
        *self.0.deployments.lock().expect("lock") = Some(pair.clone());
        Ok(pair)
    }

    async fn deployment_health(&self, name: &str) -> Result<HealthSample, String> {
        let api = Api::<Deployment>::namespaced(self.0.client.clone(), &self.0.namespace);
        let d = match tokio::time::timeout(self.0.s.timeout, api.get(name)).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                // A renamed Deployment is found again next time.
                *self.0.deployments.lock().expect("lock") = None;
                return Err(call_text(&self.error("get", kind::DEPLOYMENT, name, e)));
            }
            Err(_) => return Err(format!("Deployment {name}: no answer within the timeout")),
        };
        Ok(readiness(name, &d))
    }
}

/// A Deployment's readiness as a health sample: up = ready replicas, total = desired.
pub fn readiness(name: &str, d: &Deployment) -> HealthSample {
    let desired = d.spec.replicas.unwrap_or(1).max(0) as u32;
    let st = d.status.as_ref();
    let ready = st.and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32;
    let updated = st.and_then(|s| s.updated_replicas).unwrap_or(0).max(0) as u32;
    let observed = st.and_then(|s| s.observed_generation);
    let rolling = observed.is_some_and(|o| Some(o) < d.metadata.generation) || updated < desired;
    let health = if desired == 0 || ready == 0 {
        Health::Down
    } else if ready < desired {
        Health::Degraded
    } else {
        Health::Up
    };
    let mut detail = if desired == 0 {
        format!("Deployment {name} scaled to 0")
    } else {
        format!("Deployment {name}: {ready}/{desired} ready")
    };
    if rolling && desired > 0 {
        detail.push_str(", rolling out");
    }
    HealthSample {
        health,
        up: ready,
        total: desired,
        latency_ms: None,
        failures: 0,
        detail,
    }
}

/// Health from each env's Deployment readiness.
pub struct KubeHealth(pub KubeBackend);

#[async_trait]
impl SignalSource for KubeHealth {
    fn name(&self) -> String {
        "deployment readiness".into()
    }

    fn provides(&self) -> crate::core::Provided {
        crate::core::Provided::HEALTH
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let names = self.0.deployments().await?;
        let (b, g) = futures::join!(
            self.0.deployment_health(&names.blue),
            self.0.deployment_health(&names.green)
        );
        crate::core::signal::health_pair(b, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn readiness_words() {
        let d = deployment(serde_json::json!({
            "metadata": {"generation": 2},
            "spec": {"replicas": 3, "selector": {}, "template": {}},
            "status": {"readyReplicas": 1, "updatedReplicas": 3, "observedGeneration": 2}
        }));
        let h = readiness("web-green", &d);
        assert_eq!((h.health, h.up, h.total), (Health::Degraded, 1, 3));
        assert_eq!(h.detail, "Deployment web-green: 1/3 ready");
        let d = deployment(serde_json::json!({
            "metadata": {"generation": 3},
            "spec": {"replicas": 0, "selector": {}, "template": {}},
            "status": {"observedGeneration": 3}
        }));
        let h = readiness("web-blue", &d);
        assert_eq!((h.health, h.up, h.total), (Health::Down, 0, 0));
        assert_eq!(h.detail, "Deployment web-blue scaled to 0");
        let d = deployment(serde_json::json!({
            "metadata": {"generation": 5},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"readyReplicas": 2, "updatedReplicas": 1, "observedGeneration": 4}
        }));
        let h = readiness("web", &d);
        assert_eq!(h.health, Health::Up);
        assert!(h.detail.ends_with("rolling out"), "{}", h.detail);
    }
}
