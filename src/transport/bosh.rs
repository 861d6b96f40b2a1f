//! XEP-0124/XEP-0206 over fetch: each request the core polls is POSTed on its own, at once
//! (the core keeps within the server's `requests`), and aborted when it outlives the core's
//! request timeout; the answer goes back tagged with its rid.

use std::time::Duration;

use gloo_net::http::Request;
use gloo_timers::callback::Timeout;
use vigie_xmpp::bosh;
use wasm_bindgen_futures::spawn_local;
use web_sys::AbortController;

use super::text::utf8;
use super::{Deliver, Input};

/// One BOSH session's requests. Requests still running when it is dropped finish on their
/// own (a terminate reaches the server); their answers no longer count.
pub(super) struct Session {
    url: String,
    deliver: Deliver,
}

impl Session {
    pub fn new(url: &str, deliver: Deliver) -> Session {
        Session {
            url: url.to_owned(),
            deliver,
        }
    }

    pub fn post(&self, request: bosh::Request, timeout: Option<Duration>) {
        let url = self.url.clone();
        let deliver = self.deliver.clone();
        spawn_local(async move {
            let input = match exchange(&url, request.body, timeout).await {
                Answer::Body(body) => Input::Response {
                    rid: request.rid,
                    body,
                },
                Answer::Lost => Input::Lost { rid: request.rid },
                Answer::Refused(status) => {
                    leptos::logging::warn!("BOSH connection manager answered HTTP {status}");
                    Input::Closed
                }
            };
            deliver.send(input);
        });
    }
}

/// What became of one request.
enum Answer {
    Body(String),
    /// Worth sending again with the same rid: network error, HTTP 5xx, timeout.
    Lost,
    /// Any other status: the session is gone.
    Refused(u16),
}

async fn exchange(url: &str, body: String, timeout: Option<Duration>) -> Answer {
    let Ok(abort) = AbortController::new() else {
        return Answer::Lost;
    };
    // Dropping the timer (when this returns) cancels it.
    let _deadline = timeout.map(|timeout| {
        let abort = abort.clone();
        let millis = timeout.as_millis().min(u128::from(u32::MAX)) as u32;
        Timeout::new(millis, move || abort.abort())
    });
    let request = Request::post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .abort_signal(Some(&abort.signal()))
        .body(body);
    let Ok(request) = request else {
        return Answer::Lost;
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(_) => return Answer::Lost,
    };
    match response.status() {
        // The body's bytes are copied at once; `text()` would copy its characters one by one.
        200 => match response.binary().await {
            Ok(body) => Answer::Body(utf8(body)),
            Err(_) => Answer::Lost,
        },
        500..=599 => Answer::Lost,
        status => Answer::Refused(status),
    }
}
