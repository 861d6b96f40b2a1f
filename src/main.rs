//! Vigie's dashboard: a Leptos (CSR) WebAssembly page that speaks XMPP itself to watch the event
//! rooms live, and reads the incident history from the companion server's REST API.

mod account;
mod api;
mod app;
mod chat;
mod clock;
mod components;
mod feed;
mod filters;
mod focus;
mod json;
mod open;
mod remembered;
mod rooms;
mod session;
mod sorting;
mod viewport;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
