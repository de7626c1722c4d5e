//! A bound on what the API server may send: no run of bytes without a line break longer
//! than [`MAX_LINE`]. A single object's JSON (no line breaks in it) is bounded by that, and
//! so is each event of a watch, however long the watch runs; a server that sends 50 MB, or
//! an endless line, is cut off with an error instead of filling the memory.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use kube::client::DynBody;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The longest line read: objects cutover reads are a few KB; etcd stores at most 1.5 MB.
pub const MAX_LINE: usize = 8 * 1024 * 1024;
/// The most read of one answer, lines or not: a watch that reaches it ends with an error and
/// is begun again by the watcher (events of the few objects cutover watches are a few KB).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body cut off past [`MAX_LINE`] bytes without a line break.
pub struct LineCapped<B> {
    inner: B,
    /// Bytes since the last line break.
    run: usize,
    max: usize,
    /// Bytes in all.
    total: usize,
    max_total: usize,
}

impl<B> LineCapped<B> {
    pub fn new(inner: B, max: usize, max_total: usize) -> LineCapped<B> {
        LineCapped {
            inner,
            run: 0,
            max,
            total: 0,
            max_total,
        }
    }
}

/// The answer went on past the total cap.
#[derive(Debug, thiserror::Error)]
#[error("answer over {}: not read (a Kubernetes API answer is a few KB)", crate::shared::bytes_text(*.0))]
pub struct TooMuch(pub usize);

/// The answer went on past the cap.
#[derive(Debug, thiserror::Error)]
#[error("answer over {} without a line break: not read (a Kubernetes API answer is a few KB)", crate::shared::bytes_text(*.0))]
pub struct TooLong(pub usize);

impl<B> Body for LineCapped<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.run = match data.iter().rposition(|b| *b == b'\n') {
                        Some(i) => data.len() - i - 1,
                        None => this.run.saturating_add(data.len()),
                    };
                    if this.run > this.max {
                        return Poll::Ready(Some(Err(Box::new(TooLong(this.max)))));
                    }
                    this.total = this.total.saturating_add(data.len());
                    if this.total > this.max_total {
                        return Poll::Ready(Some(Err(Box::new(TooMuch(this.max_total)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer the client would say badly, made into an API `Status` that says it: a 3xx
/// (the client does not follow one and then fails to parse the empty body) with where it
/// pointed; a 429, or a 503 with `Retry-After`, with how long the server asked to wait
/// (the client drops the header). Any other answer goes through untouched.
pub fn explained(r: http::Response<Box<DynBody>>) -> http::Response<Box<DynBody>> {
    use crate::shared::{mask_secretish, one_line};
    let code = r.status().as_u16();
    let header = |name: http::header::HeaderName| {
        r.headers()
            .get(name)
            .map(|v| one_line(&String::from_utf8_lossy(v.as_bytes()), 120))
    };
    let wait =
        header(http::header::RETRY_AFTER).map(|v| format!(": retry after {v} (Retry-After)"));
    let (reason, message) = match (code, wait) {
        (300..=399, _) => (
            "Redirect",
            format!(
                "HTTP {code} to {} (not followed: the kubeconfig's `server` must be the API server itself)",
                header(http::header::LOCATION).map_or_else(
                    || "nowhere (no Location)".to_string(),
                    |l| mask_secretish(&l)
                )
            ),
        ),
        (429, wait) => (
            "TooManyRequests",
            format!(
                "the API server is throttling this client{}",
                wait.unwrap_or_else(|| ": try again in a few seconds".into())
            ),
        ),
        (503, Some(wait)) => (
            "ServiceUnavailable",
            format!("the API server is unavailable{wait}"),
        ),
        _ => return r,
    };
    let body = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "code": code, "reason": reason, "message": message,
    })
    .to_string();
    let full = http_body_util::Full::new(Bytes::from(body))
        .map_err(|never: std::convert::Infallible| -> BoxError { match never {} });
    let mut out = http::Response::new(Box::new(full) as Box<DynBody>);
    // The client reads a `Status` only from an error answer: a redirect is one here.
    *out.status_mut() = if code < 400 {
        http::StatusCode::BAD_GATEWAY
    } else {
        r.status()
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_long_line_is_cut_and_lines_reset_the_count() {
        let ok = http_body_util::Full::new(Bytes::from("abc\ndefgh\nij"));
        let got = LineCapped::new(ok, 5, 100)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&got[..], b"abc\ndefgh\nij");
        let long = http_body_util::Full::new(Bytes::from("abc\ndefghij"));
        let e = LineCapped::new(long, 5, 100).collect().await.err().unwrap();
        assert!(
            e.to_string()
                .contains("answer over 5 bytes without a line break"),
            "{e}"
        );
        // Short lines without end: cut at the total.
        let lines = http_body_util::Full::new(Bytes::from("a\n".repeat(60)));
        let e = LineCapped::new(lines, 5, 100)
            .collect()
            .await
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("answer over 100 bytes: not read"),
            "{e}"
        );
    }
}
