//! XEP-0077 against a real Prosody 0.12 through the native driver: registering an account
//! in-band and logging in to it in the same session (over WebSocket and BOSH), the refusals,
//! changing the password, removing the account.

#![cfg(feature = "tokio")]

mod common;

use common::driver::{iq_ok, WAIT};
use common::prosody::{bosh, Prosody, ANONYMOUS_DOMAIN};
use tokio::sync::mpsc::Receiver;
use vigie_xmpp::driver_tokio::{connect, registration_offered, Handle};
use vigie_xmpp::{ClientConfig, Error, Event, Refusal, Transport};

async fn next_event(events: &mut Receiver<Event>) -> Event {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the session's events")
}

async fn login(
    prosody: &Prosody,
    jid: &str,
    password: &str,
) -> Result<(Handle, Receiver<Event>), Error> {
    let config = ClientConfig::login(jid, password).unwrap();
    connect(&prosody.url(config.transport), config).await
}

async fn close(handle: Handle, mut events: Receiver<Event>) {
    handle.close().await;
    while !matches!(next_event(&mut events).await, Event::Disconnected { .. }) {}
}

fn is_refused_login(result: &Result<(Handle, Receiver<Event>), Error>) -> bool {
    matches!(
        result,
        Err(Error::ServerRefused(Refusal::Auth { condition, .. })) if condition == "not-authorized"
    )
}

async fn register_then_log_in(transport: Transport) {
    let prosody = Prosody::start();
    let config = ClientConfig::register("carol@localhost/desk", "first password")
        .unwrap()
        .with_transport(transport);
    let (handle, mut events) = connect(&prosody.url(transport), config)
        .await
        .expect("registered and logged in");
    // `connect` resolves once online; the registration was reported first.
    assert_eq!(
        next_event(&mut events).await,
        Event::Registered {
            jid: "carol@localhost".into()
        }
    );
    assert_eq!(
        next_event(&mut events).await,
        Event::Online {
            jid: "carol@localhost/desk".into()
        }
    );
    close(handle, events).await;

    let (handle, events) = login(&prosody, "carol@localhost", "first password")
        .await
        .expect("the new account logs in");
    close(handle, events).await;
}

#[tokio::test]
async fn register_in_band_then_log_in_over_websocket() {
    register_then_log_in(Transport::WebSocket).await;
}

#[tokio::test]
async fn a_taken_name_is_refused_with_conflict() {
    let prosody = Prosody::start();
    prosody.register("dave", "secret");
    let config = ClientConfig::register("dave@localhost", "another").unwrap();
    let refused = connect(&prosody.websocket_url(), config).await.map(drop);
    assert!(
        matches!(
            &refused,
            Err(Error::ServerRefused(Refusal::Stanza(error))) if error.condition == "conflict"
        ),
        "{refused:?}"
    );
    // The account is untouched.
    let (handle, events) = login(&prosody, "dave@localhost", "secret").await.unwrap();
    close(handle, events).await;
}

#[tokio::test]
async fn register_in_band_then_log_in_over_bosh() {
    register_then_log_in(bosh()).await;
}

#[tokio::test]
async fn a_server_without_registration_is_incompatible() {
    // Later assignments win in Prosody's configuration.
    let prosody = Prosody::start_with("allow_registration = false");
    let config = ClientConfig::register("erin@localhost", "secret").unwrap();
    let refused = connect(&prosody.websocket_url(), config).await.map(drop);
    assert!(
        matches!(&refused, Err(Error::Incompatible(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_probe_tells_whether_the_server_registers_in_band() {
    let open = Prosody::start();
    for transport in [Transport::WebSocket, bosh()] {
        let offered = registration_offered(&open.url(transport), "localhost", transport).await;
        assert_eq!(offered, Ok(true), "{transport:?}");
    }

    let closed = Prosody::start_with("allow_registration = false");
    let url = closed.websocket_url();
    let offered = registration_offered(&url, "localhost", Transport::WebSocket).await;
    assert_eq!(offered, Ok(false));
}

#[tokio::test]
async fn change_password_then_log_in_with_the_new_one() {
    let prosody = Prosody::start();
    prosody.register("frank", "old secret");
    let (handle, mut events) = login(&prosody, "frank@localhost/f", "old secret")
        .await
        .unwrap();
    let empty = handle.call(|client| client.change_password("")).await;
    assert!(matches!(empty, Err(Error::Misuse(_))), "{empty:?}");
    let id = handle
        .call(|client| client.change_password("new secret"))
        .await
        .unwrap();
    iq_ok(&mut events, &id).await;
    close(handle, events).await;

    assert!(is_refused_login(
        &login(&prosody, "frank@localhost", "old secret").await
    ));
    let (handle, events) = login(&prosody, "frank@localhost", "new secret")
        .await
        .expect("the new password logs in");
    close(handle, events).await;

    // An anonymous session has no password to change, nor account to remove.
    let anonymous = ClientConfig::anonymous(ANONYMOUS_DOMAIN);
    let (handle, events) = connect(&prosody.websocket_url(), anonymous).await.unwrap();
    let change = handle.call(|client| client.change_password("x")).await;
    assert!(matches!(change, Err(Error::Misuse(_))), "{change:?}");
    let remove = handle.call(|client| client.remove_account()).await;
    assert!(matches!(remove, Err(Error::Misuse(_))), "{remove:?}");
    close(handle, events).await;
}

#[tokio::test]
async fn removing_the_account_ends_the_session() {
    let prosody = Prosody::start();
    prosody.register("grace", "secret");
    let (handle, mut events) = login(&prosody, "grace@localhost", "secret").await.unwrap();
    let id = handle.call(|client| client.remove_account()).await.unwrap();
    iq_ok(&mut events, &id).await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Disconnected { error: None }
    );
    assert!(is_refused_login(
        &login(&prosody, "grace@localhost", "secret").await
    ));
}
