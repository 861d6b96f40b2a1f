//! The operators' chat in two headless Chromium sessions against the whole stack: an account
//! created from the page (and a taken name refused; no creation offered once the server
//! closes registration), a wrong password refused, both operators
//! in the operators' room (typing shown there), a subscription asked and accepted both ways,
//! presence with a status text (on the roster and in the room), the typing indicator and a
//! one-to-one message, an offline message shown with its time, a subscription denied, a
//! password change, logging out; and a hostile peer whose bodies and nickname (script tags,
//! event handlers, a huge body, right-to-left overrides) stay inert text.

use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, Locator};
use serde_json::Value;
use vigie_e2e::browser::{
    assert_fits, browser, click, dist, fill, screenshot, submit_login, wait_for, SCENARIO_LIMIT,
};
use vigie_e2e::{eventually, Stack};
use vigie_model::contract::{room_jid, OPS_ROOM, XMPP_DOMAIN};
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{ClientConfig, Event, History, MessageType, Presence, PresenceType, Show};

/// Sets `window.__vigie_pwned` if it ever runs.
const PWN: &str = "window.__vigie_pwned=1";

/// Bodies a hostile peer sends; each must show as exactly this text.
fn hostile_bodies() -> Vec<String> {
    vec![
        format!("<script>{PWN}</script>"),
        format!("<img src=x onerror=\"{PWN}\">"),
        format!("\"><svg onload=\"{PWN}\"></svg>"),
        format!("<a href=\"javascript:{PWN}\">click</a>"),
        format!("<iframe srcdoc=\"<script>parent.{PWN}</script>\"></iframe>"),
        "\u{202E}gnp.exe\u{202C} right-to-left override".to_owned(),
        "&lt;b&gt;escaped&lt;/b&gt; &amp; <b>bold?</b>".to_owned(),
    ]
}

/// The plain body of a message whose XHTML-IM (XEP-0071) carries a script and an image: the
/// page shows this, and never the markup.
const XHTML_PLAIN: &str = "rich text, shown plain";

/// XEP-0071's payload with a script, an event handler and a link.
fn hostile_xhtml() -> anyhow::Result<vigie_xmpp::xml::Element> {
    let xml = format!(
        "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>\
         <p>rich <img src='x' onerror='{PWN}'/><script>{PWN}</script>\
         <a href='javascript:{PWN}'>text</a>, shown plain</p></body></html>"
    );
    Ok(vigie_xmpp::xml::Element::parse(
        &xml,
        &vigie_xmpp::xml::Limits::default(),
    )?)
}

/// A presence status with markup in it, shown beside the occupant.
const HOSTILE_STATUS: &str = "<b onmouseover=window.__vigie_pwned=1>busy</b>";

/// A nickname with markup in it (MUC nicks allow `<`, `>`, `"` and `=`).
const HOSTILE_NICK: &str = "<img src=x onerror=window.__vigie_pwned=1>";
/// A body far over what the page shows (it is clipped, and the page stays responsive).
const HUGE_CHARS: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_chat_and_hostile_text_stays_inert() -> anyhow::Result<()> {
    tokio::time::timeout(SCENARIO_LIMIT * 2, scenario())
        .await
        .context("the browser scenario hung")?
}

async fn scenario() -> anyhow::Result<()> {
    let stack = Stack::start(Some(dist()?)).await?;
    stack.prosody.register("bob", XMPP_DOMAIN, "bob-secret")?;
    stack
        .prosody
        .register("mallory", XMPP_DOMAIN, "mallory-secret")?;
    let bob = format!("bob@{XMPP_DOMAIN}");
    let mallory_jid = format!("mallory@{XMPP_DOMAIN}");

    // Mallory writes to Bob before he logs in: the server keeps it for him.
    let (mallory, mallory_events) = connect(
        &stack.prosody.ws_url(),
        ClientConfig::login(&mallory_jid, "mallory-secret")?,
    )
    .await?;
    let offline_body = format!("while you were out <img src=x onerror=\"{PWN}\">");
    mallory
        .send_message(&bob, MessageType::Chat, &offline_body)
        .await?;

    let (_driver_a, page_a) = browser().await?;
    let (_driver_b, page_b) = browser().await?;
    for page in [&page_a, &page_b] {
        page.goto(&stack.server_url).await?;
    }
    let outcome = steps(&page_a, &page_b, mallory, mallory_events, &offline_body).await;
    if outcome.is_err() {
        // What each operator saw when it went wrong.
        let _ = screenshot(&page_a, "chat-failure-ana").await;
        let _ = screenshot(&page_b, "chat-failure-bob").await;
    }
    outcome?;

    // The administrators close in-band registration: a page opened now offers no account
    // creation, and says why.
    (stack.prosody).shell(&format!(
        "module:unload(\"register_ibr\", \"{XMPP_DOMAIN}\")"
    ))?;
    page_b.goto(&stack.server_url).await?;
    wait_text(
        &page_b,
        "[data-testid=register-closed]",
        "does not create accounts",
    )
    .await?;
    let offered = page_b
        .find(Locator::Css("[data-testid=register-submit]"))
        .await;
    assert!(
        offered.is_err(),
        "\"Create account\" offered where registration is closed"
    );
    for page in [page_a, page_b] {
        page.close().await?;
    }
    stack.stop().await
}

