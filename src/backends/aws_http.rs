//! The AWS SDK's HTTP client with a cap on every answer.
//!
//! The SDK reads an answer whole before it parses it, with no bound: an endpoint (or a
//! proxy in its place) that sends an endless body fills memory at the speed of the wire.
//! This wraps the SDK's own default client (hyper 1, rustls with aws-lc) and reads each
//! answer's body itself, stopping with "answer over N MB" at the cap. The same client
//! serves the credential providers (IMDS, SSO, STS), which take the loader's client.

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// The largest AWS answer read: an ALB listener with its rules and tags is a few kB.
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// The SDK's default HTTPS client, every answer read to at most `max` bytes.
pub fn capped_client(max: usize) -> SharedHttpClient {
    let inner = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    SharedHttpClient::new(Capped { inner, max })
}

#[derive(Debug)]
struct Capped {
    inner: SharedHttpClient,
    max: usize,
}

impl HttpClient for Capped {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CappedConnector {
            inner: self.inner.http_connector(settings, components),
            max: self.max,
        })
    }
}

#[derive(Debug)]
struct CappedConnector {
    inner: SharedHttpConnector,
    max: usize,
}

/// The answer was over the cap: the rest was never read.
#[derive(Debug)]
pub struct TooBig {
    max: usize,
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "answer over {}: not read (is the endpoint an AWS API?)",
            crate::shared::bytes_text(self.max)
        )
    }
}

impl std::error::Error for TooBig {}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let max = self.max;
        HttpConnectorFuture::new(async move {
            let mut resp = inner.call(request).await?;
            let too_big = || ConnectorError::other(Box::new(TooBig { max }), None);
            let declared = resp
                .headers()
                .get("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if declared.is_some_and(|n| n > max as u64) {
                return Err(too_big());
            }
            let mut stream = ByteStream::new(resp.take_body());
            let mut body: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| ConnectorError::io(Box::new(e)))?;
                if body.len() + chunk.len() > max {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            *resp.body_mut() = SdkBody::from(body);
            Ok(resp)
        })
    }
}
