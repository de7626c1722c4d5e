//! Whether this user may write, asked of the API server without writing: a
//! SelfSubjectAccessReview for `patch` on each routing object (`cutover check`'s write side).

use super::KubeBackend;
use crate::backends::WriteCheck;
use kube::api::Api;

/// What RBAC allows this user on every object a write patches.
pub(super) async fn may_patch(b: &KubeBackend) -> WriteCheck {
    use crate::backends::WriteCheck::{Denied, Proven, Unprovable};
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(b.0.client.clone());
    let mut proven = Vec::new();
    for (r, name) in b.0.router.objects() {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some(r.group.to_string()),
                    namespace: Some(b.0.namespace.clone()),
                    name: Some(name.clone()),
                    resource: Some(r.plural.to_string()),
                    verb: Some("patch".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let asked = tokio::time::timeout(
            b.0.s.timeout,
            api.create(&kube::api::PostParams::default(), &review),
        )
        .await;
        match asked {
            Ok(Ok(a)) => match a.status {
                Some(st) if st.allowed => {
                    proven.push(format!("patch {} {name}", r.qualified()));
                }
                Some(st) => {
                    return Denied(format!(
                        "RBAC does not allow `patch` on {} {}/{name}: grant it in a Role bound to this user{}",
                        r.qualified(),
                        b.0.namespace,
                        st.reason.map(|x| format!(" ({x})")).unwrap_or_default()
                    ));
                }
                None => return Unprovable("the access review came back empty".into()),
            },
            Ok(Err(e)) => {
                return Unprovable(format!(
                    "the access review could not be asked ({}): the first write says if RBAC denies it",
                    super::words(&e)
                ));
            }
            Err(_) => return Unprovable("the access review did not answer".into()),
        }
    }
    Proven(format!("RBAC allows {}", proven.join(", ")))
}