async fn steps(
    page_a: &Client,
    page_b: &Client,
    mallory: Handle,
    mut mallory_events: tokio::sync::mpsc::Receiver<Event>,
    offline_body: &str,
) -> anyhow::Result<()> {
    let (page_a, page_b) = (page_a.clone(), page_b.clone());
    let bob = format!("bob@{XMPP_DOMAIN}");
    let ana = format!("ana@{XMPP_DOMAIN}");
    let mallory_jid = format!("mallory@{XMPP_DOMAIN}");

    // Ana creates her account from the page; Bob cannot take that name, nor log in with a
    // wrong password.
    submit_login(&page_a, "ana", "ana-secret", "register-submit").await?;
    wait_text(&page_a, "[data-testid=whoami]", &ana).await?;
    submit_login(&page_b, "ana", "whatever", "register-submit").await?;
    wait_text(&page_b, "[data-testid=account-error]", "That name is taken").await?;
    submit_login(&page_b, &bob, "wrong", "login-submit").await?;
    wait_text(
        &page_b,
        "[data-testid=account-error]",
        "Wrong JID or password",
    )
    .await?;
    submit_login(&page_b, &bob, "bob-secret", "login-submit").await?;
    wait_text(&page_b, "[data-testid=whoami]", &bob).await?;

    // Both in the operators' room.
    wait_text(&page_a, "[data-testid=occupants]", "bob").await?;
    wait_text(&page_b, "[data-testid=occupants]", "ana").await?;
    // Ana types in the room: Bob sees it there, until her message comes.
    fill(&page_a, "[data-testid=chat-input]", "Morning!").await?;
    wait_text(&page_b, "[data-testid=typing]", "ana is typing").await?;
    send(&page_a, "Morning! Jam on the ring road.").await?;
    wait_text(
        &page_b,
        "[data-testid=chat-log]",
        "Morning! Jam on the ring road.",
    )
    .await?;
    wait_text_absent(&page_b, "[data-testid=typing]", "typing").await?;
    wait_text(&page_a, "[data-testid=chat-log] .line.own", "Morning!").await?;

    // Bob's offline message from Mallory, with its time, as text.
    let tab = wait_for(&page_b, &format!("[data-peer='{mallory_jid}']")).await?;
    tab.click().await?;
    let line = wait_for(&page_b, "[data-testid=chat-log] .line.delayed").await?;
    let text = line.text().await?;
    assert!(text.contains(offline_body), "{text}");
    let time = line.find(Locator::Css("time")).await?.text().await?;
    assert!(time.chars().filter(|c| *c == ':').count() >= 1, "{time}");
    // The tabs from the keyboard: an arrow chooses the next tab, and the focus goes with it.
    for (key, peer) in [
        (fantoccini::key::Key::Left, "room"),
        (fantoccini::key::Key::Right, mallory_jid.as_str()),
    ] {
        page_b
            .active_element()
            .await?
            .send_keys(&key.to_string())
            .await?;
        eventually(
            Duration::from_secs(5),
            &format!("the {peer} tab focused and chosen"),
            || async {
                let focused = page_b
                    .execute(
                        "const e = document.activeElement; \
                     return e && e.isConnected && e.getAttribute('aria-selected') === 'true' \
                        ? e.dataset.peer : null",
                        vec![],
                    )
                    .await?;
                Ok((focused.as_str() == Some(peer)).then_some(()))
            },
        )
        .await?;
    }
    let line = wait_for(&page_b, "[data-testid=chat-log] .line.delayed").await?;
    assert!(
        line.text().await?.contains(offline_body),
        "back in Mallory's conversation"
    );

    // Ana asks to see Bob's presence; Bob accepts (and asks back), Ana accepts.
    fill(&page_a, "[data-testid=contact-jid]", &bob).await?;
    click(&page_a, "[data-testid=contact-add]").await?;
    accept_request(&page_b, &ana).await?;
    accept_request(&page_a, &bob).await?;
    // Mallory asks too; Bob says no.
    mallory
        .send_presence(Presence::new(PresenceType::Subscribe).with_to(bob.as_str()))
        .await?;
    let deny = wait_for(
        &page_b,
        &format!("[data-testid=requests] li[data-jid='{mallory_jid}'] button.deny"),
    )
    .await?;
    deny.click().await?;
    wait_gone(
        &page_b,
        &format!("[data-testid=requests] li[data-jid='{mallory_jid}']"),
    )
    .await?;

    // Ana is away, with a status text; Bob sees it.
    page_a
        .find(Locator::Css("[data-testid=presence-show]"))
        .await?
        .select_by_value("away")
        .await?;
    fill(&page_a, "[data-testid=presence-status]", "at the depot").await?;
    click(&page_a, "[data-testid=presence-set]").await?;
    let contact = format!("[data-testid=contacts] li[data-jid='{ana}']");
    wait_text(&page_b, &contact, "away — at the depot").await?;
    let class = wait_for(&page_b, &contact).await?.attr("class").await?;
    assert!(class.unwrap_or_default().contains("away"));
    // Her presence reached the room too.
    wait_text(&page_b, "[data-testid=occupants]", "away — at the depot").await?;

    // One to one: Bob opens Ana's conversation; Ana types, Bob sees it, then her message.
    click(&page_b, &format!("{contact} .contact-open")).await?;
    click(
        &page_a,
        &format!("[data-testid=contacts] li[data-jid='{bob}'] .contact-open"),
    )
    .await?;
    page_a
        .find(Locator::Css("[data-testid=chat-input]"))
        .await?
        .send_keys("Can you call")
        .await?;
    wait_text(&page_b, "[data-testid=typing]", &format!("{ana} is typing")).await?;
    screenshot(&page_b, "chat-typing").await?;
    page_a
        .find(Locator::Css("[data-testid=chat-input]"))
        .await?
        .send_keys(" the tow truck?")
        .await?;
    click(&page_a, "[data-testid=chat-send]").await?;
    wait_text(
        &page_b,
        "[data-testid=chat-log]",
        "Can you call the tow truck?",
    )
    .await?;
    wait_text_absent(&page_b, "[data-testid=typing]", "typing").await?;
    wait_text(
        &page_a,
        "[data-testid=chat-log] .line.own",
        "Can you call the tow truck?",
    )
    .await?;

    // The hostile peer joins the room and speaks.
    let room = room_jid(OPS_ROOM);
    mallory
        .join_room(&room, HOSTILE_NICK, History::None)
        .await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), mallory_events.recv())
            .await
            .context("Mallory never joined")?
            .context("Mallory's session ended")?
        {
            Event::RoomJoined { .. } => break,
            Event::RoomJoinFailed { error, .. } => anyhow::bail!("Mallory refused: {error}"),
            _ => {}
        }
    }
    tokio::spawn(async move { while mallory_events.recv().await.is_some() {} });
    let mut bodies = hostile_bodies();
    bodies.push("A".repeat(HUGE_CHARS));
    for body in &bodies {
        mallory.send_groupchat(&room, body, None).await?;
    }
    mallory
        .send_groupchat(&room, XHTML_PLAIN, Some(hostile_xhtml()?))
        .await?;
    mallory
        .send_presence(
            Presence::new(PresenceType::Available)
                .with_to(format!("{room}/{HOSTILE_NICK}"))
                .with_show(Show::Dnd)
                .with_status(HOSTILE_STATUS),
        )
        .await?;
    for page in [&page_a, &page_b] {
        click(page, "[data-peer=room]").await?;
    }
    wait_text(&page_b, "[data-testid=occupants]", HOSTILE_NICK).await?;
    wait_text(&page_b, "[data-testid=occupants] .presence", HOSTILE_STATUS).await?;
    for page in [&page_a, &page_b] {
        let shown = eventually(Duration::from_secs(20), "the hostile bodies", || async {
            let shown = texts(page, "[data-testid=chat-log] .body").await?;
            let huge_shown = shown.iter().any(|body| body.starts_with("AAAA"));
            let all = hostile_bodies()
                .iter()
                .chain([&XHTML_PLAIN.to_owned()])
                .all(|body| shown.contains(body));
            Ok((huge_shown && all).then_some(shown))
        })
        .await?;
        let huge = shown
            .iter()
            .find(|body| body.starts_with("AAAA"))
            .context("the huge body is missing")?;
        assert!(huge.chars().count() < 2_100, "clipped: {}", huge.len());
        let authors = texts(page, "[data-testid=chat-log] .author").await?;
        assert!(authors.iter().any(|a| a == HOSTILE_NICK), "{authors:?}");
        assert_inert(page).await?;
    }
    screenshot(&page_b, "chat-hostile").await?;
    screenshot(&page_a, "chat-ops-room").await?;

    // Ana removes Bob from her contacts: he is gone from her roster.
    let bob_contact = format!("[data-testid=contacts] li[data-jid='{bob}']");
    click(&page_a, &format!("{bob_contact} button.remove")).await?;
    wait_gone(&page_a, &bob_contact).await?;

    // Ana changes her password; Bob logs out and is the anonymous viewer again.
    let summary = wait_for(&page_a, "details.password summary").await?;
    summary.click().await?;
    fill(&page_a, "[data-testid=password-new]", "ana-new-secret").await?;
    fill(&page_a, "[data-testid=password-again]", "ana-new-secret").await?;
    click(&page_a, "[data-testid=password-submit]").await?;
    wait_text(&page_a, "[data-testid=account-notice]", "Password changed").await?;
    click(&page_b, "[data-testid=logout]").await?;
    let jid_field = wait_for(&page_b, "[data-testid=login-jid]").await?;
    assert_eq!(
        jid_field.prop("value").await?.as_deref(),
        Some(bob.as_str())
    );
    assert!(page_b
        .find(Locator::Css("[data-testid=chat-log]"))
        .await
        .is_err());
    // Ana logs in again with the new password.
    click(&page_a, "[data-testid=logout]").await?;
    submit_login(&page_a, &ana, "ana-new-secret", "login-submit").await?;
    wait_text(&page_a, "[data-testid=whoami]", &ana).await?;
    assert_inert(&page_a).await?;
    // An operator on a phone: the chat, the account and the rooms fit 360 px.
    wait_text(&page_a, "[data-testid=occupants]", "ana").await?;
    assert_fits(&page_a, 360).await?;
    screenshot(&page_a, "chat-360px").await?;
    mallory.close().await;
    Ok(())
}

