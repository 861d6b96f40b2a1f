//! XEP-0156 over hyper: fetches a server's host-meta and reads its WebSocket and BOSH
//! endpoints with [`crate::discovery`].

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

use crate::discovery::{
    parse_host_meta, parse_host_meta_json, Endpoints, HOST_META_JSON_PATH, HOST_META_PATH,
};
use crate::error::Error;
use crate::xml::Limits;

/// How long each host-meta request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The endpoints `origin` (e.g. `http://localhost:8080`) announces: its JSON host-meta,
/// else its XRD one (XEP-0156 §3). XEP-0156 puts the documents on the XMPP domain's HTTPS
/// origin ([`host_meta_url`](crate::discovery::host_meta_url)); this driver speaks plain
/// `http://`, for a server on loopback or behind a TLS-terminating proxy.
pub async fn discover(origin: &str, limits: &Limits) -> Result<Endpoints, Error> {
    let origin = origin.trim_end_matches('/');
    if !origin.starts_with("http://") {
        return Err(Error::Misuse(format!(
            "the native driver discovers over plain http://, not `{origin}`"
        )));
    }
    let http: Http = HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    let json = fetch(&http, &format!("{origin}{HOST_META_JSON_PATH}"), limits).await;
    match json.and_then(|json| parse_host_meta_json(&json)) {
        Ok(endpoints) => Ok(endpoints),
        Err(json_error) => {
            let xrd = fetch(&http, &format!("{origin}{HOST_META_PATH}"), limits).await;
            xrd.and_then(|xrd| parse_host_meta(&xrd, limits))
                .map_err(|xrd_error| match xrd_error {
                    Error::Peer(why) => Error::Peer(format!(
                        "no usable host-meta at {origin}: {json_error}; {why}"
                    )),
                    other => other,
                })
        }
    }
}

type Http = HttpClient<HttpConnector, Empty<Bytes>>;

/// The body of `url`, read in [`TIMEOUT`] at most, headers and body together.
async fn fetch(http: &Http, url: &str, limits: &Limits) -> Result<String, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Error::Misuse(format!("host-meta URL `{url}`: {e}")))?;
    let read = async {
        let response = http
            .get(uri)
            .await
            .map_err(|e| Error::Transport(format!("{url}: {e}")))?;
        if response.status() != StatusCode::OK {
            return Err(Error::Peer(format!("{url} answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), limits.max_bytes)
            .collect()
            .await
            .map_err(|e| Error::Peer(format!("{url}: {e}")))?;
        String::from_utf8(body.to_bytes().to_vec())
            .map_err(|_| Error::Peer(format!("{url} is not UTF-8")))
    };
    tokio::time::timeout(TIMEOUT, read)
        .await
        .map_err(|_| Error::Transport(format!("{url} did not answer in {TIMEOUT:?}")))?
}
