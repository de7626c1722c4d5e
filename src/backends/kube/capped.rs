//! A bound on what the API server may send: no run of bytes without a line break longer
//! than [`MAX_LINE`]. A single object's JSON (no line breaks in it) is bounded by that, and
//! so is each event of a watch, however long the watch runs; a server that sends 50 MB, or
//! an endless line, is cut off with an error instead of filling the memory.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

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
