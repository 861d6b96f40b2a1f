//! XEP-0124/XEP-0206 over hyper: each request the client polls is POSTed on its own task;
//! responses come back tagged with their rid, and with the session they belong to so that a
//! late answer to an abandoned session is dropped.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::CONTENT_TYPE;
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::Input;
use crate::bosh::Request;
use crate::client::{Client, ClientConfig};
use crate::error::Error;

/// What became of one request.
enum Outcome {
    Response(String),
    /// Worth sending again with the same rid (network error, 5xx, timeout).
    Lost,
    /// The session is gone (4xx) or the answer is unusable.
    Fatal,
}

/// A request's outcome, with the session it belonged to.
struct Answer {
    session: u64,
    rid: u64,
    outcome: Outcome,
}

pub(super) struct Link {
    url: Uri,
    http: HttpClient<HttpConnector, Full<Bytes>>,
    max_body_bytes: usize,
    /// Counts BOSH sessions; answers to an older one are dropped.
    session: u64,
    open: bool,
    answers: mpsc::UnboundedReceiver<Answer>,
    answer_sender: mpsc::UnboundedSender<Answer>,
}

impl Link {
    pub fn new(url: &str, config: &ClientConfig) -> Result<Link, Error> {
        let url: Uri = url
            .parse()
            .map_err(|e| Error::Misuse(format!("BOSH URL `{url}`: {e}")))?;
        if url.scheme_str() != Some("http") {
            return Err(Error::Misuse(format!(
                "the native BOSH driver speaks plain http://, not `{url}`"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.request_timeout));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        let (answer_sender, answers) = mpsc::unbounded_channel();
        Ok(Link {
            url,
            http,
            max_body_bytes: config.limits.max_bytes,
            session: 0,
            open: false,
            answers,
            answer_sender,
        })
    }

    /// A new BOSH session starts; answers to the previous one no longer count.
    pub fn open(&mut self) {
        self.session += 1;
        self.open = true;
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Requests still running finish on their own (a terminate reaches the server); their
    /// answers are ignored.
    pub fn close(&mut self) {
        self.open = false;
        self.session += 1;
    }

    pub async fn next_input(&mut self) -> Input {
        loop {
            // The link holds a sender itself, so the channel never closes.
            let Some(answer) = self.answers.recv().await else {
                return std::future::pending().await;
            };
            if answer.session != self.session {
                continue;
            }
            return match answer.outcome {
                Outcome::Response(body) => Input::Response {
                    rid: answer.rid,
                    body,
                },
                Outcome::Lost => Input::Lost { rid: answer.rid },
                Outcome::Fatal => Input::Closed,
            };
        }
    }

    /// POSTs every request the client has ready, each on its own task.
    pub fn transmit(&mut self, client: &mut Client) {
        let timeout = client
            .bosh_request_timeout()
            .unwrap_or(Duration::from_secs(90));
        while let Some(Request { rid, body }) = client.poll_bosh_request() {
            let http = self.http.clone();
            let url = self.url.clone();
            let answers = self.answer_sender.clone();
            let session = self.session;
            let max_body_bytes = self.max_body_bytes;
            tokio::spawn(async move {
                let outcome = tokio::time::timeout(timeout, post(http, url, body, max_body_bytes))
                    .await
                    .unwrap_or(Outcome::Lost);
                let _ = answers.send(Answer {
                    session,
                    rid,
                    outcome,
                });
            });
        }
    }
}

async fn post(
    http: HttpClient<HttpConnector, Full<Bytes>>,
    url: Uri,
    body: String,
    max_body_bytes: usize,
) -> Outcome {
    let request = hyper::Request::post(url)
        .header(CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(Full::new(Bytes::from(body)));
    let Ok(request) = request else {
        return Outcome::Fatal;
    };
    let response = match http.request(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(%error, "BOSH request failed");
            return Outcome::Lost;
        }
    };
    let status = response.status();
    if status.is_server_error() {
        return Outcome::Lost;
    }
    if status != StatusCode::OK {
        tracing::warn!(%status, "BOSH connection manager refused a request");
        return Outcome::Fatal;
    }
    match Limited::new(response.into_body(), max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => match String::from_utf8(collected.to_bytes().to_vec()) {
            Ok(text) => Outcome::Response(text),
            Err(_) => Outcome::Fatal,
        },
        Err(error) => {
            tracing::debug!(%error, "BOSH response body failed");
            Outcome::Lost
        }
    }
}
