//! Shared by the tests and benchmarks that run the pipeline on a private Prosody (the
//! benchmark includes this file with `#[path]`).

use vigie_model::contract::{COLLECTOR_USER, GATEWAY_USER, XMPP_DOMAIN};
use vigie_pipeline::session::XmppArgs;
use vigie_stack::Prosody;

/// Registers the gateway's and the collector's accounts on `prosody` and creates the event
/// rooms as they are deployed; returns the two accounts (gateway, collector).
pub fn pipeline_accounts(prosody: &Prosody) -> anyhow::Result<(XmppArgs, XmppArgs)> {
    let account = |user: &str| -> anyhow::Result<XmppArgs> {
        let password = format!("{user}-secret");
        prosody.register(user, XMPP_DOMAIN, &password)?;
        Ok(XmppArgs {
            xmpp_ws_url: prosody.ws_url(),
            xmpp_jid: format!("{user}@{XMPP_DOMAIN}"),
            xmpp_password: password,
        })
    };
    let (gateway, collector) = (account(GATEWAY_USER)?, account(COLLECTOR_USER)?);
    prosody.create_event_rooms(&gateway.xmpp_jid, &collector.xmpp_jid)?;
    Ok((gateway, collector))
}
