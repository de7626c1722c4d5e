//! `[approval]`: a second person for promotion and overrides.

use super::bounds;
use super::file::ApprovalFile;
use crate::core::approval::{Need, Rules};
use std::time::Duration;

pub(super) fn section(f: Option<ApprovalFile>) -> Result<Option<Rules>, String> {
    let Some(f) = f else {
        return Ok(None);
    };
    let expected = "expected a list of one or both of \"promote\", \"override\" (leave `[approval]` out when nothing needs a second person)";
    let Some(list) = f.required_for else {
        return Err(format!("key `approval.required-for`: missing: {expected}"));
    };
    if list.is_empty() {
        return Err(format!("key `approval.required-for`: value []: {expected}"));
    }
    let mut required_for = Vec::new();
    for v in &list {
        let Some(need) = Need::from_name(v) else {
            return Err(format!(
                "key `approval.required-for`: value {}: {expected}",
                bounds::echo(v)
            ));
        };
        if !required_for.contains(&need) {
            required_for.push(need);
        }
    }
    let ttl = bounds::duration(
        "approval.approval-ttl",
        f.approval_ttl,
        Duration::from_millis(Rules::DEFAULT_TTL_MS),
        (Duration::from_secs(30), Duration::from_secs(3600)),
        "how long a request for approval stays open",
    )?;
    Ok(Some(Rules {
        required_for,
        ttl_ms: ttl.as_millis() as u64,
    }))
}