/// No script ran, no alert is open, and the chat holds no element that markup could inject.
async fn assert_inert(page: &Client) -> anyhow::Result<()> {
    assert!(page.get_alert_text().await.is_err(), "an alert is open");
    let probe = page
        .execute(
            "return { pwned: window.__vigie_pwned === 1, \
               injected: document.querySelectorAll('.chat :is(script, img, svg, iframe, a, b)').length }",
            vec![],
        )
        .await?;
    assert_eq!(probe["pwned"], Value::Bool(false), "a hostile script ran");
    assert_eq!(probe["injected"], Value::from(0), "markup became elements");
    Ok(())
}

async fn accept_request(page: &Client, from: &str) -> anyhow::Result<()> {
    let request = format!("[data-testid=requests] li[data-jid='{from}']");
    wait_for(page, &format!("{request} button.accept"))
        .await?
        .click()
        .await?;
    wait_gone(page, &request).await
}

async fn send(page: &Client, text: &str) -> anyhow::Result<()> {
    fill(page, "[data-testid=chat-input]", text).await?;
    click(page, "[data-testid=chat-send]").await
}

/// The text content of every element matching `css` (unlike WebDriver's visible text, it
/// keeps what overflow hides).
async fn texts(page: &Client, css: &str) -> anyhow::Result<Vec<String>> {
    let found = page
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)",
            vec![Value::from(css)],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

async fn wait_text(page: &Client, css: &str, needle: &str) -> anyhow::Result<()> {
    eventually(
        Duration::from_secs(20),
        &format!("`{needle}` in `{css}`"),
        || async {
            Ok(texts(page, css)
                .await?
                .iter()
                .any(|text| text.contains(needle))
                .then_some(()))
        },
    )
    .await
}

async fn wait_text_absent(page: &Client, css: &str, needle: &str) -> anyhow::Result<()> {
    eventually(
        Duration::from_secs(20),
        &format!("no `{needle}` in `{css}`"),
        || async {
            Ok((!texts(page, css)
                .await?
                .iter()
                .any(|text| text.contains(needle)))
            .then_some(()))
        },
    )
    .await
}

async fn wait_gone(page: &Client, css: &str) -> anyhow::Result<()> {
    eventually(
        Duration::from_secs(20),
        &format!("`{css}` gone"),
        || async { Ok(texts(page, css).await?.is_empty().then_some(())) },
    )
    .await
}
